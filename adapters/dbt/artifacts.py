"""Fast, lenient reading of dbt's JSON artifacts (manifest.json, run_results.json).

No dbt classes here: ``orjson`` with the cyclic GC paused during the parse (a 10k-model manifest
becomes millions of small containers; letting the GC walk them while they are created costs more
than the parse itself), then version checks on ``metadata.dbt_schema_version``. Only the fields
lockgate uses are read later, with ``.get()``, so dbt versions writing extra keys keep working.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson

from lockgate.federation.errors import ArtifactError
from lockgate.federation.gcpause import gc_paused

MANIFEST_VERSIONS = frozenset({10, 11, 12})
RUN_RESULTS_VERSIONS = frozenset({5, 6})
_VERSION_RE = re.compile(r"/(manifest|run-results)/v(\d+)\.json$")
_PARSE_FIX = "re-run `dbt parse` (or `dbt build`) in the project to rewrite the artifacts"


def loads_paused_gc(data: bytes | memoryview) -> Any:
    """``orjson.loads`` with the cyclic GC paused (restored to its previous state afterwards)."""
    with gc_paused():
        return orjson.loads(data)


def parse_json(data: bytes | memoryview, *, path: Path) -> dict[str, Any]:
    """Parse artifact bytes; truncated or non-JSON input names the file and orjson's position."""
    try:
        doc = loads_paused_gc(data)
    except orjson.JSONDecodeError as exc:
        raise ArtifactError(
            f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}, byte {exc.pos}; "
            f"the file has {len(data)} bytes, it may be truncated)",
            where=str(path),
            fix=_PARSE_FIX,
        ) from exc
    if not isinstance(doc, dict):
        raise ArtifactError(
            f"expected a JSON object at the top level, got {type(doc).__name__}",
            where=str(path),
            fix=_PARSE_FIX,
        )
    return doc


def schema_version(doc: dict[str, Any], *, path: Path, kind: str) -> int:
    """The integer N of ``metadata.dbt_schema_version`` (``.../<kind>/vN.json``)."""
    metadata = doc.get("metadata")
    raw = metadata.get("dbt_schema_version") if isinstance(metadata, dict) else None
    match = _VERSION_RE.search(raw) if isinstance(raw, str) else None
    if match is None or match.group(1) != kind:
        raise ArtifactError(
            f"metadata.dbt_schema_version is {raw!r}, not a dbt {kind} schema URL",
            where=str(path),
            fix=f"point the adapter at a dbt {kind.replace('-', '_')}.json file; {_PARSE_FIX}",
        )
    return int(match.group(2))


def check_version(doc: dict[str, Any], *, path: Path, kind: str, supported: frozenset[int]) -> int:
    version = schema_version(doc, path=path, kind=kind)
    if version not in supported:
        known = ", ".join(f"v{v}" for v in sorted(supported))
        dbt_version = doc.get("metadata", {}).get("dbt_version", "unknown")
        raise ArtifactError(
            f"unsupported {kind} schema version v{version} (written by dbt {dbt_version}); "
            f"lockgate reads {known}",
            where=str(path),
            fix="rebuild the artifacts with dbt-core 1.6 to 1.11 (`dbt parse`), "
            "or upgrade lockgate if a newer version supports this schema",
        )
    return version


def parse_manifest(data: bytes | memoryview, *, path: Path) -> dict[str, Any]:
    """A manifest v10-v12 as a plain dict (only its version is checked here)."""
    doc = parse_json(data, path=path)
    check_version(doc, path=path, kind="manifest", supported=MANIFEST_VERSIONS)
    return doc


def parse_run_results(data: bytes, *, path: Path) -> dict[str, Any]:
    """A run_results v5-v6 as a plain dict."""
    doc = parse_json(data, path=path)
    check_version(doc, path=path, kind="run-results", supported=RUN_RESULTS_VERSIONS)
    if not isinstance(doc.get("results"), list):
        msg = "run_results has no `results` list"
        raise ArtifactError(
            msg,
            where=str(path),
            fix=_PARSE_FIX,
        )
    return doc
