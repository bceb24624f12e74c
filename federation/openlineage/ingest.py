"""Received OpenLineage events -> lockgate specs and events (the receiver in ``ui/`` calls this).

:func:`ingest` is pure: it takes checked event documents and the specs lockgate already knows,
and returns the specs and events to record, for
``store.write_sync(adapter=..., discovery=Discovery(assets=result.specs), observed=ObserveResult(
events=result.events, cursor=None))`` (``result.specs`` holds *every* spec of the ingest adapter,
the known ones plus new ones, because write_sync replaces an adapter's specs).

* **Attach to known assets.** A dataset whose (namespace, name) is a known asset's DatasetRef is
  that asset. A job whose name is what lockgate itself emits for a known asset (dbt-ol's model job,
  the Airflow provider's ``{dag_id}.{task_id}``; see :mod:`.naming`) is that asset too, matched by
  (namespace, name) and else by name alone when unique. No twin assets.
* **Unknown datasets** become external specs (origin ``openlineage:{namespace}/{name}``) with the
  DatasetRef, columns from the ``schema`` facet, description from ``documentation``, and the run's
  inputs as deps of its outputs; the graph stitches them to other systems by DatasetRef.
* **Events.** START/RUNNING -> RunStarted; COMPLETE -> Materialization (outputs, plus the asset
  of the job) and RunSucceeded; FAIL/ABORT -> RunFailed (``errorMessage`` facet). The event id is
  ``openlineage:{runId}:{eventType}:{eventTime}:{asset}``, so a duplicate (same runId, eventType,
  eventTime) is ignored by the store; timestamps are the eventTime, and the store folds status by
  timestamp, so a COMPLETE that arrives before its START still ends MATERIALIZED. Within one
  call, outputs named by any event of a run count for all its events (ACCUMULATIVE mode).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from lockgate.federation.events import Event, Materialization, RunFailed, RunStarted, RunSucceeded
from lockgate.federation.keys import AssetKey, DatasetRef
from lockgate.federation.openlineage.envelope import check_batch, kind_of, parse_time
from lockgate.federation.openlineage.export import job_for
from lockgate.federation.openlineage.runs import Namespaces
from lockgate.federation.specs import AssetSpec, ColumnSpec, Origin

SYSTEM = "openlineage"


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestResult:
    specs: tuple[AssetSpec, ...]
    events: tuple[Event, ...]
    new_assets: tuple[AssetKey, ...]
    warnings: tuple[str, ...]
    changed: tuple[AssetKey, ...] = ()
    """Keys of specs this call created or changed (empty: nothing to write but events)."""


class KnownIndex:
    """What ingest matches against: the known specs by key, dataset and job. Build it once per
    version of the graph and pass it to :func:`ingest` (``known=``); ingest never mutates it."""

    def __init__(self, known: Iterable[AssetSpec], namespaces: Namespaces) -> None:
        self.specs: dict[AssetKey, AssetSpec] = {}
        self.datasets: dict[DatasetRef, AssetKey] = {}
        self.jobs: dict[tuple[str, str], AssetKey] = {}
        names: dict[str, set[AssetKey]] = defaultdict(set)
        for spec in known:
            self.specs[spec.key] = spec
            if spec.dataset is not None:
                self.datasets.setdefault(spec.dataset, spec.key)
            if spec.origin.system != SYSTEM:
                job = job_for(spec, namespaces)
                self.jobs.setdefault((job.namespace, job.name), spec.key)
                names[job.name].add(spec.key)
        self.job_names = {name: next(iter(keys)) for name, keys in names.items() if len(keys) == 1}
        self._own: dict[str, dict[AssetKey, AssetSpec]] = {}
        self._own_sorted: dict[str, tuple[AssetSpec, ...]] = {}

    def own(self, adapter: str) -> dict[AssetKey, AssetSpec]:
        """The known specs the ingest adapter ``adapter`` owns (computed once per index; do not
        mutate). A request that creates nothing then costs nothing per known spec."""
        found = self._own.get(adapter)
        if found is None:
            found = {
                k: s
                for k, s in self.specs.items()
                if s.origin.system == SYSTEM and s.origin.adapter == adapter
            }
            self._own[adapter] = found
        return found

    def own_sorted(self, adapter: str) -> tuple[AssetSpec, ...]:
        """:meth:`own`'s specs in key order (computed once per index)."""
        found = self._own_sorted.get(adapter)
        if found is None:
            own = self.own(adapter)
            found = self._own_sorted[adapter] = tuple(own[k] for k in sorted(own))
        return found

    def job(self, doc: Mapping[str, Any]) -> AssetKey | None:
        job = doc.get("job") or {}
        namespace, name = str(job.get("namespace")), str(job.get("name"))
        return self.jobs.get((namespace, name)) or self.job_names.get(name)


def _key(ref: DatasetRef) -> AssetKey:
    namespace = ref.namespace.replace("://", ":").replace("/", "_") or "default"
    parts = ref.name.split("/") if "/" in ref.name else ref.name.split(".")
    return AssetKey((SYSTEM, namespace, *([p for p in parts if p] or ["dataset"])))


def _columns(facets: Mapping[str, Any]) -> tuple[ColumnSpec, ...]:
    schema = facets.get("schema")
    fields = schema.get("fields") if isinstance(schema, Mapping) else None
    found = []
    for field in fields if isinstance(fields, list) else ():
        if isinstance(field, Mapping) and isinstance(field.get("name"), str):
            kind = field.get("type")
            found.append(
                ColumnSpec(
                    name=field["name"],
                    data_type=kind if isinstance(kind, str) else None,
                    description=str(field.get("description") or ""),
                )
            )
    return tuple(found)


def _description(facets: Mapping[str, Any]) -> str:
    doc = facets.get("documentation")
    return str(doc.get("description") or "") if isinstance(doc, Mapping) else ""


class _Ingest:
    def __init__(self, index: KnownIndex, adapter: str) -> None:
        self.index = index
        self.adapter = adapter
        self.new: dict[AssetKey, AssetSpec] = {}
        self.datasets: dict[DatasetRef, AssetKey] = {}

    def dataset(self, item: Mapping[str, Any], deps: Sequence[AssetKey] = ()) -> AssetKey:
        ref = DatasetRef(namespace=item["namespace"], name=item["name"])
        known = self.datasets.get(ref) or self.index.datasets.get(ref)
        if known is not None and known not in self.new:
            return known
        facets = item.get("facets") or {}
        key = known or _key(ref)
        spec = self.new.get(key) or self.index.specs.get(key)
        if spec is None:
            spec = AssetSpec(
                key=key,
                origin=Origin(system=SYSTEM, adapter=self.adapter, external_id=f"{ref.namespace}/{ref.name}"),
                dataset=ref,
                external=True,
                kinds=(SYSTEM,),
            )
        spec = replace(
            spec,
            deps=tuple(sorted({*spec.deps, *(d for d in deps if d != key)})),
            columns=_columns(facets) or spec.columns,
            description=_description(facets) or spec.description,
        )
        self.new[key] = spec
        self.datasets[ref] = key
        return key

    def flow(
        self, doc: Mapping[str, Any], extra_outputs: Sequence[Mapping[str, Any]] = ()
    ) -> tuple[list[AssetKey], list[AssetKey]]:
        inputs = [self.dataset(item) for item in doc.get("inputs") or ()]
        outputs = [self.dataset(item, inputs) for item in [*(doc.get("outputs") or ()), *extra_outputs]]
        return inputs, list(dict.fromkeys(outputs))


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStep:
    """One run event's identity and what its lockgate events need (rebuilt from stored events
    by :func:`steps_from_events`, so a later request can complete an earlier one's run)."""

    run_id: str
    event_type: str
    event_time: str
    job_namespace: str
    job_name: str
    producer: str
    message: str = ""


def step_of(doc: Mapping[str, Any]) -> RunStep:
    facet = (doc["run"].get("facets") or {}).get("errorMessage") or {}
    message = str(facet.get("message") or "") if isinstance(facet, Mapping) else ""
    return RunStep(
        run_id=doc["run"]["runId"],
        event_type=doc.get("eventType") or "OTHER",
        event_time=doc["eventTime"],
        job_namespace=doc["job"]["namespace"],
        job_name=doc["job"]["name"],
        producer=doc["producer"],
        message=message,
    )


def events_of(step: RunStep, targets: Sequence[AssetKey | None], adapter: str) -> list[Event]:
    """lockgate's events for one run event and its targets (the job's asset and the outputs).
    Ids are deterministic in (runId, eventType, eventTime, asset): recording twice is a no-op."""
    when = parse_time(step.event_time)
    assert when is not None
    job = f"{step.job_namespace}/{step.job_name}"
    meta = {"openlineage_job": job, "producer": step.producer, "event_type": step.event_type,
            "event_time": step.event_time, "job_namespace": step.job_namespace,
            "job_name": step.job_name}  # fmt: skip
    base = f"openlineage:{step.run_id}:{step.event_type}:{step.event_time}"
    common: dict[str, Any] = {"adapter": adapter, "timestamp": when, "run_id": step.run_id, "metadata": meta}
    out: list[Event] = []
    # with no target yet, a run-level event keeps the step, for a later event naming outputs
    for key in targets or [None]:
        eid = f"{base}:{key or 'run'}"
        if step.event_type in ("START", "RUNNING"):
            out.append(RunStarted(event_id=eid, asset_key=key, **common))
        elif step.event_type == "COMPLETE":
            if key is not None:
                out.append(Materialization(event_id=f"{eid}:materialization", asset_key=key, **common))
            out.append(RunSucceeded(event_id=eid, asset_key=key, **common))
        elif step.event_type in ("FAIL", "ABORT"):
            text = step.message or (
                f"the OpenLineage run {step.run_id} of job {job} ended in {step.event_type}"
            )
            out.append(RunFailed(event_id=eid, asset_key=key, message=text, **common))
    return out


def _events(doc: Mapping[str, Any], targets: Sequence[AssetKey], adapter: str) -> list[Event]:
    return events_of(step_of(doc), targets, adapter)


def steps_from_events(events: Iterable[Event], adapter: str = SYSTEM) -> tuple[list[RunStep], set[AssetKey]]:
    """The run events (and the union of their targets) that recorded ``events`` came from."""
    steps: dict[tuple[str, str], RunStep] = {}
    targets: set[AssetKey] = set()
    for event in events:
        meta = event.metadata
        if event.adapter != adapter or event.run_id is None or not isinstance(meta.get("event_time"), str):
            continue
        if event.asset_key is not None:
            targets.add(event.asset_key)
        step = RunStep(
            run_id=event.run_id,
            event_type=str(meta.get("event_type")),
            event_time=str(meta["event_time"]),
            job_namespace=str(meta.get("job_namespace")),
            job_name=str(meta.get("job_name")),
            producer=str(meta.get("producer")),
            message=event.message if isinstance(event, RunFailed) else "",
        )
        steps.setdefault((step.event_type, step.event_time), step)
    return list(steps.values()), targets


def completion(events: Sequence[Event], adapter: str = SYSTEM, steps: Iterable[RunStep] = ()) -> list[Event]:
    """Given every recorded event of one run (and ``steps``, run events that may have had no
    target of their own), the events still missing: each run event applied to the union of
    every event's targets (ACCUMULATIVE: outputs named by START count for a COMPLETE that names
    none, in whatever order they arrived)."""
    found, targets = steps_from_events(events, adapter)
    steps = list({(s.event_type, s.event_time): s for s in [*found, *steps]}.values())
    held = {e.event_id for e in events}
    ordered = sorted(targets)
    return [e for step in steps for e in events_of(step, ordered, adapter) if e.event_id not in held]


def ingest(
    docs: Sequence[Mapping[str, Any]],
    known: Iterable[AssetSpec] | KnownIndex,
    *,
    adapter: str = SYSTEM,
    namespaces: Namespaces | None = None,
    checked: Sequence[str] | None = None,
) -> IngestResult:
    """Check ``docs`` (raises :class:`OpenLineageError` naming every problem) and map them.
    ``checked``: the caller checked them already and these were the warnings (no second check)."""
    warnings = check_batch(list(docs)) if checked is None else list(checked)
    index = known if isinstance(known, KnownIndex) else KnownIndex(known, namespaces or Namespaces())
    work = _Ingest(index, adapter)
    outputs_by_run: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for doc in docs:
        if kind_of(doc) == "RunEvent":
            outputs_by_run[doc["run"]["runId"]].extend(doc.get("outputs") or ())
    events: list[Event] = []
    for doc in sorted(docs, key=lambda d: str(d["eventTime"])):
        kind = kind_of(doc)
        if kind == "DatasetEvent":
            facet = (doc["dataset"].get("facets") or {}).get("lineage") or {}
            sources = facet.get("inputs") if isinstance(facet, Mapping) else None
            deps = [
                work.dataset(s)
                for s in sources or ()
                if isinstance(s, Mapping)
                and s.get("type", "DATASET") == "DATASET"
                and s.get("namespace")
                and s.get("name")
            ]
            work.dataset(doc["dataset"], deps)
            continue
        extra = outputs_by_run.get(doc["run"]["runId"], []) if kind == "RunEvent" else []
        _, outputs = work.flow(doc, extra)
        if kind == "RunEvent":
            attached = index.job(doc)
            targets = list(dict.fromkeys([*([attached] if attached else []), *outputs]))
            events.extend(_events(doc, targets, adapter))
    own = {**index.own(adapter), **work.new} if work.new else index.own(adapter)
    new_keys = tuple(sorted(k for k in work.new if k not in index.specs))
    unique = list({e.event_id: e for e in events}.values())
    changed = tuple(sorted(k for k, spec in work.new.items() if index.specs.get(k) != spec))
    return IngestResult(
        specs=tuple(own[k] for k in sorted(own)) if work.new else index.own_sorted(adapter),
        events=tuple(unique),
        new_assets=new_keys,
        warnings=tuple(warnings),
        changed=changed,
    )
