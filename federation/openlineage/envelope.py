"""Checking a received event's envelope, strictly enough to be useful and no more.

Like Marquez: the core envelope is checked (``eventTime`` a date-time, ``producer`` a string,
``run.runId``, ``job.namespace``/``job.name``, ``eventType`` in the enum, datasets with
``namespace`` and ``name``, facet maps that are objects); facet *contents* are not (producers
send older facet versions and custom facets all the time). A ``runId`` that is not a UUID is a
warning, not an error (the spec's own ``simple_run_event`` fixture has one). Every problem is
reported with its JSON path, all at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from lockgate.federation.errors import OpenLineageError

EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")


def kind_of(doc: Mapping[str, Any]) -> str:
    """``RunEvent``, ``DatasetEvent`` or ``JobEvent``, by the keys present (as the spec defines)."""
    if "run" in doc:
        return "RunEvent"
    return "DatasetEvent" if "dataset" in doc else "JobEvent"


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or "T" not in value.upper():
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _name(obj: Any, path: str, problems: list[str]) -> None:
    if not isinstance(obj, Mapping):
        problems.append(f"{path}: must be an object with namespace and name")
        return
    for field in ("namespace", "name"):
        if not isinstance(obj.get(field), str) or not obj[field].strip():
            problems.append(f"{path}.{field}: required, a non-empty string")
    for group in ("facets", "inputFacets", "outputFacets"):
        if group in obj and obj[group] is not None and not isinstance(obj[group], Mapping):
            problems.append(f"{path}.{group}: must be an object")


def check_event(doc: Any, path: str = "$") -> list[str]:
    """Warnings for one event; raises :class:`OpenLineageError` listing every problem."""
    problems: list[str] = []
    warnings: list[str] = []
    if not isinstance(doc, Mapping):
        raise OpenLineageError([f"{path}: an event must be a JSON object, got {type(doc).__name__}"])
    if parse_time(doc.get("eventTime")) is None:
        problems.append(
            f"{path}.eventTime: required, an RFC 3339 date-time with offset, got {doc.get('eventTime')!r}"
        )
    if not isinstance(doc.get("producer"), str) or not doc["producer"]:
        problems.append(f"{path}.producer: required, a URI string")
    if "schemaURL" in doc and not isinstance(doc["schemaURL"], str):
        problems.append(f"{path}.schemaURL: must be a URI string")
    kind = kind_of(doc)
    if kind == "RunEvent":
        run = doc.get("run")
        if not isinstance(run, Mapping) or not isinstance(run.get("runId"), str) or not run["runId"]:
            problems.append(f"{path}.run.runId: required, a UUID string")
        else:
            try:
                uuid.UUID(run["runId"])
            except ValueError:
                warnings.append(f"{path}.run.runId: {run['runId']!r} is not a UUID")
            if "facets" in run and run["facets"] is not None and not isinstance(run["facets"], Mapping):
                problems.append(f"{path}.run.facets: must be an object")
        event_type = doc.get("eventType")
        if event_type is not None and event_type not in EVENT_TYPES:
            problems.append(f"{path}.eventType: {event_type!r} is not one of {', '.join(EVENT_TYPES)}")
    if kind in ("RunEvent", "JobEvent"):
        _name(doc.get("job"), f"{path}.job", problems)
        for side in ("inputs", "outputs"):
            items = doc.get(side)
            if items is None:
                continue
            if not isinstance(items, list):
                problems.append(f"{path}.{side}: must be an array")
                continue
            for i, item in enumerate(items):
                _name(item, f"{path}.{side}[{i}]", problems)
    else:
        _name(doc.get("dataset"), f"{path}.dataset", problems)
        if "job" in doc and "run" in doc:
            problems.append(f"{path}: a DatasetEvent must not have both job and run")
    if problems:
        raise OpenLineageError(problems)
    return warnings


def check_batch(docs: Any) -> list[str]:
    """Check a ``/lineage/batch`` body (an array); every invalid event is reported by index."""
    if not isinstance(docs, list):
        raise OpenLineageError([f"$: a batch must be a JSON array of events, got {type(docs).__name__}"])
    problems: list[str] = []
    warnings: list[str] = []
    for i, doc in enumerate(docs):
        try:
            warnings.extend(check_event(doc, f"$[{i}]"))
        except OpenLineageError as err:
            problems.extend(err.problems)
    if problems:
        raise OpenLineageError(problems)
    return warnings
