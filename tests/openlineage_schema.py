"""Offline validation of OpenLineage events against the spec's JSON Schemas.

The schemas live beside the repository in ``../shared/specs/openlineage/`` (``OpenLineage.json``
and ``facets/*.json``). Each event is validated against its kind's definition in the core schema
(a readable error rather than the opaque ``oneOf`` one), and each facet against the facet file
its ``_schemaURL`` names (by file name when the version differs), with every ``$ref`` resolved
from the local files through a ``referencing`` registry: no network. ``date-time`` and ``uuid``
formats are enforced (``rfc3339-validator`` is in the dev extra).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

REPO_ROOT = Path(__file__).resolve().parent.parent
SPECS = REPO_ROOT.parent / "shared" / "specs" / "openlineage"


@cache
def _registry() -> tuple[Registry, dict[str, Any], str]:
    core_file = SPECS / "OpenLineage.json"
    if not core_file.is_file():
        raise AssertionError(
            f"the OpenLineage JSON Schemas are missing: expected {core_file} and {SPECS / 'facets'}/*.json "
            "(the shared/ folder beside the repository); the OpenLineage tests validate every "
            "event against them"
        )
    docs = [
        json.loads(core_file.read_text()),
        *(json.loads(p.read_text()) for p in sorted((SPECS / "facets").glob("*.json"))),
    ]
    by_id = {doc["$id"]: doc for doc in docs}
    registry: Registry = Registry().with_resources((i, Resource.from_contents(d)) for i, d in by_id.items())
    return registry, by_id, docs[0]["$id"]


@cache
def _validator(ref: str) -> Draft202012Validator:
    registry, _, _ = _registry()
    return Draft202012Validator({"$ref": ref}, registry=registry, format_checker=FormatChecker())


def _facets(event: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    for entity in ("run", "job", "dataset"):
        for key, facet in ((event.get(entity) or {}).get("facets") or {}).items():
            yield f"{entity}.facets.{key}", facet
    for side in ("inputs", "outputs"):
        for i, dataset in enumerate(event.get(side) or ()):
            for group in ("facets", "inputFacets", "outputFacets"):
                for key, facet in (dataset.get(group) or {}).items():
                    yield f"{side}[{i}].{group}.{key}", facet


def event_errors(event: Mapping[str, Any]) -> list[str]:
    """Every schema violation of one event (core envelope and each standard facet)."""
    _, by_id, core = _registry()
    kind = "RunEvent" if "run" in event else "DatasetEvent" if "dataset" in event else "JobEvent"
    errors = [f"$: {e.message}" for e in _validator(f"{core}#/$defs/{kind}").iter_errors(event)]
    for path, facet in _facets(event):
        base, _, fragment = str(facet.get("_schemaURL", "")).partition("#")
        if base not in by_id:
            same = [u for u in by_id if u.rsplit("/", 1)[-1] == base.rsplit("/", 1)[-1] != "OpenLineage.json"]
            if not same:
                errors.append(f"{path}: unknown facet schema {base!r}")
                continue
            base = same[0]
        errors.extend(f"{path}: {e.message}" for e in _validator(f"{base}#{fragment}").iter_errors(facet))
    return errors


def assert_valid(events: Iterable[Mapping[str, Any]]) -> int:
    """Fail with every problem of every event; returns how many events were checked."""
    found = list(events)
    problems = [
        f"event {i} ({e.get('eventType', '-')}): {m}" for i, e in enumerate(found) for m in event_errors(e)
    ]
    assert not problems, "\n".join(problems)
    return len(found)
