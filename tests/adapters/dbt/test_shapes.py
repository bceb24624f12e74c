"""Synthetic manifests for the shapes the shop does not have: collisions, disabled targets, ..."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lockgate.adapters.dbt.manifest import Translation
from lockgate.adapters.dbt.translator import DbtTranslator
from lockgate.federation.errors import ArtifactError
from lockgate.federation.keys import AssetKey
from tests.adapters.dbt.test_fast import translate_both

K = AssetKey.parse
V12 = "https://schemas.getdbt.com/dbt/manifest/v12.json"


def model(name: str, *parents: str, **extra: Any) -> dict[str, Any]:
    node = {
        "unique_id": f"model.pkg.{name}",
        "resource_type": "model",
        "name": name,
        "package_name": "pkg",
        "fqn": ["pkg", name],
        "config": {"materialized": extra.pop("materialized", "table")},
        "depends_on": {"nodes": list(parents)},
        "relation_name": f'"db"."main"."{name}"',
    }
    node.update(extra)
    return node


def source(source_name: str, name: str) -> dict[str, Any]:
    return {
        "unique_id": f"source.pkg.{source_name}.{name}",
        "resource_type": "source",
        "name": name,
        "source_name": source_name,
        "package_name": "pkg",
        "relation_name": f'"db"."{source_name}"."{name}"',
    }


def dbt_test(
    name: str, *parents: str, attached: str | None = None, severity: str = "ERROR"
) -> dict[str, Any]:
    node: dict[str, Any] = {
        "unique_id": f"test.pkg.{name}",
        "resource_type": "test",
        "name": name,
        "package_name": "pkg",
        "depends_on": {"nodes": list(parents)},
        "config": {"severity": severity},
    }
    if attached is not None:
        node["attached_node"] = attached
    return node


def manifest(*nodes: dict[str, Any], **sections: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"metadata": {"dbt_schema_version": V12, "adapter_type": "postgres"}, "nodes": {}}
    for node in nodes:
        section = {"source": "sources", "exposure": "exposures"}.get(node["resource_type"], "nodes")
        doc.setdefault(section, {})[node["unique_id"]] = node
    doc.update(sections)
    return doc


def translate(doc: dict[str, Any], translator: DbtTranslator | None = None) -> Translation:
    """Both paths (dicts, and the default translator's structs) must agree: see test_fast.py."""
    return translate_both(doc, translator, adapter="x", path=Path("/p/manifest.json"))


def test_a_source_and_a_model_with_the_same_key_are_disambiguated() -> None:
    # source pkg.orders.items and model "orders" in a folder... force the clash with meta keys
    src = source("raw", "orders")
    clash = model("orders_copy", src["unique_id"], meta={"lockgate": {"key": "pkg/raw/orders"}})
    t = translate(manifest(src, clash, model("raw_orders")))
    keys = {a.origin.external_id: a.key for a in t.assets}
    assert keys["model.pkg.orders_copy"] == K("pkg/raw/orders")  # models win over sources
    assert keys["source.pkg.raw.orders"] == K("source/pkg/raw/orders")
    assert len(set(keys.values())) == 3
    assert any("both map to the asset key pkg/raw/orders" in w for w in t.warnings)
    # the model's dependency on the source follows the source's new key
    assert next(a for a in t.assets if a.key == K("pkg/raw/orders")).deps == (K("source/pkg/raw/orders"),)


def test_collisions_are_deterministic_whatever_the_manifest_order() -> None:
    exposure = {
        "unique_id": "exposure.pkg.orders",
        "resource_type": "exposure",
        "name": "orders",
        "package_name": "pkg",
        "type": "dashboard",
        "depends_on": {"nodes": ["model.pkg.orders"]},
    }
    one = translate(manifest(model("orders"), exposure))
    two = translate(manifest(exposure, model("orders")))
    assert {a.origin.external_id: a.key for a in one.assets} == {
        a.origin.external_id: a.key for a in two.assets
    }
    keys = {a.origin.external_id: a.key for a in one.assets}
    assert keys == {"model.pkg.orders": K("pkg/orders"), "exposure.pkg.orders": K("exposure/pkg/orders")}


def test_a_test_attached_to_a_disabled_node_falls_back_to_depends_on() -> None:
    doc = manifest(
        model("events"),
        dbt_test("not_null_events_id", "model.pkg.events", attached="model.package.events"),
        disabled={"model.package.events": [model("events")]},
    )
    t = translate(doc)
    (c,) = t.checks
    assert c.asset == K("pkg/events")


def test_tests_depending_on_nothing_or_only_ephemerals_are_dropped_with_a_warning() -> None:
    doc = manifest(
        model("eph", materialized="ephemeral"),
        dbt_test("literal_sql"),
        dbt_test("on_eph", "model.pkg.eph"),
    )
    t = translate(doc)
    assert t.checks == ()
    assert any("literal_sql depends on no enabled model" in w for w in t.warnings)
    assert any("on_eph depends on only ephemeral models" in w for w in t.warnings)


def test_two_checks_with_one_name_on_one_asset_get_unique_names() -> None:
    first = dbt_test("same", "model.pkg.a", attached="model.pkg.a")
    second = dict(dbt_test("same", "model.pkg.a", attached="model.pkg.a"), unique_id="test.pkg.same.abc123")
    t = translate(manifest(model("a"), first, second))
    assert sorted(c.key.name for c in t.checks) == ["same", "same_abc123"]


def test_disabled_and_chained_ephemeral_nodes() -> None:
    off = model("off")
    off["config"]["enabled"] = False
    doc = manifest(
        model("base"),
        model("e1", "model.pkg.base", materialized="ephemeral"),
        model("e2", "model.pkg.e1", materialized="ephemeral"),
        model("top", "model.pkg.e2", "model.pkg.base"),
        off,
    )
    t = translate(doc)
    assert sorted(str(a.key) for a in t.assets) == ["pkg/base", "pkg/top"]
    assert next(a for a in t.assets if a.key == K("pkg/top")).deps == (K("pkg/base"),)


def test_a_bad_lockgate_key_warns_and_keeps_the_default_key() -> None:
    t = translate(manifest(model("a", meta={"lockgate": {"key": ["ok", ""]}})))
    assert [str(a.key) for a in t.assets] == ["pkg/a"]
    assert any("meta.lockgate.key of model.pkg.a" in w and "using the default key" in w for w in t.warnings)


def test_meta_key_as_a_list_and_meta_owner() -> None:
    t = translate(manifest(model("a", meta={"lockgate": {"key": ["x", "y"]}, "owner": "ann@example.com"})))
    (a,) = t.assets
    assert (a.key, a.owners) == (K("x/y"), ("ann@example.com",))


@pytest.mark.parametrize("missing", ["unique_id", "resource_type", "name", "package_name"])
def test_a_node_without_a_required_field_names_the_node_and_the_field(missing: str) -> None:
    node = model("broken")
    del node[missing]
    doc = manifest(model("fine"))
    doc["nodes"]["model.pkg.broken"] = node
    with pytest.raises(ArtifactError) as info:
        translate(doc)
    text = str(info.value)
    assert "/p/manifest.json" in text and "model.pkg.broken" in text and repr(missing) in text
    assert "dbt parse" in text


def test_a_source_without_source_name_and_a_non_object_section_are_errors() -> None:
    src = source("raw", "t")
    del src["source_name"]
    with pytest.raises(ArtifactError, match=r"source\.pkg\.raw\.t' has no 'source_name'"):
        translate(manifest(src))
    with pytest.raises(ArtifactError, match="manifest section 'nodes' is not a JSON object"):
        translate({"metadata": {}, "nodes": []})
    with pytest.raises(ArtifactError, match="is not a JSON object"):
        translate({"metadata": {}, "nodes": {"model.pkg.x": "oops"}})
