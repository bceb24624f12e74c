"""Translation of the real shop manifest (committed fixture) into asset and check specs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lockgate.adapters.dbt.artifacts import parse_manifest
from lockgate.adapters.dbt.manifest import Translation
from lockgate.adapters.dbt.translator import DbtTranslator, Node
from lockgate.federation.datasets import relation_namer
from lockgate.federation.keys import AssetKey, CheckKey, DatasetRef
from lockgate.federation.specs import AssetSpec, CheckSpec, Severity
from tests.adapters.dbt.test_fast import translate_both

K = AssetKey.parse
NAMESPACE = "duckdb:///data/shop.duckdb"


def translate(manifest: dict[str, Any], translator: DbtTranslator | None = None) -> Translation:
    namer = relation_namer("duckdb", namespace=NAMESPACE)
    return translate_both(
        manifest, translator, adapter="shop", path=Path("manifest.json"), dataset_factory=namer
    )


def asset(t: Translation, key: str) -> AssetSpec:
    found = {a.key: a for a in t.assets}
    return found[K(key)]


def check(t: Translation, key: str, name: str) -> CheckSpec:
    found = {c.key: c for c in t.checks}
    return found[CheckKey(asset=K(key), name=name)]


def test_every_asset_node_becomes_one_asset_with_a_readable_key(shop_manifest: dict[str, Any]) -> None:
    t = translate(shop_manifest)
    assert sorted(str(a.key) for a in t.assets) == [
        "shop/app/events",
        "shop/customers_snapshot",
        "shop/dim_customers_v1",
        "shop/dim_customers_v2",
        "shop/fct_orders_daily",
        "shop/finance/orders",  # meta.lockgate.key override of fct_orders
        "shop/raw/raw_payments",
        "shop/raw_customers",
        "shop/raw_orders",
        "shop/raw_payments",
        "shop/stg_customers",
        "shop/stg_events",
        "shop/stg_orders",
        "shop/stg_payments",
        "shop/weekly_revenue",
    ]
    # the ephemeral model, the analysis and the hook are not assets
    ids = {a.origin.external_id for a in t.assets}
    assert "model.shop.int_order_payments" not in ids
    assert not any(i.startswith(("analysis.", "operation.")) for i in ids)


def test_models_carry_description_columns_kinds_metadata_and_dataset(shop_manifest: dict[str, Any]) -> None:
    orders = asset(translate(shop_manifest), "shop/finance/orders")
    assert orders.origin.external_id == "model.shop.fct_orders"
    assert str(orders.origin) == "dbt:model.shop.fct_orders"
    assert "paid **amount**" in orders.description
    assert orders.kinds == ("dbt", "table", "duckdb")
    assert orders.tags == ("marts",)
    assert [c.name for c in orders.columns] == ["order_id", "amount"]
    assert orders.columns[1].description == "Total paid, in currency units."
    assert orders.code_version and len(orders.code_version) == 64
    assert orders.metadata["materialized"] == "table"
    assert orders.metadata["original_file_path"] == "models/marts/fct_orders.sql"
    assert orders.metadata["relation_name"] == '"shop"."main"."fct_orders"'
    assert orders.dataset == DatasetRef(namespace=NAMESPACE, name="shop.main.fct_orders")
    assert not orders.external
    assert orders.url is None


def test_group_and_owners_come_from_the_dbt_group_and_lockgate_meta(shop_manifest: dict[str, Any]) -> None:
    t = translate(shop_manifest)
    assert asset(t, "shop/finance/orders").group == "finance"
    assert asset(t, "shop/finance/orders").owners == ("finance@example.com",)
    daily = asset(t, "shop/fct_orders_daily")
    assert (daily.group, daily.owners) == ("finance", ("data-eng@example.com",))  # meta.lockgate.owners
    assert asset(t, "shop/stg_events").group == "product"  # meta.lockgate.group
    assert asset(t, "shop/stg_orders").group is None


def test_ephemeral_models_are_collapsed_into_their_children(shop_manifest: dict[str, Any]) -> None:
    t = translate(shop_manifest)
    # fct_orders reads stg_orders and the ephemeral int_order_payments (which reads stg_payments)
    assert set(asset(t, "shop/finance/orders").deps) == {K("shop/stg_orders"), K("shop/stg_payments")}
    assert any("int_order_payments" in w and "ephemeral" in w for w in t.warnings)


def test_seeds_snapshots_versions_sources_and_exposures(shop_manifest: dict[str, Any]) -> None:
    t = translate(shop_manifest)
    seed = asset(t, "shop/raw_payments")
    assert seed.kinds == ("dbt", "seed", "duckdb") and seed.deps == ()
    source = asset(t, "shop/raw/raw_payments")
    assert source.external and source.kinds == ("dbt", "source", "duckdb")
    assert source.dataset == seed.dataset  # the stitching demo: same table, two nodes
    assert set(asset(t, "shop/stg_payments").deps) == {K("shop/raw/raw_payments"), K("shop/raw_payments")}
    assert asset(t, "shop/customers_snapshot").kinds == ("dbt", "snapshot", "duckdb")
    assert asset(t, "shop/dim_customers_v2").metadata["version"] == 2
    exposure = asset(t, "shop/weekly_revenue")
    assert exposure.kinds == ("dbt", "exposure", "dashboard")
    assert set(exposure.deps) == {K("shop/finance/orders"), K("shop/dim_customers_v2")}
    assert exposure.owners == ("finance@example.com",)
    assert exposure.url == "https://bi.example.com/dashboards/7"
    assert exposure.dataset is None
    # only dbt-buildable assets can be selected for a launch
    assert t.selectors[K("shop/dim_customers_v2")] == "fqn:shop.marts.dim_customers.v2"
    assert K("shop/raw/raw_payments") not in t.selectors
    assert K("shop/weekly_revenue") not in t.selectors


def test_docs_url_links_every_asset_to_its_docs_page(shop_manifest: dict[str, Any]) -> None:
    t = translate(shop_manifest, DbtTranslator(docs_url="https://docs.example.com/"))
    assert asset(t, "shop/stg_orders").url == "https://docs.example.com/#!/model/model.shop.stg_orders"


def test_generic_test_on_a_model_attaches_to_its_model(shop_manifest: dict[str, Any]) -> None:
    c = check(translate(shop_manifest), "shop/stg_orders", "unique_stg_orders_order_id")
    assert c.severity is Severity.ERROR and c.blocking
    assert c.additional_deps == ()
    assert c.metadata["test_type"] == "unique" and c.metadata["column_name"] == "order_id"
    assert c.origin.external_id.startswith("test.shop.unique_stg_orders_order_id.")


def test_relationships_test_has_the_other_model_as_additional_dep(shop_manifest: dict[str, Any]) -> None:
    t = translate(shop_manifest)
    (rel,) = [c for c in t.checks if c.metadata["test_type"] == "relationships"]
    assert rel.asset == K("shop/stg_orders")
    assert rel.additional_deps == (K("shop/stg_customers"),)


def test_source_test_without_attached_node_attaches_to_the_source(shop_manifest: dict[str, Any]) -> None:
    c = check(translate(shop_manifest), "shop/app/events", "source_not_null_app_events_event_id")
    assert c.metadata["test_type"] == "not_null"


def test_singular_tests_attach_to_their_parent_or_first_parent(shop_manifest: dict[str, Any]) -> None:
    t = translate(shop_manifest)
    one = check(t, "shop/stg_payments", "assert_no_negative_payments")
    assert one.metadata["test_type"] == "singular" and one.additional_deps == ()
    # two parents: model.shop.fct_orders sorts before model.shop.stg_payments
    two = check(t, "shop/finance/orders", "assert_order_amounts_match_payments")
    assert two.additional_deps == (K("shop/stg_payments"),)


def test_warn_severity_is_not_blocking_and_unit_tests_are_checks(shop_manifest: dict[str, Any]) -> None:
    t = translate(shop_manifest)
    warn = check(t, "shop/stg_payments", "known_payment_methods")
    assert (warn.severity, warn.blocking) == (Severity.WARN, False)
    unit = check(t, "shop/stg_customers", "full_name_joins_first_and_last")
    assert unit.metadata["check_type"] == "unit_test"
    assert t.check_specs[unit.origin.external_id] is unit
    # 20 data tests + 1 unit test, minus the one on the ephemeral model
    assert len(t.checks) == 20


def test_translator_methods_can_be_overridden(shop_manifest: dict[str, Any]) -> None:
    class Prefixed(DbtTranslator):
        def get_asset_key(self, node: Node) -> AssetKey:
            return super().get_asset_key(node).child("v")

        def get_group(self, node: Node) -> str | None:
            return "everything"

    t = translate(shop_manifest, Prefixed())
    orders = asset(t, "shop/finance/orders/v")
    assert orders.group == "everything"
    assert K("shop/stg_orders/v") in orders.deps


@pytest.mark.parametrize("version", [10, 11, 12])
def test_manifest_v10_v11_v12_translate_alike(version: int) -> None:
    path = Path(__file__).parent / "fixtures" / f"shop_manifest_v{version}.json"
    t = translate(parse_manifest(path.read_bytes(), path=path))
    assert len(t.assets) == 15
    assert len(t.checks) == (20 if version == 12 else 19)  # v10/v11 have no unit tests
