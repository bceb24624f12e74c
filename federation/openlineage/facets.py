"""Standard OpenLineage facets as JSON documents, each stamped with its spec version.

Every builder returns a ``dict`` with ``_producer`` and ``_schemaURL`` (the facet file's ``$id`` plus
the ``#/$defs/<Type>`` fragment), in the version published in the spec lockgate is tested against
(``shared/specs/openlineage``). Builders return ``None`` when there is no data for the facet, so
callers can write ``put(facets, "schema", schema(columns))``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from lockgate.federation.keys import DatasetRef
from lockgate.federation.specs import ColumnSpec

Doc = dict[str, Any]

SPEC_VERSION = "2-0-2"
CORE_SCHEMA = f"https://openlineage.io/spec/{SPEC_VERSION}/OpenLineage.json"


def _version() -> str:
    try:
        return metadata.version("lockgate")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0.0.0"


PRODUCER = f"https://github.com/lockgate/lockgate/tree/{_version()}"
"""The ``producer`` / ``_producer`` URI of everything lockgate emits."""

_FACETS: dict[str, tuple[str, str]] = {
    # key in the facet map -> (file version, $defs name)
    "schema": ("1-2-0/SchemaDatasetFacet", "SchemaDatasetFacet"),
    "columnLineage": ("1-2-0/ColumnLineageDatasetFacet", "ColumnLineageDatasetFacet"),
    "documentation.dataset": ("1-1-0/DocumentationDatasetFacet", "DocumentationDatasetFacet"),
    "documentation.job": ("1-1-0/DocumentationJobFacet", "DocumentationJobFacet"),
    "ownership.dataset": ("1-0-1/OwnershipDatasetFacet", "OwnershipDatasetFacet"),
    "ownership.job": ("1-0-1/OwnershipJobFacet", "OwnershipJobFacet"),
    "symlinks": ("1-0-1/SymlinksDatasetFacet", "SymlinksDatasetFacet"),
    "dataSource": ("1-0-1/DatasourceDatasetFacet", "DatasourceDatasetFacet"),
    "sql": ("1-1-0/SQLJobFacet", "SQLJobFacet"),
    "jobType": ("2-0-4/JobTypeJobFacet", "JobTypeJobFacet"),
    "nominalTime": ("1-0-1/NominalTimeRunFacet", "NominalTimeRunFacet"),
    "parent": ("1-2-0/ParentRunFacet", "ParentRunFacet"),
    "errorMessage": ("1-0-1/ErrorMessageRunFacet", "ErrorMessageRunFacet"),
    "processing_engine": ("1-1-1/ProcessingEngineRunFacet", "ProcessingEngineRunFacet"),
    "dataQualityAssertions": ("1-1-0/DataQualityAssertionsDatasetFacet", "DataQualityAssertionsDatasetFacet"),
    "outputStatistics": ("1-0-2/OutputStatisticsOutputDatasetFacet", "OutputStatisticsOutputDatasetFacet"),
    "lineage.dataset": ("1-0-0/LineageFacet", "LineageDatasetFacet"),
    "lineage.job": ("1-0-0/LineageFacet", "LineageJobFacet"),
}


def schema_url(facet: str) -> str:
    """The ``_schemaURL`` of a standard facet (``documentation.job`` for entity-specific ones)."""
    path, name = _FACETS[facet]
    return f"https://openlineage.io/spec/facets/{path}.json#/$defs/{name}"


def facet(kind: str, **fields: Any) -> Doc:
    """A facet document with the base fields; ``None`` values are left out."""
    doc: Doc = {"_producer": PRODUCER, "_schemaURL": schema_url(kind)}
    doc.update({k: v for k, v in fields.items() if v is not None})
    return doc


def put(facets: Doc, key: str, value: Doc | None) -> None:
    """Add ``value`` under ``key`` unless it is ``None``."""
    if value is not None:
        facets[key] = value


def iso(when: datetime) -> str:
    """An RFC 3339 timestamp in UTC (naive datetimes are taken as UTC)."""
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


# ------------------------------------------------------------------------------ dataset facets


def schema(columns: Sequence[ColumnSpec]) -> Doc | None:
    if not columns:
        return None
    fields = []
    for position, column in enumerate(columns, 1):
        field: Doc = {"name": column.name, "ordinal_position": position}
        if column.data_type:
            field["type"] = column.data_type
        if column.description:
            field["description"] = column.description
        fields.append(field)
    return facet("schema", fields=fields)


def documentation(description: str, *, entity: str) -> Doc | None:
    if not description.strip():
        return None
    return facet(f"documentation.{entity}", description=description, contentType="text/markdown")


def ownership(owners: Iterable[str], *, entity: str) -> Doc | None:
    names = [_owner_urn(owner) for owner in owners if owner]
    if not names:
        return None
    return facet(f"ownership.{entity}", owners=[{"name": name} for name in names])


def _owner_urn(owner: str) -> str:
    """Owners as the spec suggests (``user:jdoe``, ``team:data``): emails become ``user:``."""
    if ":" in owner:
        return owner
    return f"user:{owner}" if "@" in owner else f"team:{owner}"


def data_source(ref: DatasetRef) -> Doc:
    return facet("dataSource", name=ref.namespace, uri=ref.namespace)


def symlinks(identifiers: Iterable[tuple[str, str, str]]) -> Doc | None:
    """Other names of the same dataset: ``(namespace, name, type)``."""
    found = [{"namespace": ns, "name": name, "type": kind} for ns, name, kind in identifiers]
    return facet("symlinks", identifiers=found) if found else None


def column_lineage(fields: Mapping[str, Sequence[tuple[DatasetRef, str, str]]]) -> Doc | None:
    """``{output column: [(input dataset, input column, DIRECT|INDIRECT), ...]}``."""
    if not fields:
        return None
    doc = {
        column: {
            "inputFields": [
                {
                    "namespace": ref.namespace,
                    "name": ref.name,
                    "field": source,
                    "transformations": [{"type": kind}],
                }
                for ref, source, kind in sources
            ]
        }
        for column, sources in sorted(fields.items())
        if sources
    }
    return facet("columnLineage", fields=doc) if doc else None


def lineage_dataset(inputs: Iterable[DatasetRef]) -> Doc | None:
    """The explicit ``lineage`` facet of a DatasetEvent: which datasets feed this one."""
    found = [{"namespace": r.namespace, "name": r.name, "type": "DATASET"} for r in inputs]
    return facet("lineage.dataset", inputs=found) if found else None


def data_quality_assertions(assertions: Sequence[Doc]) -> Doc | None:
    return facet("dataQualityAssertions", assertions=list(assertions)) if assertions else None


def output_statistics(rows: int | None) -> Doc | None:
    return None if rows is None else facet("outputStatistics", rowCount=rows)


# ------------------------------------------------------------------------------ job and run facets


def sql(query: str | None, dialect: str | None) -> Doc | None:
    return facet("sql", query=query, dialect=dialect or None) if query else None


def job_type(integration: str, job_type: str) -> Doc:
    return facet("jobType", processingType="BATCH", integration=integration, jobType=job_type)


def nominal_time(start: datetime, end: datetime | None) -> Doc:
    return facet("nominalTime", nominalStartTime=iso(start), nominalEndTime=end and iso(end))


def parent(*, namespace: str, name: str, run_id: str, root: tuple[str, str, str] | None = None) -> Doc:
    """The ``parent`` run facet; ``root`` is ``(namespace, name, run_id)`` of the top run."""
    root_ns, root_name, root_id = root or (namespace, name, run_id)
    return facet(
        "parent",
        run={"runId": run_id},
        job={"namespace": namespace, "name": name},
        root={"run": {"runId": root_id}, "job": {"namespace": root_ns, "name": root_name}},
    )


def error_message(message: str) -> Doc:
    return facet("errorMessage", message=message or "the run failed", programmingLanguage="python")


def processing_engine(name: str, version: str | None) -> Doc:
    return facet(
        "processing_engine",
        name=name,
        version=version or "unknown",
        openlineageAdapterVersion=_version(),
    )
