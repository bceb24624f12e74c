"""The workspace's ``checks:`` and ``connections:`` sections, validated into value objects.

```yaml
connections:
  warehouse:
    url_env: WAREHOUSE_URL          # the secret stays in the environment
checks:
  - select: "tag:daily"
    freshness: {max_lag: 6h}
  - select: "orders"
    freshness: {deadline: "0 7 * * 1-5", timezone: Europe/Berlin}
    blocking: true
  - select: "orders"
    sql: {connection: warehouse, not_null: id, where: "order_date = :partition"}
```

Every error names the file, the entry (``checks[2].sql.not_null``) and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from lockgate.federation.errors import ConfigError
from lockgate.federation.specs import Severity

Scalar = str | int | float | bool

_DURATION = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_ENTRY_KEYS = {"select", "name", "description", "blocking", "severity", "freshness", "sql", "partition"}


class SqlKind(StrEnum):
    ROW_COUNT = "row_count"
    NOT_NULL = "not_null"
    UNIQUE = "unique"
    ACCEPTED_VALUES = "accepted_values"
    CUSTOM = "custom"


@dataclass(frozen=True, slots=True, kw_only=True)
class Freshness:
    """``max_lag``: updated within that long; or ``deadline`` (cron) in ``timezone``: at every
    deadline the asset must have been materialized since the deadline before it."""

    max_lag: timedelta | None = None
    deadline: str | None = None
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True, kw_only=True)
class SqlCheck:
    """One SQL check on a table. ``where`` scopes it (``:partition`` is bound, never formatted)."""

    kind: SqlKind
    connection: str
    table: tuple[str, ...] = ()
    """Schema-qualified name parts; empty: the asset's dataset name (its last two parts)."""
    columns: tuple[str, ...] = ()
    values: tuple[Scalar, ...] = ()
    min_rows: int | None = None
    max_rows: int | None = None
    sql: str = ""
    where: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeclaredCheck:
    select: str
    name: str
    where: str
    """Where it was declared, for messages: ``lockgate.yaml: checks[2]``."""
    blocking: bool = False
    severity: Severity = Severity.ERROR
    description: str = ""
    freshness: Freshness | None = None
    sql: SqlCheck | None = None
    partition: str | None = None
    """A fixed partition to scope a SQL check to; else the asset's newest materialized one."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkspaceChecks:
    checks: tuple[DeclaredCheck, ...] = ()
    connections: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Connection name -> SQLAlchemy URL (a secret: never shown)."""


def parse_duration(text: object, *, where: str) -> timedelta:
    """``6h``, ``90m``, ``1d12h``, ``45s``, ``2w`` (or a number of seconds)."""
    if isinstance(text, int) and not isinstance(text, bool) and text > 0:
        return timedelta(seconds=text)
    raw = str(text).strip().lower() if isinstance(text, str) else ""
    parts = _DURATION.findall(raw)
    if not parts or _DURATION.sub("", raw).strip():
        raise ConfigError(
            f"{text!r} is not a duration",
            where=where,
            fix="write a number and a unit (s, m, h, d, w), e.g. 6h or 1d12h",
        )
    seconds = sum(int(n) * _UNITS[unit] for n, unit in parts)
    if seconds <= 0:
        raise ConfigError(f"the duration {text!r} is zero", where=where, fix="use a positive duration")
    return timedelta(seconds=seconds)


def parse_checks(workspace: Any) -> WorkspaceChecks:
    """Validate ``workspace.checks`` and ``workspace.connections`` (a loaded Workspace)."""
    shown = str(getattr(workspace, "path", "lockgate.yaml"))
    return parse_sections(
        list(getattr(workspace, "checks", ()) or ()),
        dict(getattr(workspace, "connections", {}) or {}),
        file=shown,
    )


def parse_sections(checks: Sequence[Any], connections: Mapping[str, Any], *, file: str) -> WorkspaceChecks:
    urls = _connections(connections, file)
    out: list[DeclaredCheck] = []
    seen: dict[tuple[str, str], str] = {}
    for index, raw in enumerate(checks):
        where = f"{file}: checks[{index}]"
        check = _entry(raw, where, urls)
        if (check.select, check.name) in seen:
            raise ConfigError(
                f"the check {check.name!r} on {check.select!r} is declared twice "
                f"({seen[(check.select, check.name)]} and checks[{index}])",
                where=where,
                fix="give one of them another `name:`",
            )
        seen[(check.select, check.name)] = f"checks[{index}]"
        out.append(check)
    return WorkspaceChecks(checks=tuple(out), connections=urls)


def _connections(raw: Mapping[str, Any], file: str) -> dict[str, str]:
    urls: dict[str, str] = {}
    for name, entry in raw.items():
        where = f"{file}: connections.{name}"
        url = entry.get("url") if isinstance(entry, Mapping) else None
        if not isinstance(url, str) or "://" not in url:
            msg = "a connection needs `url_env:` naming an environment variable that holds a SQLAlchemy URL"
            raise ConfigError(
                msg,
                where=where,
                fix="write `url_env: WAREHOUSE_URL` and export WAREHOUSE_URL=postgresql+psycopg://...",
            )
        urls[str(name)] = url
    return urls


def _entry(raw: Any, where: str, urls: Mapping[str, str]) -> DeclaredCheck:
    if not isinstance(raw, Mapping):
        msg = "a check must be a mapping"
        raise ConfigError(msg, where=where, fix="see docs/checks.md")
    unknown = sorted(set(raw) - _ENTRY_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown key {unknown[0]!r}; the known keys are: {', '.join(sorted(_ENTRY_KEYS))}",
            where=f"{where}.{unknown[0]}",
            fix="fix the spelling or remove the key",
        )
    select = raw.get("select")
    if not isinstance(select, str) or not select.strip():
        msg = "a check needs `select:`, a selection of the assets it checks"
        raise ConfigError(
            msg,
            where=f"{where}.select",
            fix='write e.g. `select: "orders"` or `select: "tag:daily"`',
        )
    if ("freshness" in raw) == ("sql" in raw):
        msg = "a check needs exactly one of `freshness:` and `sql:`"
        raise ConfigError(
            msg,
            where=where,
            fix="split it into two entries, or add the missing one",
        )
    blocking = raw.get("blocking", False)
    if not isinstance(blocking, bool):
        raise ConfigError(
            f"blocking must be true or false, got {blocking!r}",
            where=f"{where}.blocking",
            fix="write true or false",
        )
    severity_text = raw.get("severity", "error")
    if severity_text not in ("warn", "error"):
        raise ConfigError(
            f"severity must be warn or error, got {severity_text!r}",
            where=f"{where}.severity",
            fix="write severity: warn or severity: error",
        )
    freshness = _freshness(raw["freshness"], f"{where}.freshness") if "freshness" in raw else None
    sql = _sql(raw["sql"], f"{where}.sql", urls) if "sql" in raw else None
    name = raw.get("name") or _default_name(freshness, sql, where)
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            f"the check name {name!r} may use only letters, digits, '_', '.' and '-'",
            where=f"{where}.name",
            fix="rename the check",
        )
    partition = raw.get("partition")
    return DeclaredCheck(
        select=select.strip(),
        name=name,
        where=where,
        blocking=blocking,
        severity=Severity(severity_text),
        description=str(raw.get("description") or ""),
        freshness=freshness,
        sql=sql,
        partition=None if partition is None else str(partition),
    )


def _default_name(freshness: Freshness | None, sql: SqlCheck | None, where: str) -> str:
    if freshness is not None or sql is None:
        return "freshness"
    if sql.kind is SqlKind.CUSTOM:
        msg = "a custom SQL check needs a `name:`"
        raise ConfigError(msg, where=where, fix="add e.g. `name: no_negative_amounts`")
    if sql.kind is SqlKind.ROW_COUNT:
        return "row_count"
    return f"{sql.kind.value}_{'_'.join(sql.columns)}"


def _freshness(raw: Any, where: str) -> Freshness:
    if not isinstance(raw, Mapping) or ("max_lag" in raw) == ("deadline" in raw):
        msg = "freshness needs exactly one of `max_lag:` and `deadline:`"
        raise ConfigError(
            msg,
            where=where,
            fix="write `freshness: {max_lag: 6h}` or "
            '`freshness: {deadline: "0 7 * * 1-5", timezone: Europe/Berlin}`',
        )
    unknown = sorted(set(raw) - {"max_lag", "deadline", "timezone"})
    if unknown:
        raise ConfigError(
            f"unknown key {unknown[0]!r} in freshness",
            where=f"{where}.{unknown[0]}",
            fix="use max_lag, or deadline with timezone",
        )
    timezone = str(raw.get("timezone") or "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown time zone {timezone!r}",
            where=f"{where}.timezone",
            fix="use an IANA name like Europe/Berlin",
        ) from None
    if "max_lag" in raw:
        return Freshness(max_lag=parse_duration(raw["max_lag"], where=f"{where}.max_lag"), timezone=timezone)
    deadline = raw["deadline"]
    if not isinstance(deadline, str) or not croniter.is_valid(deadline):
        raise ConfigError(
            f"{deadline!r} is not a cron expression",
            where=f"{where}.deadline",
            fix='use five fields, e.g. "0 7 * * 1-5" for 07:00 on weekdays',
        )
    return Freshness(deadline=deadline, timezone=timezone)


def _sql(raw: Any, where: str, urls: Mapping[str, str]) -> SqlCheck:
    if not isinstance(raw, Mapping):
        msg = "sql must be a mapping"
        raise ConfigError(msg, where=where, fix="see docs/checks.md for the SQL check forms")
    kinds = [k for k in SqlKind if k.value in raw]
    if len(kinds) != 1:
        raise ConfigError(
            "a SQL check needs exactly one of: " + ", ".join(k.value for k in SqlKind),
            where=where,
            fix="write e.g. `not_null: id` or `row_count: {min: 1}`",
        )
    unknown = sorted(set(raw) - {"connection", "table", "where", *(k.value for k in SqlKind)})
    if unknown:
        raise ConfigError(
            f"unknown key {unknown[0]!r} in sql",
            where=f"{where}.{unknown[0]}",
            fix="use connection, table, where and one check form",
        )
    connection = raw.get("connection")
    if connection not in urls:
        known = ", ".join(sorted(urls)) or "none"
        raise ConfigError(
            f"the connection {connection!r} is not in `connections:` (it has: {known})",
            where=f"{where}.connection",
            fix="add it under `connections:` with a `url_env:`, or fix the name",
        )
    kind, value = kinds[0], raw[kinds[0].value]
    table = raw.get("table")
    if table is not None and (not isinstance(table, str) or not all(table.split("."))):
        raise ConfigError(
            f"table must be a name like schema.table, got {table!r}",
            where=f"{where}.table",
            fix="write e.g. `table: analytics.orders`",
        )
    where_clause = raw.get("where") or ""
    if not isinstance(where_clause, str):
        msg = "where must be a SQL condition"
        raise ConfigError(
            msg,
            where=f"{where}.where",
            fix="write e.g. `where: day = :partition`",
        )
    base = SqlCheck(
        kind=kind,
        connection=str(connection),
        table=tuple(table.split(".")) if isinstance(table, str) else (),
        where=where_clause,
    )
    return _form(base, value, f"{where}.{kind.value}")


def _form(base: SqlCheck, value: Any, where: str) -> SqlCheck:
    kind = base.kind
    if kind is SqlKind.ROW_COUNT:
        if not isinstance(value, Mapping) or not set(value) <= {"min", "max"} or not value:
            msg = "row_count needs `min:` and/or `max:`"
            raise ConfigError(msg, where=where, fix="write `row_count: {min: 1}`")
        low, high = value.get("min"), value.get("max")
        for bound in (low, high):
            if bound is not None and (not isinstance(bound, int) or isinstance(bound, bool) or bound < 0):
                raise ConfigError(
                    f"row count bounds must be whole numbers >= 0, got {bound!r}",
                    where=where,
                    fix="fix the bound",
                )
        if low is not None and high is not None and low > high:
            raise ConfigError(f"min ({low}) is above max ({high})", where=where, fix="swap the bounds")
        return replace(base, min_rows=low, max_rows=high)
    if kind is SqlKind.CUSTOM:
        if not isinstance(value, str) or not value.strip():
            msg = "custom needs a SELECT that returns the failing rows"
            raise ConfigError(
                msg,
                where=where,
                fix="write e.g. `custom: select * from orders where amount < 0`",
            )
        return replace(base, sql=value.strip().rstrip(";"))
    if kind is SqlKind.ACCEPTED_VALUES:
        if (
            not isinstance(value, Mapping)
            or not isinstance(value.get("column"), str)
            or not isinstance(value.get("values"), list)
            or not value["values"]
        ):
            msg = "accepted_values needs `column:` and a non-empty list of `values:`"
            raise ConfigError(
                msg,
                where=where,
                fix="write `accepted_values: {column: status, values: [placed, shipped]}`",
            )
        values = tuple(value["values"])
        if not all(isinstance(v, str | int | float | bool) for v in values):
            msg = "accepted values must be strings or numbers"
            raise ConfigError(msg, where=where, fix="fix the list")
        return replace(base, columns=(value["column"],), values=values)
    columns = (value,) if isinstance(value, str) else tuple(value) if isinstance(value, list) else ()
    if not columns or not all(isinstance(c, str) and c for c in columns):
        raise ConfigError(
            f"{kind.value} needs a column name (or a list of them), got {value!r}",
            where=where,
            fix=f"write `{kind.value}: id`",
        )
    if kind is SqlKind.NOT_NULL and len(columns) != 1:
        msg = "not_null takes one column"
        raise ConfigError(msg, where=where, fix="declare one check per column")
    return replace(base, columns=columns)
