"""lockgate's events -> :class:`LineageRun` values, per origin system.

* **dbt**: events with the same ``run_id`` (the dbt invocation id) form one invocation. Each
  node's Materialization / RunFailed becomes a node run (COMPLETE / FAIL; skipped nodes are left
  out, as dbt-ol does) whose parent is the invocation run ``dbt-run-{project}``; check results
  become one test run per tested asset whose input carries ``dataQualityAssertions``. A node's
  start is its end minus ``execution_time`` (from run_results), or a RunStarted event.
* **Airflow**: task events (metadata with ``task_id``) become task runs ``{dag_id}.{task_id}``
  per (run, task, map index, try); DAG events become the DAG run, the task runs' parent. Run ids
  are the Airflow provider's (see :mod:`~lockgate.federation.openlineage.naming`) when the
  DAG run's ``logical_date`` is known.
* **Anything else**: one run per materialization / failure, job ``{system}.{external_id}``.

Inputs are the asset's parents in the graph that have a dataset; outputs the asset's own dataset.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from lockgate.federation.events import CheckEvaluated, Event, Materialization, RunFailed, RunStarted
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.openlineage import facets as f
from lockgate.federation.openlineage import naming
from lockgate.federation.openlineage.emit import LineageDataset, LineageRun, Outcome, ParentRef, assertion
from lockgate.federation.openlineage.facets import Doc
from lockgate.federation.openlineage.sqllineage import column_sources
from lockgate.federation.specs import AssetSpec, CheckStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class Namespaces:
    """Job namespaces per producer convention (``openlineage.namespaces`` in lockgate.yaml)."""

    dbt: str = naming.DBT_NAMESPACE
    airflow: str = naming.AIRFLOW_NAMESPACE
    default: str = naming.LOCKGATE_NAMESPACE


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def nominal(partition: str | None) -> tuple[datetime, datetime | None] | None:
    """The partition window, when the partition key is a date or a time."""
    start = parse_time(partition)
    if start is None:
        return None
    return start, (start + timedelta(days=1) if partition and len(partition) == 10 else None)


def inputs_of(graph: AssetGraph, key: AssetKey) -> tuple[LineageDataset, ...]:
    if key not in graph:
        return ()
    found = [graph.get(p) for p in sorted(graph.parents(key))]
    return tuple(LineageDataset(ref=s.dataset, spec=s) for s in found if s.dataset is not None)


def output_of(
    spec: AssetSpec, inputs: tuple[LineageDataset, ...], sql: str | None, dialect: str | None
) -> LineageDataset:
    assert spec.dataset is not None
    lineage = None
    if sql:
        lineage = f.column_lineage(column_sources(sql, [d.ref for d in inputs], dialect))
    return LineageDataset(ref=spec.dataset, spec=spec, column_lineage=lineage)


def _rows(event: Event) -> int | None:
    rows = event.metadata.get("rows_affected")
    return rows if isinstance(rows, int) and not isinstance(rows, bool) else None


def _system(graph: AssetGraph, event: Event) -> str | None:
    if event.asset_key is None or event.asset_key not in graph:
        return None
    return graph.get(event.asset_key).origin.system


def lineage_runs(
    events: Iterable[Event], graph: AssetGraph, namespaces: Namespaces = Namespaces()
) -> list[LineageRun]:
    """Every run the events describe, parents included."""
    by_system: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        system = _system(graph, event)
        if system is not None:
            by_system[system].append(event)
    runs: list[LineageRun] = []
    for system, found in sorted(by_system.items()):
        if system == "dbt":
            runs.extend(dbt_runs(found, graph, namespaces.dbt))
        elif system == "airflow":
            runs.extend(airflow_runs(found, graph, namespaces.airflow))
        else:
            runs.extend(other_runs(found, graph, namespaces.default))
    return runs


# ------------------------------------------------------------------------------------------ dbt


def dbt_runs(events: Iterable[Event], graph: AssetGraph, namespace: str) -> list[LineageRun]:
    by_invocation: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_invocation[event.run_id or event.event_id].append(event)
    runs: list[LineageRun] = []
    for invocation, found in sorted(by_invocation.items()):
        runs.extend(_dbt_invocation(invocation, found, graph, namespace))
    return runs


def _dbt_invocation(
    invocation: str, events: list[Event], graph: AssetGraph, namespace: str
) -> list[LineageRun]:
    starts = {e.asset_key: e.timestamp for e in events if isinstance(e, RunStarted)}
    first = graph.get(next(e.asset_key for e in events if e.asset_key is not None))
    parent_job = naming.dbt_invocation_job(namespace, naming.dbt_project(first))
    parent = ParentRef(job=parent_job, run_id=naming.stable_uuid("dbt", invocation))
    engine = ("dbt", _text(first.metadata.get("dbt_version")))
    nodes: list[LineageRun] = []
    checks: dict[AssetKey, list[CheckEvaluated]] = defaultdict(list)
    for event in events:
        if isinstance(event, CheckEvaluated) and event.asset_key is not None:
            checks[event.asset_key].append(event)
            continue
        if not isinstance(event, Materialization | RunFailed) or event.asset_key is None:
            continue
        if event.metadata.get("dbt_status") == "skipped":
            continue
        spec = graph.get(event.asset_key)
        spent = event.metadata.get("execution_time")
        started = starts.get(event.asset_key) or (
            event.timestamp - timedelta(seconds=float(spent))
            if isinstance(spent, int | float)
            else event.timestamp
        )
        sql = _text(event.metadata.get("compiled_code") or spec.metadata.get("compiled_code"))
        dialect = _text(spec.metadata.get("adapter_type")) or (spec.kinds[2] if len(spec.kinds) > 2 else None)
        inputs = inputs_of(graph, spec.key)
        outputs = (
            ()
            if spec.dataset is None
            else (replace(output_of(spec, inputs, sql, dialect), rows=_rows(event)),)
        )
        unique_id = naming.dbt_node_parts(spec)[2]
        nodes.append(
            LineageRun(
                job=naming.dbt_node_job(namespace, spec),
                run_id=naming.stable_uuid("dbt", invocation, unique_id),
                started_at=started,
                ended_at=event.timestamp,
                outcome=Outcome.COMPLETE if isinstance(event, Materialization) else Outcome.FAIL,
                integration="DBT",
                job_type="SNAPSHOT" if unique_id.startswith("snapshot.") else "MODEL",
                inputs=inputs,
                outputs=outputs,
                parent=parent,
                nominal=nominal(event.partition),
                error=event.message if isinstance(event, RunFailed) else "",
                sql=sql,
                dialect=dialect,
                description=spec.description,
                owners=spec.owners,
                engine=engine,
            )
        )
    for key, evaluated in sorted(checks.items()):
        nodes.append(_dbt_tests(graph.get(key), evaluated, parent, invocation, namespace, engine))
    if not nodes:
        return []
    failed = any(run.outcome is Outcome.FAIL for run in nodes)
    top = LineageRun(
        job=parent_job,
        run_id=parent.run_id,
        started_at=min(run.started_at for run in nodes),
        ended_at=max(run.ended_at or run.started_at for run in nodes),
        outcome=Outcome.FAIL if failed else Outcome.COMPLETE,
        integration="DBT",
        job_type="JOB",
        error="one or more dbt nodes failed" if failed else "",
        engine=engine,
    )
    return [top, *nodes]


def _dbt_tests(
    spec: AssetSpec,
    evaluated: list[CheckEvaluated],
    parent: ParentRef,
    invocation: str,
    namespace: str,
    engine: tuple[str, str | None],
) -> LineageRun:
    assertions: list[Doc] = []
    for check in sorted(evaluated, key=lambda c: c.check_name):
        column = check.metadata.get("column_name")
        assertions.append(
            assertion(
                name=check.check_name,
                success=check.status in (CheckStatus.PASSED, CheckStatus.WARNED),
                severity=check.severity.value,
                column=column if isinstance(column, str) else None,
                description=check.message,
            )
        )
    failed = [
        c
        for c in evaluated
        if c.status in (CheckStatus.FAILED, CheckStatus.ERRORED) and c.severity.value == "error"
    ]
    inputs = (
        ()
        if spec.dataset is None
        else (LineageDataset(ref=spec.dataset, spec=spec, assertions=tuple(assertions)),)
    )
    return LineageRun(
        job=naming.dbt_test_job(namespace, spec),
        run_id=naming.stable_uuid("dbt", invocation, "test", str(spec.key)),
        started_at=min(c.timestamp for c in evaluated),
        ended_at=max(c.timestamp for c in evaluated),
        outcome=Outcome.FAIL if failed else Outcome.COMPLETE,
        integration="DBT",
        job_type="TEST",
        inputs=inputs,
        parent=parent,
        nominal=nominal(evaluated[0].partition),
        error="; ".join(f"{c.check_name}: {c.message or c.status.value}" for c in failed),
        engine=engine,
    )


def _text(value: object) -> str | None:
    return str(value) if isinstance(value, str | int | float) and value != "" else None


# ------------------------------------------------------------------------------------------ others


def other_runs(events: Iterable[Event], graph: AssetGraph, namespace: str) -> list[LineageRun]:
    runs = []
    for event in events:
        if not isinstance(event, Materialization | RunFailed) or event.asset_key is None:
            continue
        spec = graph.get(event.asset_key)
        inputs = inputs_of(graph, spec.key)
        runs.append(
            LineageRun(
                job=naming.origin_job(namespace, spec),
                run_id=naming.stable_uuid(spec.origin.adapter, event.run_id or event.event_id, str(spec.key)),
                started_at=parse_time(event.metadata.get("started_at")) or event.timestamp,
                ended_at=event.timestamp,
                outcome=Outcome.COMPLETE if isinstance(event, Materialization) else Outcome.FAIL,
                integration=spec.origin.system.upper(),
                inputs=inputs,
                outputs=() if spec.dataset is None else (output_of(spec, inputs, None, None),),
                nominal=nominal(event.partition),
                error=event.message if isinstance(event, RunFailed) else "",
                description=spec.description,
                owners=spec.owners,
            )
        )
    return runs


def airflow_runs(events: Iterable[Event], graph: AssetGraph, namespace: str) -> list[LineageRun]:
    from lockgate.federation.openlineage.airflow_runs import airflow_lineage_runs

    return airflow_lineage_runs(list(events), graph, namespace)
