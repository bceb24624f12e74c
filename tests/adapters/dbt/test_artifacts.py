"""Reading manifest.json / run_results.json: versions, and every kind of bad file."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import pytest

from lockgate.adapters.dbt.artifacts import parse_manifest, parse_run_results
from lockgate.federation.errors import ArtifactError

FIXTURES = Path(__file__).parent / "fixtures"


def _with_version(kind: str, version: int) -> bytes:
    doc: dict[str, Any] = {
        "metadata": {
            "dbt_schema_version": f"https://schemas.getdbt.com/dbt/{kind}/v{version}.json",
            "dbt_version": "1.99.0",
        },
        "nodes": {},
        "results": [],
    }
    return json.dumps(doc).encode()


@pytest.mark.parametrize("version", [10, 11, 12])
def test_manifest_versions_10_to_12_are_read(version: int) -> None:
    path = FIXTURES / f"shop_manifest_v{version}.json"
    doc = parse_manifest(path.read_bytes(), path=path)
    assert doc["metadata"]["dbt_schema_version"].endswith(f"/v{version}.json")
    assert "model.shop.fct_orders" in doc["nodes"]


def test_reading_restores_the_gc_state() -> None:
    path = FIXTURES / "shop_manifest_v12.json"
    assert gc.isenabled()
    parse_manifest(path.read_bytes(), path=path)
    assert gc.isenabled()
    gc.disable()
    try:
        parse_manifest(path.read_bytes(), path=path)
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize("version", [9, 13])
def test_unknown_manifest_versions_name_the_file_the_version_and_the_fix(version: int) -> None:
    path = Path("/proj/target/manifest.json")
    with pytest.raises(ArtifactError) as info:
        parse_manifest(_with_version("manifest", version), path=path)
    text = str(info.value)
    assert str(path) in text
    assert f"v{version}" in text and "1.99.0" in text and "v10, v11, v12" in text
    assert "dbt parse" in text


def test_a_truncated_manifest_names_the_file_and_the_position() -> None:
    path = FIXTURES / "shop_manifest_v12.json"
    data = path.read_bytes()[:5000]
    with pytest.raises(ArtifactError) as info:
        parse_manifest(data, path=Path("/proj/target/manifest.json"))
    text = str(info.value)
    assert "/proj/target/manifest.json" in text and "not valid JSON" in text
    assert "byte " in text and "5000 bytes" in text and "truncated" in text
    assert "re-run `dbt parse`" in text


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"<html>not json</html>", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object at the top level, got list"),
        (b'{"nodes": {}}', "metadata.dbt_schema_version is None"),
        (
            b'{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json"}}',
            "not a dbt manifest schema URL",
        ),
    ],
)
def test_non_manifests_are_artifact_errors(data: bytes, expected: str) -> None:
    with pytest.raises(ArtifactError, match=r"manifest\.json") as info:
        parse_manifest(data, path=Path("/p/manifest.json"))
    assert expected in str(info.value)


@pytest.mark.parametrize("version", [5, 6])
def test_run_results_v5_and_v6_are_read(version: int) -> None:
    path = FIXTURES / f"shop_run_results_v{version}.json"
    assert len(parse_run_results(path.read_bytes(), path=path)["results"]) == 35


@pytest.mark.parametrize("version", [4, 7])
def test_unknown_run_results_versions_are_errors(version: int) -> None:
    with pytest.raises(ArtifactError, match=r"/p/run_results.json: unsupported run-results schema version"):
        parse_run_results(_with_version("run-results", version), path=Path("/p/run_results.json"))


def test_run_results_without_results_is_an_error() -> None:
    data = b'{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json"}}'
    with pytest.raises(ArtifactError, match="no `results` list"):
        parse_run_results(data, path=Path("/p/run_results.json"))
