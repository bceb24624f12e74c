"""Specs and events <-> JSON-able dicts, exactly.

The store keeps every spec and every event as one JSON document (the ``spec`` and ``payload``
columns); the other columns are projections for indexing. Encoding is exact: decoding what was
encoded gives an object equal to the original (dataclass equality), so the rules are strict:

- an :class:`AssetKey` is its rendered form ``a/b/c`` (unambiguous: parts cannot hold ``/``),
  decoded by splitting, never by :meth:`AssetKey.parse` (which strips whitespace);
- a datetime is ISO-8601 in UTC; a naive datetime is refused (it names no instant);
- metadata must hold JSON values only (str, int, float, bool, None, list, dict with str keys):
  anything orjson would otherwise coerce (datetimes, dataclasses, enums, UUIDs) is refused.

Refusals raise :class:`StoreError` naming the spec or event, before anything is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from lockgate.federation.errors import StoreError
from lockgate.federation.events import (
    EVENT_TYPES,
    CheckEvaluated,
    Event,
    EventKind,
    RunFailed,
    RunRequested,
)
from lockgate.federation.keys import AssetKey, CheckKey, DatasetRef
from lockgate.federation.specs import (
    AssetSpec,
    CheckSpec,
    CheckStatus,
    ColumnSpec,
    JsonValue,
    Origin,
    Severity,
)

Doc = dict[str, Any]

_STRICT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _refuse(value: object) -> None:
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def dumps(value: object) -> str:
    """The engine's JSON serializer (documents are already plain JSON values)."""
    return orjson.dumps(value).decode()


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)


def key_text(key: AssetKey) -> str:
    return "/".join(key.path)


def key_from_text(text: str) -> AssetKey:
    return AssetKey(tuple(text.split("/")))


def to_utc(value: datetime, *, where: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise StoreError(
            f"the datetime {value.isoformat()} has no time zone",
            where=where,
            fix="give it one, e.g. datetime.now(UTC) or value.replace(tzinfo=UTC)",
        )
    return value.astimezone(UTC)


def _event_time(event: Event) -> str:
    value = event.timestamp
    if value.tzinfo is None:
        to_utc(value, where=f"event {event.event_id!r} (timestamp)")
    return value.astimezone(UTC).isoformat()


_PLAIN: dict[str, str] = {
    member: member.value for enum in (EventKind, CheckStatus, Severity) for member in enum
}
"""Enum member -> its plain str value (a dict lookup is faster than ``.value``)."""


def _time_from(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _metadata(value: Mapping[str, JsonValue]) -> Doc:
    """Metadata as a plain dict; :func:`encode` checks that it holds only JSON values."""
    return value if type(value) is dict else dict(value)


def encode(doc: Doc, *, where: str) -> str:
    """A document as JSON text (keys sorted, so equal documents give equal text). Refuses
    anything that is not a JSON value rather than coercing it."""
    try:
        return orjson.dumps(doc, option=_STRICT | orjson.OPT_SORT_KEYS, default=_refuse).decode()
    except TypeError as exc:
        raise StoreError(
            f"metadata holds something that is not a JSON value ({exc})",
            where=where,
            fix="keep metadata to str, int, float, bool, None, lists and dicts with str keys "
            "(render datetimes with .isoformat(), enums with .value)",
        ) from None


def text_hash(text: str) -> str:
    """A stable digest of an encoded spec: a spec is rewritten only when this changes."""
    return hashlib.sha256(text.encode()).hexdigest()


def _origin(origin: Origin) -> Doc:
    return {"system": origin.system, "adapter": origin.adapter, "external_id": origin.external_id}


def _origin_from(doc: Doc) -> Origin:
    return Origin(system=doc["system"], adapter=doc["adapter"], external_id=doc["external_id"])


def asset_spec_to_doc(spec: AssetSpec) -> Doc:
    return {
        "key": key_text(spec.key),
        "origin": _origin(spec.origin),
        "deps": [key_text(dep) for dep in spec.deps],
        "description": spec.description,
        "group": spec.group,
        "owners": list(spec.owners),
        "tags": list(spec.tags),
        "kinds": list(spec.kinds),
        "metadata": _metadata(spec.metadata),
        "columns": [
            {"name": c.name, "description": c.description, "data_type": c.data_type, "tags": list(c.tags)}
            for c in spec.columns
        ],
        "dataset": None
        if spec.dataset is None
        else {"namespace": spec.dataset.namespace, "name": spec.dataset.name},
        "code_version": spec.code_version,
        "external": spec.external,
        "url": spec.url,
    }


def asset_spec_from_doc(doc: Doc) -> AssetSpec:
    dataset = doc["dataset"]
    return AssetSpec(
        key=key_from_text(doc["key"]),
        origin=_origin_from(doc["origin"]),
        deps=tuple(key_from_text(dep) for dep in doc["deps"]),
        description=doc["description"],
        group=doc["group"],
        owners=tuple(doc["owners"]),
        tags=tuple(doc["tags"]),
        kinds=tuple(doc["kinds"]),
        metadata=doc["metadata"],
        columns=tuple(
            ColumnSpec(
                name=c["name"], description=c["description"], data_type=c["data_type"], tags=tuple(c["tags"])
            )
            for c in doc["columns"]
        ),
        dataset=None if dataset is None else DatasetRef(namespace=dataset["namespace"], name=dataset["name"]),
        code_version=doc["code_version"],
        external=doc["external"],
        url=doc["url"],
    )


def check_key_to_doc(key: CheckKey) -> Doc:
    return {"asset": key_text(key.asset), "name": key.name}


def check_spec_to_doc(spec: CheckSpec) -> Doc:
    return {
        "key": check_key_to_doc(spec.key),
        "origin": _origin(spec.origin),
        "description": spec.description,
        "severity": _PLAIN[spec.severity],
        "blocking": spec.blocking,
        "additional_deps": [key_text(dep) for dep in spec.additional_deps],
        "metadata": _metadata(spec.metadata),
    }


def check_spec_from_doc(doc: Doc) -> CheckSpec:
    key = doc["key"]
    return CheckSpec(
        key=CheckKey(key_from_text(key["asset"]), key["name"]),
        origin=_origin_from(doc["origin"]),
        description=doc["description"],
        severity=Severity(doc["severity"]),
        blocking=doc["blocking"],
        additional_deps=tuple(key_from_text(dep) for dep in doc["additional_deps"]),
        metadata=doc["metadata"],
    )


def event_to_doc(event: Event) -> Doc:
    """The whole event as one document; ``kind`` selects the class when decoding."""
    doc: Doc = {
        "kind": _PLAIN[event.kind],
        "event_id": event.event_id,
        "adapter": event.adapter,
        "timestamp": _event_time(event),
        "asset_key": None if event.asset_key is None else key_text(event.asset_key),
        "partition": event.partition,
        "run_id": event.run_id,
        "metadata": _metadata(event.metadata),
    }
    if isinstance(event, CheckEvaluated):
        doc.update(
            check_name=event.check_name,
            status=_PLAIN[event.status],
            severity=_PLAIN[event.severity],
            message=event.message,
            failures=event.failures,
        )
    elif isinstance(event, RunRequested):
        doc.update(assets=[key_text(key) for key in event.assets], reason=event.reason)
    elif isinstance(event, RunFailed):
        doc.update(message=event.message)
    return doc


def event_from_doc(doc: Doc) -> Event:
    kind = EventKind(doc["kind"])
    asset_key = doc["asset_key"]
    common: Doc = {
        "event_id": doc["event_id"],
        "adapter": doc["adapter"],
        "timestamp": _time_from(doc["timestamp"]),
        "asset_key": None if asset_key is None else key_from_text(asset_key),
        "partition": doc["partition"],
        "run_id": doc["run_id"],
        "metadata": doc["metadata"],
    }
    if kind is EventKind.CHECK_EVALUATED:
        return CheckEvaluated(
            **common,
            check_name=doc["check_name"],
            status=CheckStatus(doc["status"]),
            severity=Severity(doc["severity"]),
            message=doc["message"],
            failures=doc["failures"],
        )
    if kind is EventKind.RUN_REQUESTED:
        return RunRequested(
            **common, assets=tuple(key_from_text(key) for key in doc["assets"]), reason=doc["reason"]
        )
    if kind is EventKind.RUN_FAILED:
        return RunFailed(**common, message=doc["message"])
    return EVENT_TYPES[kind](**common)
