"""One run -> its OpenLineage RunEvents (START, then COMPLETE / FAIL / ABORT), as JSON documents.

:class:`LineageRun` is the neutral description of one run that every source of runs fills in
(:mod:`~lockgate.federation.openlineage.runs` builds them from lockgate's events);
:func:`run_events` turns it into spec-valid events. The START event carries the job facets and the
inputs; the terminal event repeats inputs and outputs (consumers that read only COMPLETE still
see the lineage) and adds output statistics, ``errorMessage`` on FAIL and
``dataQualityAssertions`` on inputs that were tested. Both events have the same deterministic
``runId``, so emitting the same run twice sends identical events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from lockgate.federation.keys import DatasetRef
from lockgate.federation.openlineage import facets as f
from lockgate.federation.openlineage.facets import CORE_SCHEMA, PRODUCER, Doc
from lockgate.federation.openlineage.naming import JobRef
from lockgate.federation.specs import AssetSpec


class Outcome(StrEnum):
    """The OpenLineage event type a run ends with (``RUNNING``: not ended yet, START only)."""

    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    FAIL = "FAIL"
    ABORT = "ABORT"


@dataclass(frozen=True, slots=True, kw_only=True)
class ParentRef:
    job: JobRef
    run_id: str
    root: tuple[JobRef, str] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LineageDataset:
    """An input or output: the asset's spec (for facets) and its physical identity."""

    ref: DatasetRef
    spec: AssetSpec | None = None
    assertions: tuple[Doc, ...] = ()
    column_lineage: Doc | None = None
    rows: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LineageRun:
    """One run of one job, observed or launched."""

    job: JobRef
    run_id: str
    started_at: datetime
    ended_at: datetime | None = None
    outcome: Outcome = Outcome.COMPLETE
    integration: str = "LOCKGATE"
    job_type: str = "JOB"
    inputs: tuple[LineageDataset, ...] = ()
    outputs: tuple[LineageDataset, ...] = ()
    parent: ParentRef | None = None
    nominal: tuple[datetime, datetime | None] | None = None
    error: str = ""
    sql: str | None = None
    dialect: str | None = None
    description: str = ""
    owners: tuple[str, ...] = ()
    engine: tuple[str, str | None] | None = None
    extra_run_facets: dict[str, Doc] = field(default_factory=dict)


def dataset_facets(data: LineageDataset, *, with_lineage: bool = True) -> Doc:
    """Dataset facets from the spec: dataSource, schema, documentation, ownership, symlinks."""
    out: Doc = {"dataSource": f.data_source(data.ref)}
    spec = data.spec
    if spec is not None:
        f.put(out, "schema", f.schema(spec.columns))
        f.put(out, "documentation", f.documentation(spec.description, entity="dataset"))
        f.put(out, "ownership", f.ownership(spec.owners, entity="dataset"))
        f.put(out, "symlinks", f.symlinks([(f"lockgate://{spec.origin.system}", str(spec.key), "ASSET")]))
    if with_lineage:
        f.put(out, "columnLineage", data.column_lineage)
    return out


def _dataset(data: LineageDataset) -> Doc:
    return {"namespace": data.ref.namespace, "name": data.ref.name, "facets": dataset_facets(data)}


def _job_facets(run: LineageRun) -> Doc:
    out: Doc = {"jobType": f.job_type(run.integration, run.job_type)}
    f.put(out, "sql", f.sql(run.sql, run.dialect))
    f.put(out, "documentation", f.documentation(run.description, entity="job"))
    f.put(out, "ownership", f.ownership(run.owners, entity="job"))
    return out


def _run_facets(run: LineageRun, *, terminal: bool) -> Doc:
    out: Doc = dict(run.extra_run_facets)
    if run.parent is not None:
        root = run.parent.root
        out["parent"] = f.parent(
            namespace=run.parent.job.namespace,
            name=run.parent.job.name,
            run_id=run.parent.run_id,
            root=(root[0].namespace, root[0].name, root[1]) if root else None,
        )
    if run.nominal is not None:
        out["nominalTime"] = f.nominal_time(*run.nominal)
    if run.engine is not None:
        out["processing_engine"] = f.processing_engine(*run.engine)
    if terminal and run.outcome is Outcome.FAIL:
        out["errorMessage"] = f.error_message(run.error)
    return out


def envelope(event_type: str, when: datetime, run_id: str, job: JobRef) -> Doc:
    return {
        "eventType": event_type,
        "eventTime": f.iso(when),
        "producer": PRODUCER,
        "schemaURL": f"{CORE_SCHEMA}#/$defs/RunEvent",
        "run": {"runId": run_id, "facets": {}},
        "job": {"namespace": job.namespace, "name": job.name, "facets": {}},
        "inputs": [],
        "outputs": [],
    }


def run_events(run: LineageRun) -> list[Doc]:
    """START, and the terminal event when the run has ended."""
    start = envelope("START", run.started_at, run.run_id, run.job)
    start["run"]["facets"] = _run_facets(run, terminal=False)
    start["job"]["facets"] = _job_facets(run)
    start["inputs"] = [_dataset(d) for d in run.inputs]
    start["outputs"] = [_dataset(d) for d in run.outputs]
    if run.outcome is Outcome.RUNNING or run.ended_at is None:
        return [start]
    end = envelope(run.outcome.value, max(run.ended_at, run.started_at), run.run_id, run.job)
    end["run"]["facets"] = _run_facets(run, terminal=True)
    end["job"]["facets"] = _job_facets(run)
    end["inputs"] = [_input(d) for d in run.inputs]
    end["outputs"] = [] if run.outcome is Outcome.FAIL else [_output(d) for d in run.outputs]
    return [start, end]


def _input(data: LineageDataset) -> Doc:
    doc = _dataset(data)
    assertions = f.data_quality_assertions(data.assertions)
    if assertions is not None:
        doc["inputFacets"] = {"dataQualityAssertions": assertions}
    return doc


def _output(data: LineageDataset) -> Doc:
    doc = _dataset(data)
    stats = f.output_statistics(data.rows)
    if stats is not None:
        doc["outputFacets"] = {"outputStatistics": stats}
    return doc


def assertion(
    *, name: str, success: bool, severity: str, column: str | None = None, description: str = ""
) -> Doc:
    """One ``dataQualityAssertions`` entry (``assertion`` is the check's name)."""
    doc: Doc = {"assertion": name, "name": name, "success": success, "severity": severity}
    if column:
        doc["column"] = column
    if description:
        doc["description"] = description
    return doc


def events_for(runs: Sequence[LineageRun]) -> list[Doc]:
    """Every event of ``runs``, parents' STARTs before their children's (runs given in any order)."""
    starts: list[Doc] = []
    ends: list[Doc] = []
    for run in sorted(runs, key=lambda r: (r.parent is not None, r.started_at)):
        events = run_events(run)
        starts.append(events[0])
        ends.extend(events[1:])
    ends.sort(key=lambda e: e["eventTime"])
    return starts + ends
