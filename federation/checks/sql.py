"""SQL checks, the pure half: the CheckSpec of a declared SQL check, the target a runner executes,
and the :class:`SqlRunner` protocol. The executor lives in ``lockgate.adapters.sql`` (SQLAlchemy is
not allowed in the core outside the store) and is found through the entry point group
``lockgate.check_runners`` (name ``sql``), so the core never imports it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from typing import Protocol

from lockgate.federation.checks.declared import DeclaredCheck, SqlCheck
from lockgate.federation.checks.freshness import ADAPTER, KIND, SYSTEM
from lockgate.federation.errors import ConfigError
from lockgate.federation.events import CheckEvaluated
from lockgate.federation.keys import AssetKey, CheckKey
from lockgate.federation.specs import AssetSpec, CheckSpec, JsonValue, Origin, Severity

RUNNER_GROUP = "lockgate.check_runners"


@dataclass(frozen=True, slots=True, kw_only=True)
class SqlTarget:
    """One SQL check to run now: on ``table`` through ``connection``, scoped to ``partition``."""

    key: CheckKey
    check: SqlCheck
    table: tuple[str, ...]
    url: str = field(repr=False)
    severity: Severity = Severity.ERROR
    partition: str | None = None
    run_id: str | None = None
    """Identifies what was checked (the materialization), so the event id is deterministic."""


class SqlRunner(Protocol):
    """Runs SQL check targets and returns one ``CheckEvaluated`` per target (errors included)."""

    def run(self, targets: Sequence[SqlTarget], now: datetime) -> list[CheckEvaluated]: ...

    def close(self) -> None: ...


def sql_spec(check: DeclaredCheck, asset: AssetKey) -> CheckSpec:
    """The CheckSpec of a declared SQL check on ``asset`` (origin system ``lockgate``)."""
    sql = check.sql
    if sql is None:
        msg = "not a SQL check"
        raise ConfigError(msg, where=check.where, fix="pass a check with `sql:`")
    metadata: dict[str, JsonValue] = {
        KIND: "sql",
        "sql_kind": sql.kind.value,
        "connection": sql.connection,
    }
    if sql.table:
        metadata["table"] = ".".join(sql.table)
    if sql.columns:
        metadata["columns"] = list(sql.columns)
    if sql.where:
        metadata["where"] = sql.where
    return CheckSpec(
        key=CheckKey(asset, check.name),
        origin=Origin(
            system=SYSTEM, adapter=ADAPTER, external_id=f"{check.where.rsplit(': ', 1)[-1]}:{asset}"
        ),
        description=check.description or _describe(sql),
        severity=check.severity,
        blocking=check.blocking,
        metadata=metadata,
    )


def table_of(check: DeclaredCheck, spec: AssetSpec) -> tuple[str, ...]:
    """The declared table, else the last two parts (schema, table) of the asset's dataset name."""
    assert check.sql is not None
    if check.sql.table:
        return check.sql.table
    if spec.dataset is None:
        raise ConfigError(
            f"the SQL check {check.name!r} has no `table:` and the asset {spec.key} has no dataset",
            where=f"{check.where}.sql",
            fix="add `table: schema.table` to the check",
        )
    parts = [p.strip('"`[]') for p in spec.dataset.name.split(".")]
    return tuple(parts[-2:])


def load_runner(connections: Mapping[str, str]) -> SqlRunner:
    """The installed SQL check runner (entry point ``lockgate.check_runners: sql``)."""
    found = [ep for ep in entry_points(group=RUNNER_GROUP) if ep.name == "sql"]
    if not found:
        msg = "the workspace declares SQL checks but no SQL check runner is installed"
        raise ConfigError(
            msg,
            where="checks",
            fix="reinstall lockgate (pip install -e .) so the lockgate.check_runners entry point exists",
        )
    factory = found[0].load()
    runner: SqlRunner = factory(connections)
    return runner


def _describe(sql: SqlCheck) -> str:
    cols = ", ".join(sql.columns)
    text = {
        "row_count": f"row count between {sql.min_rows if sql.min_rows is not None else 0} and "
        f"{sql.max_rows if sql.max_rows is not None else 'any'}",
        "not_null": f"{cols} is never null",
        "unique": f"{cols} is unique",
        "accepted_values": f"{cols} is one of {', '.join(map(str, sql.values))}",
        "custom": "custom SQL returns no rows",
    }[sql.kind.value]
    return text + (f" (where {sql.where})" if sql.where else "")
