"""run_results.json v5/v6 -> events, and incremental observe() on committed real artifacts."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lockgate.adapters.dbt import plugin
from lockgate.adapters.dbt.adapter import DbtAdapter
from lockgate.adapters.dbt.config import DbtConfig
from lockgate.federation.adapter import Adapter
from lockgate.federation.errors import ArtifactError
from lockgate.federation.events import CheckEvaluated, Event, Materialization, RunFailed
from lockgate.federation.keys import AssetKey
from lockgate.federation.specs import CheckStatus, Severity

FIXTURES = Path(__file__).parent / "fixtures"
K = AssetKey.parse


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder holding only the committed artifacts (dbt is not run)."""
    target = tmp_path / "proj" / "target"
    target.mkdir(parents=True)
    shutil.copy(FIXTURES / "shop_manifest_v12.json", target / "manifest.json")
    return tmp_path / "proj"


@pytest.fixture
def adapter(project: Path, make_config: Callable[..., DbtConfig]) -> DbtAdapter:
    config = make_config(project_dir=str(project), dataset_namespace="duckdb:///data/shop.duckdb")
    created = plugin.create(config)
    assert isinstance(created, Adapter)
    return created


def put_results(project: Path, name: str) -> None:
    shutil.copy(FIXTURES / name, project / "target" / "run_results.json")


def by_id(events: tuple[Event, ...]) -> dict[str, Event]:
    return {e.event_id.split(":", 2)[2]: e for e in events}


@pytest.mark.parametrize("name", ["shop_run_results_v6.json", "shop_run_results_v5.json"])
def test_a_successful_build_gives_materializations_and_check_results(
    adapter: DbtAdapter, project: Path, name: str
) -> None:
    put_results(project, name)
    result = adapter.observe(None)
    events = by_id(result.events)
    invocation = json.loads((FIXTURES / name).read_text())["metadata"]["invocation_id"]
    mat = events["model.shop.fct_orders:materialization"]
    assert isinstance(mat, Materialization)
    assert mat.event_id == f"dbt:{invocation}:model.shop.fct_orders:materialization"
    assert mat.asset_key == K("shop/finance/orders") and mat.run_id == invocation
    assert mat.timestamp.tzinfo is not None and mat.timestamp.year >= 2024
    assert mat.metadata["dbt_status"] == "success"
    seed = events["seed.shop.raw_orders:materialization"]
    assert seed.metadata["rows_affected"] == 6
    assert "snapshot.shop.customers_snapshot:materialization" in events
    warn = events["test.shop.known_payment_methods.15fc428a8e:check_evaluated"]
    assert isinstance(warn, CheckEvaluated)
    assert (warn.status, warn.severity, warn.failures) == (CheckStatus.WARNED, Severity.WARN, 1)
    assert warn.check_name == "known_payment_methods" and warn.asset_key == K("shop/stg_payments")
    assert "configured to warn" in warn.message
    unit = events["unit_test.shop.stg_customers.full_name_joins_first_and_last:check_evaluated"]
    assert isinstance(unit, CheckEvaluated) and unit.status is CheckStatus.PASSED
    # hooks, exposures (no-op), the ephemeral model's dropped test: no events
    assert not any(k.startswith(("operation.", "exposure.")) for k in events)
    assert "test.shop.not_null_int_order_payments_order_id.57af36bc3b:check_evaluated" not in events
    # 8 models + 3 seeds + 1 snapshot, and 20 checks
    assert len(result.events) == 32
    assert result.cursor and result.cursor.startswith(invocation + "@")


def test_a_failed_build_gives_failures_with_messages_and_skips(adapter: DbtAdapter, project: Path) -> None:
    put_results(project, "shop_run_results_v6_failed.json")
    events = by_id(adapter.observe(None).events)
    failed = events["model.shop.fct_orders:run_failed"]
    assert isinstance(failed, RunFailed)
    assert "fct_orders was told to fail" in failed.message
    skipped = events["model.shop.fct_orders_daily:run_failed"]
    assert isinstance(skipped, RunFailed) and skipped.message.startswith("skipped")
    assert skipped.metadata["dbt_status"] == "skipped"
    check = events["test.shop.unique_fct_orders_order_id.523ddb6ce5:check_evaluated"]
    assert isinstance(check, CheckEvaluated) and check.status is CheckStatus.SKIPPED
    assert "model.shop.fct_orders:materialization" not in events


def test_observe_is_incremental(adapter: DbtAdapter, project: Path) -> None:
    assert adapter.observe(None).events == ()  # no run_results yet
    assert adapter.observe("some-cursor").cursor == "some-cursor"
    put_results(project, "shop_run_results_v6.json")
    first = adapter.observe(None)
    assert first.events
    again = adapter.observe(first.cursor)
    assert (again.events, again.cursor) == ((), first.cursor)
    put_results(project, "shop_run_results_v6_failed.json")
    third = adapter.observe(first.cursor)
    assert third.events and third.cursor != first.cursor
    assert not {e.event_id for e in third.events} & {e.event_id for e in first.events}


def test_the_partition_var_of_the_run_becomes_the_events_partition(
    adapter: DbtAdapter, project: Path
) -> None:
    doc = json.loads((FIXTURES / "shop_run_results_v6.json").read_text())
    doc["args"]["vars"] = {"partition": "2024-01-02"}
    (project / "target" / "run_results.json").write_text(json.dumps(doc))
    assert {e.partition for e in adapter.observe(None).events} == {"2024-01-02"}


def test_a_skipped_result_without_timing_uses_generated_at(adapter: DbtAdapter, project: Path) -> None:
    put_results(project, "shop_run_results_v6_failed.json")
    doc = json.loads((FIXTURES / "shop_run_results_v6_failed.json").read_text())
    generated = datetime.fromisoformat(doc["metadata"]["generated_at"]).astimezone(UTC)
    skipped = by_id(adapter.observe(None).events)["model.shop.fct_orders_daily:run_failed"]
    assert skipped.timestamp == generated


def test_a_broken_run_results_file_is_an_artifact_error(adapter: DbtAdapter, project: Path) -> None:
    (project / "target" / "run_results.json").write_text('{"metadata": ')
    with pytest.raises(ArtifactError, match=r"run_results\.json: not valid JSON"):
        adapter.observe(None)


def test_discover_without_manifest_and_without_parsing_is_an_error(
    tmp_path: Path, make_config: Callable[..., DbtConfig]
) -> None:
    config = make_config(project_dir=str(tmp_path / "nothing"), parse_if_missing=False)
    with pytest.raises(ArtifactError) as info:
        plugin.create(config).discover()
    assert "manifest.json" in str(info.value) and "dbt parse" in str(info.value)


def test_discover_without_manifest_and_without_dbt_project_is_a_config_error(
    tmp_path: Path, make_config: Callable[..., DbtConfig]
) -> None:
    from lockgate.federation.errors import ConfigError

    (tmp_path / "empty").mkdir()
    config = make_config(project_dir=str(tmp_path / "empty"))
    with pytest.raises(ConfigError) as info:
        plugin.create(config).discover()
    assert "no dbt_project.yml" in str(info.value) and str(tmp_path / "empty") in str(info.value)


def test_discovery_reports_the_warnings_and_datasets(adapter: DbtAdapter) -> None:
    found = adapter.discover()
    assert len(found.assets) == 15 and len(found.checks) == 20
    assert any("ephemeral" in w for w in found.warnings)
    orders = next(a for a in found.assets if a.key == K("shop/finance/orders"))
    assert (
        orders.dataset is not None
        and str(orders.dataset) == "duckdb:///data/shop.duckdb/shop.main.fct_orders"
    )


def test_compiled_sql_rides_with_the_materialization_for_openlineage(
    adapter: DbtAdapter, project: Path
) -> None:
    doc = json.loads((FIXTURES / "shop_run_results_v6.json").read_text())
    by_uid = {r["unique_id"]: r for r in doc["results"]}
    assert by_uid["model.shop.fct_orders"]["compiled_code"]
    by_uid["model.shop.stg_orders"]["compiled_code"] = "select 1 as x -- " + "y" * (64 * 1024)
    (project / "target" / "run_results.json").write_text(json.dumps(doc))
    events = by_id(adapter.observe(None).events)
    orders = events["model.shop.fct_orders:materialization"]
    assert orders.metadata["compiled_code"] == by_uid["model.shop.fct_orders"]["compiled_code"]
    assert "compiled_code" not in events["model.shop.stg_orders:materialization"].metadata  # too long
