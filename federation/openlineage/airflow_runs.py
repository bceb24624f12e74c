"""Airflow events -> DAG runs and task runs (the task run's parent is its DAG run).

The Airflow adapter records, per finished task instance, one event per mapped asset with
metadata ``dag_id``, ``task_id``, ``map_index``, ``try_number`` (and ``start_date`` when known),
and per finished DAG run events with ``dag_id`` and ``logical_date``. Events of one task
instance become one task run; its outputs are the datasets of its assets, its inputs their
parents' datasets that the same task does not write.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from lockgate.federation.events import Event, Materialization, RunFailed, RunStarted, RunSucceeded
from lockgate.federation.graph import AssetGraph
from lockgate.federation.openlineage import naming
from lockgate.federation.openlineage.emit import LineageDataset, LineageRun, Outcome, ParentRef
from lockgate.federation.openlineage.runs import inputs_of, nominal, output_of, parse_time

_ENDS = (Materialization, RunFailed, RunSucceeded)


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def airflow_lineage_runs(events: list[Event], graph: AssetGraph, namespace: str) -> list[LineageRun]:
    dags: dict[tuple[str, str], list[Event]] = defaultdict(list)
    tasks: dict[tuple[str, str, str, int, int], list[Event]] = defaultdict(list)
    for event in events:
        dag_id = event.metadata.get("dag_id")
        if not isinstance(dag_id, str) or event.run_id is None or not isinstance(event, (*_ENDS, RunStarted)):
            continue
        task_id = event.metadata.get("task_id")
        if isinstance(task_id, str) and task_id:
            unit = (dag_id, event.run_id, task_id, _int(event.metadata.get("map_index"), -1),
                    _int(event.metadata.get("try_number"), 1))  # fmt: skip
            tasks[unit].append(event)
            dags.setdefault((dag_id, event.run_id), [])
        else:
            dags[(dag_id, event.run_id)].append(event)
    runs: list[LineageRun] = []
    parents: dict[tuple[str, str], ParentRef] = {}
    for (dag_id, run_id), found in sorted(dags.items()):
        logical = next((t for e in found if (t := parse_time(e.metadata.get("logical_date")))), None)
        ref = ParentRef(
            job=naming.airflow_dag_job(namespace, dag_id),
            run_id=naming.airflow_dag_run_id(namespace, dag_id, logical_date=logical, run_id=run_id),
        )
        parents[(dag_id, run_id)] = ref
        task_runs = [
            _task_run(unit, evs, graph, namespace, ref, logical)
            for unit, evs in sorted(tasks.items())
            if unit[:2] == (dag_id, run_id)
        ]
        runs.extend(task_runs)
        runs.append(_dag_run(dag_id, found, task_runs, ref, logical))
    return runs


def _task_run(
    unit: tuple[str, str, str, int, int],
    events: list[Event],
    graph: AssetGraph,
    namespace: str,
    parent: ParentRef,
    logical: datetime | None,
) -> LineageRun:
    dag_id, run_id, task_id, map_index, try_number = unit
    ends = [e for e in events if isinstance(e, _ENDS)]
    failed = next((e for e in ends if isinstance(e, RunFailed)), None)
    ended = max((e.timestamp for e in ends), default=None)
    started = min(
        [e.timestamp for e in events if isinstance(e, RunStarted)]
        + [t for e in events if (t := parse_time(e.metadata.get("start_date")))]
        + [e.timestamp for e in ends]
    )
    keys = sorted({e.asset_key for e in events if e.asset_key is not None and e.asset_key in graph})
    specs = [graph.get(k) for k in keys]
    outputs = tuple(output_of(s, (), None, None) for s in specs if s.dataset is not None)
    written = {d.ref for d in outputs}
    inputs: dict[object, LineageDataset] = {}
    for spec in specs:
        for data in inputs_of(graph, spec.key):
            if data.ref not in written:
                inputs.setdefault(data.ref, data)
    first = specs[0] if specs else None
    return LineageRun(
        job=naming.airflow_task_job(namespace, dag_id, task_id),
        run_id=naming.airflow_task_run_id(
            namespace,
            dag_id,
            task_id,
            logical_date=logical,
            try_number=try_number,
            map_index=map_index,
            run_id=run_id,
        ),
        started_at=started,
        ended_at=ended,
        outcome=Outcome.RUNNING if ended is None else Outcome.FAIL if failed else Outcome.COMPLETE,
        integration="AIRFLOW",
        job_type="TASK",
        inputs=tuple(inputs.values()),
        outputs=outputs,
        parent=parent,
        nominal=nominal(events[0].partition) or (None if logical is None else (logical, None)),
        error=failed.message if isinstance(failed, RunFailed) else "",
        description=first.description if first else "",
        owners=first.owners if first else (),
        engine=("Airflow", None),
    )


def _dag_run(
    dag_id: str, events: list[Event], tasks: list[LineageRun], ref: ParentRef, logical: datetime | None
) -> LineageRun:
    ends = [e for e in events if isinstance(e, _ENDS)]
    failed = next((e for e in ends if isinstance(e, RunFailed)), None)
    times = [e.timestamp for e in events] + [r.started_at for r in tasks]
    ended = max((e.timestamp for e in ends), default=None)
    return LineageRun(
        job=ref.job,
        run_id=ref.run_id,
        started_at=min([*times, *([ended] if ended else [])]),
        ended_at=ended,
        outcome=Outcome.RUNNING if ended is None else Outcome.FAIL if failed else Outcome.COMPLETE,
        integration="AIRFLOW",
        job_type="DAG",
        nominal=None if logical is None else (logical, None),
        error=failed.message if isinstance(failed, RunFailed) else "",
        engine=("Airflow", None),
    )
