"""Evaluate the workspace's checks and record the results: called on every automation tick.

:func:`evaluate_checks` resolves each declared check's selection against the graph, keeps the
CheckSpecs in the store (adapter ``lockgate``, written only when they change, so the portal and
``build_graph(store)`` see them and the evaluator's ``checks_passed`` knows which are blocking),
evaluates the freshness checks, runs the SQL checks that are due (never run, run before the
asset's last update, or errored last time) and records every outcome as a ``CheckEvaluated``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from lockgate.federation.adapter import Discovery
from lockgate.federation.checks.declared import DeclaredCheck, WorkspaceChecks
from lockgate.federation.checks.freshness import ADAPTER, evaluate_freshness, freshness_spec, last_update
from lockgate.federation.checks.sql import SqlRunner, SqlTarget, load_runner, sql_spec, table_of
from lockgate.federation.errors import LockgateError, UnknownAssetError
from lockgate.federation.events import CheckEvaluated, EventKind
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.specs import CheckSpec, CheckStatus
from lockgate.federation.store.store import Store


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedCheck:
    declared: DeclaredCheck
    spec: CheckSpec


@dataclass(frozen=True, slots=True, kw_only=True)
class ChecksOutcome:
    """What one evaluation did: every outcome, how many were new in the log, and warnings."""

    evaluated: tuple[CheckEvaluated, ...] = ()
    recorded: int = 0
    warnings: tuple[str, ...] = ()


def plan_checks(checks: WorkspaceChecks, graph: AssetGraph) -> tuple[list[PlannedCheck], list[str]]:
    """One CheckSpec per declared check and selected asset; a selection naming no asset (yet) is a
    warning, a malformed one raises."""
    planned: list[PlannedCheck] = []
    warnings: list[str] = []
    for check in checks.checks:
        try:
            keys = graph.select(check.select)
        except UnknownAssetError as exc:
            warnings.append(f"{check.where}: {exc.what}; the check is skipped until the asset exists")
            continue
        for key in keys:
            spec = freshness_spec(check, key) if check.freshness is not None else sql_spec(check, key)
            planned.append(PlannedCheck(declared=check, spec=spec))
    return planned, warnings


def check_specs(checks: WorkspaceChecks, graph: AssetGraph) -> list[CheckSpec]:
    """The CheckSpecs of the workspace's checks (to build a graph that includes them)."""
    return [p.spec for p in plan_checks(checks, graph)[0]]


def evaluate_checks(
    workspace_checks: WorkspaceChecks,
    graph: AssetGraph,
    store: Store,
    now: datetime,
    *,
    sql_runner: SqlRunner | None = None,
) -> ChecksOutcome:
    """Evaluate every declared check at ``now`` and record the outcomes in ``store``.

    ``sql_runner`` defaults to the installed runner (``lockgate.adapters.sql``), created only when
    a SQL check is due. Re-evaluating at the same state records nothing new (deterministic ids).
    """
    planned, warnings = plan_checks(workspace_checks, graph)
    _sync_specs(store, [p.spec for p in planned], now)
    states = store.asset_states({p.spec.asset for p in planned}) if planned else {}
    fresh = [p.spec for p in planned if p.declared.freshness is not None]
    events = evaluate_freshness(fresh, states, now)
    targets: list[SqlTarget] = []
    sql = [p for p in planned if p.declared.sql is not None]
    latest = store.latest_check_results([p.spec.key for p in sql]) if sql else {}
    for item in sql:
        updated = last_update(states.get(item.spec.asset))
        result = latest.get(item.spec.key)
        due = result is None or result.status is CheckStatus.ERRORED
        due = due or (updated is not None and result is not None and result.timestamp < updated)
        if not due:
            continue
        try:
            table = table_of(item.declared, graph.get(item.spec.asset))
        except LockgateError as exc:
            warnings.append(str(exc))
            continue
        assert item.declared.sql is not None
        targets.append(
            SqlTarget(
                key=item.spec.key,
                check=item.declared.sql,
                table=table,
                url=workspace_checks.connections[item.declared.sql.connection],
                severity=item.spec.severity,
                partition=item.declared.partition or _newest_partition(store, item),
                run_id="never" if updated is None else updated.astimezone(UTC).isoformat(),
            )
        )
    if targets:
        runner = sql_runner if sql_runner is not None else load_runner(workspace_checks.connections)
        try:
            events.extend(runner.run(targets, now))
        finally:
            if sql_runner is None:
                runner.close()
    recorded = store.record_events(events) if events else 0
    return ChecksOutcome(evaluated=tuple(events), recorded=recorded, warnings=tuple(warnings))


def _newest_partition(store: Store, item: PlannedCheck) -> str | None:
    sql = item.declared.sql
    if sql is None or ":partition" not in f"{sql.where} {sql.sql}":
        return None
    newest = store.events(
        asset_key=item.spec.asset, kinds=[EventKind.MATERIALIZATION], newest_first=True, limit=1
    )
    return newest[0][1].partition if newest else None


def _sync_specs(store: Store, specs: list[CheckSpec], now: datetime) -> None:
    stored = sorted((s for s in store.check_specs() if s.origin.adapter == ADAPTER), key=_order)
    wanted = sorted(specs, key=_order)
    if stored == wanted:
        return
    store.write_sync(
        adapter=ADAPTER,
        kind="checks",
        started_at=now,
        discovery=Discovery(assets=(), checks=tuple(wanted)),
        observed=None,
    )


def _order(spec: CheckSpec) -> tuple[AssetKey, str]:
    return spec.key.asset, spec.key.name
