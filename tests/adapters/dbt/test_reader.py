"""The msgspec manifest reader: same translation as the full orjson read, fewer fields, same errors."""

from __future__ import annotations

import gc
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lockgate.adapters.dbt import reader
from lockgate.adapters.dbt.adapter import DbtAdapter
from lockgate.adapters.dbt.artifacts import parse_manifest
from lockgate.adapters.dbt.config import DbtConfig
from lockgate.adapters.dbt.manifest import Translation, translate_manifest
from lockgate.adapters.dbt.reader import NODE_FIELDS, read_manifest
from lockgate.adapters.dbt.translator import DbtTranslator, Node
from lockgate.federation.errors import ArtifactError

FIXTURES = Path(__file__).parent / "fixtures"
PATH = Path("/proj/target/manifest.json")
V12 = "https://schemas.getdbt.com/dbt/manifest/v12.json"


def translate(doc: dict[str, Any]) -> Translation:
    return translate_manifest(
        doc, DbtTranslator(), adapter="x", path=PATH, dataset_factory=lambda relation: None
    )


def model(name: str, **extra: Any) -> dict[str, Any]:
    node = {
        "unique_id": f"model.pkg.{name}",
        "resource_type": "model",
        "name": name,
        "package_name": "pkg",
        "config": {"materialized": "table"},
        "raw_code": "select 1",
        "compiled_code": "select 1",
    }
    node.update(extra)
    return node


def encode(*nodes: dict[str, Any], **sections: Any) -> bytes:
    doc: dict[str, Any] = {
        "metadata": {"dbt_schema_version": V12},
        "nodes": {n["unique_id"]: n for n in nodes},
    }
    doc.update(sections)
    return json.dumps(doc).encode()


@pytest.mark.parametrize("version", [10, 11, 12])
def test_the_shop_translates_exactly_as_with_the_full_read(version: int) -> None:
    path = FIXTURES / f"shop_manifest_v{version}.json"
    data = path.read_bytes()
    fast = translate(read_manifest(data, path=path))
    full = translate(parse_manifest(data, path=path))
    assert fast == full
    assert len(fast.assets) == 15


def test_only_the_declared_fields_are_read_and_extra_fields_add_more() -> None:
    data = encode(model("a", tags="one-string", meta="not-a-dict", columns=None, config=[1]))
    node = read_manifest(data, path=PATH)["nodes"]["model.pkg.a"]
    assert set(node) == set(NODE_FIELDS)
    assert "raw_code" not in node and "compiled_code" not in node
    # loosely typed fields are passed on as written, without falling back to the full read
    assert (node["tags"], node["meta"], node["columns"], node["config"]) == (
        "one-string",
        "not-a-dict",
        None,
        [1],
    )
    assert node["source_name"] is None  # absent fields read as None
    node = read_manifest(data, path=PATH, extra_fields=("raw_code",))["nodes"]["model.pkg.a"]
    assert node["raw_code"] == "select 1"


def test_a_structural_mismatch_falls_back_to_the_full_read() -> None:
    data = encode(model("a"), exposures=["not", "an", "object"])
    doc = read_manifest(data, path=PATH)
    assert doc["nodes"]["model.pkg.a"]["raw_code"] == "select 1"  # the full orjson read
    with pytest.raises(ArtifactError, match="manifest section 'exposures' is not a JSON object"):
        translate(doc)


def test_without_msgspec_the_full_read_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "HAVE_MSGSPEC", False)
    node = read_manifest(encode(model("a")), path=PATH)["nodes"]["model.pkg.a"]
    assert node["raw_code"] == "select 1" and "source_name" not in node


def test_a_node_that_is_not_an_object_is_named_after_the_fallback() -> None:
    doc = read_manifest(encode(model("a"), sources={"source.pkg.s.t": "oops"}), path=PATH)
    with pytest.raises(ArtifactError) as info:
        translate(doc)
    text = str(info.value)
    assert str(PATH) in text and "source.pkg.s.t" in text and "dbt parse" in text


@pytest.mark.parametrize(
    "data",
    [
        b"<html>not json</html>",
        b"",
        b"[1, 2]",
        b'{"nodes": {}}',
        encode(model("a"))[:50],
        json.dumps(
            {"metadata": {"dbt_schema_version": V12.replace("v12", "v13"), "dbt_version": "9"}}
        ).encode(),
    ],
)
def test_bad_files_give_the_errors_of_the_full_read(data: bytes) -> None:
    with pytest.raises(ArtifactError) as expected:
        parse_manifest(data, path=PATH)
    with pytest.raises(ArtifactError) as got:
        read_manifest(data, path=PATH)
    assert str(got.value) == str(expected.value)
    assert str(PATH) in str(got.value)


def test_a_missing_required_field_still_names_the_node_and_the_field() -> None:
    broken = model("broken")
    del broken["package_name"]
    with pytest.raises(ArtifactError) as info:
        translate(read_manifest(encode(model("a"), broken), path=PATH))
    text = str(info.value)
    assert "model.pkg.broken" in text and "'package_name'" in text and "dbt parse" in text


def test_reading_restores_the_gc_state() -> None:
    data = encode(model("a"))
    assert gc.isenabled()
    read_manifest(data, path=PATH)
    assert gc.isenabled()
    with pytest.raises(ArtifactError):
        read_manifest(data[:10], path=PATH)
    assert gc.isenabled()
    gc.disable()
    try:
        read_manifest(data, path=PATH)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_adapter_reads_the_fields_a_translator_asks_for(
    tmp_path: Path, make_config: Callable[..., DbtConfig]
) -> None:
    class CodeInDescription(DbtTranslator):
        extra_node_fields = ("raw_code",)

        def get_description(self, node: Node) -> str:
            return str(node.get("raw_code"))

    target = tmp_path / "proj" / "target"
    target.mkdir(parents=True)
    shutil.copy(FIXTURES / "shop_manifest_v12.json", target / "manifest.json")
    config = make_config(project_dir=str(tmp_path / "proj"), dataset_namespace="duckdb:///data/shop.duckdb")
    custom = DbtAdapter(config, translator=CodeInDescription())
    by_id = {a.origin.external_id: a for a in custom.discover().assets}
    written = json.loads((target / "manifest.json").read_text(encoding="utf-8"))["nodes"]
    orders = written["model.shop.fct_orders"]
    assert by_id["model.shop.fct_orders"].description == orders["raw_code"] != orders["description"]
