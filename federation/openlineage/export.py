"""Export the static graph (or a selection of it) to a catalog.

For each selected asset, in topological order:

* a **DatasetEvent** for its dataset (assets with a DatasetRef) with ``dataSource``, ``schema``,
  ``documentation``, ``ownership``, ``symlinks`` (the lockgate asset key) and the explicit
  ``lineage`` facet listing the parents' datasets;
* a **JobEvent** for the job that builds it, named as its producer names it (dbt-ol, the Airflow
  provider, else ``{system}.{external_id}``), with ``jobType``, ``documentation``, ``ownership``,
  the ``lineage`` job facet and the same inputs/outputs;
* a START + COMPLETE **RunEvent** pair per asset's last materialization (Marquez 0.51 builds
  lineage only from runs), with the same deterministic run ids as :mod:`.emit` uses, so exporting
  twice, or exporting after emitting, never creates a second run.

Export sends through the given client; a transport failure parks the rest in the outbox like any
other delivery (see :func:`~lockgate.federation.openlineage.transport.deliver`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from lockgate.federation.events import Event, EventKind
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.openlineage import facets as f
from lockgate.federation.openlineage import naming
from lockgate.federation.openlineage.emit import LineageDataset, dataset_facets, events_for
from lockgate.federation.openlineage.facets import CORE_SCHEMA, PRODUCER, Doc
from lockgate.federation.openlineage.runs import Namespaces, inputs_of, lineage_runs
from lockgate.federation.openlineage.transport import Delivery, LineageClient, deliver
from lockgate.federation.specs import AssetSpec

if TYPE_CHECKING:
    from lockgate.federation.store.store import Store


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportReport:
    assets: int
    dataset_events: int
    job_events: int
    run_events: int
    delivery: Delivery


def job_for(spec: AssetSpec, namespaces: Namespaces) -> naming.JobRef:
    """The job that builds ``spec``, named as its own producer names it."""
    if spec.origin.system == "dbt":
        return naming.dbt_node_job(namespaces.dbt, spec)
    if spec.origin.system == "airflow":
        dag_id, task_id = spec.metadata.get("dag_id"), spec.metadata.get("task_id")
        if isinstance(dag_id, str) and isinstance(task_id, str) and task_id:
            return naming.airflow_task_job(namespaces.airflow, dag_id, task_id)
        if isinstance(dag_id, str):
            return naming.airflow_dag_job(namespaces.airflow, dag_id)
    return naming.origin_job(namespaces.default, spec)


def _static(kind: str, when: datetime) -> Doc:
    return {"eventTime": f.iso(when), "producer": PRODUCER, "schemaURL": f"{CORE_SCHEMA}#/$defs/{kind}"}


def dataset_event(spec: AssetSpec, inputs: Sequence[LineageDataset], when: datetime) -> Doc:
    assert spec.dataset is not None
    found = dataset_facets(LineageDataset(ref=spec.dataset, spec=spec))
    f.put(found, "lineage", f.lineage_dataset(d.ref for d in inputs))
    doc = _static("DatasetEvent", when)
    doc["dataset"] = {"namespace": spec.dataset.namespace, "name": spec.dataset.name, "facets": found}
    return doc


def job_event(
    spec: AssetSpec, inputs: Sequence[LineageDataset], namespaces: Namespaces, when: datetime
) -> Doc:
    job = job_for(spec, namespaces)
    found: Doc = {"jobType": f.job_type(spec.origin.system.upper(), "ASSET")}
    f.put(found, "documentation", f.documentation(spec.description, entity="job"))
    f.put(found, "ownership", f.ownership(spec.owners, entity="job"))
    if spec.dataset is not None and inputs:
        entry = {
            "type": "DATASET",
            "namespace": spec.dataset.namespace,
            "name": spec.dataset.name,
            "inputs": [{"type": "DATASET", "namespace": d.ref.namespace, "name": d.ref.name} for d in inputs],
        }
        found["lineage"] = f.facet("lineage.job", entries=[entry])
    doc = _static("JobEvent", when)
    doc["job"] = {"namespace": job.namespace, "name": job.name, "facets": found}
    doc["inputs"] = [{"namespace": d.ref.namespace, "name": d.ref.name} for d in inputs]
    doc["outputs"] = (
        [] if spec.dataset is None else [{"namespace": spec.dataset.namespace, "name": spec.dataset.name}]
    )
    return doc


def last_materializations(store: Store, keys: Sequence[AssetKey]) -> list[Event]:
    """The events of each asset's last materialization, plus its run's DAG-level events."""
    states = store.asset_states(keys)
    found: dict[str, Event] = {}
    for key in keys:
        state = states.get(key)
        if state is None or state.last_materialization is None:
            continue
        for _, event in store.events(
            asset_key=key, kinds=[EventKind.MATERIALIZATION], run_id=state.last_run_id, limit=1000
        ):
            if event.timestamp == state.last_materialization:
                found[event.event_id] = event
    # the run-level events of those runs (an Airflow DAG run's logical date gives the run ids
    # the Airflow provider uses, and the DAG run is the task runs' parent)
    run_kinds = [EventKind.RUN_STARTED, EventKind.RUN_SUCCEEDED, EventKind.RUN_FAILED]
    for run_id in sorted({e.run_id for e in found.values() if e.run_id}):
        for _, event in store.events(run_id=run_id, kinds=run_kinds, limit=1000):
            if "dag_id" in event.metadata and not event.metadata.get("task_id"):
                found[event.event_id] = event
    return list(found.values())


def static_events(
    graph: AssetGraph, keys: Sequence[AssetKey], namespaces: Namespaces, when: datetime
) -> tuple[list[Doc], list[Doc]]:
    datasets: list[Doc] = []
    jobs: list[Doc] = []
    for key in keys:
        spec = graph.get(key)
        inputs = inputs_of(graph, key)
        if spec.dataset is not None:
            datasets.append(dataset_event(spec, inputs, when))
        if not spec.external:
            jobs.append(job_event(spec, inputs, namespaces, when))
    return datasets, jobs


def export_graph(
    graph: AssetGraph,
    store: Store | None,
    selection: str | None,
    client: LineageClient,
    *,
    namespaces: Namespaces | None = None,
    now: datetime | None = None,
) -> ExportReport:
    """Send the selected part of the graph (everything when ``selection`` is empty).

    ``store`` supplies the last materializations (RunEvents) and the outbox; without it only the
    static events go out. An unknown selection raises :class:`SelectionError` /
    :class:`UnknownAssetError` before anything is sent.
    """
    names = namespaces or Namespaces()
    when = now or datetime.now(UTC)
    wanted = set(graph.select(selection)) if selection and selection.strip() else set(graph)
    keys = [key for key in graph.toposort() if key in wanted]
    datasets, jobs = static_events(graph, keys, names, when)
    runs: list[Doc] = []
    if store is not None:
        runs = events_for(lineage_runs(last_materializations(store, keys), graph, names))
    delivery = deliver([*datasets, *jobs, *runs], client, store)
    return ExportReport(
        assets=len(keys),
        dataset_events=len(datasets),
        job_events=len(jobs),
        run_events=len(runs),
        delivery=delivery,
    )
