"""The adapter against real dbt: parse on discovery, `dbt build` launches streaming events."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb
import pytest

from lockgate.adapters.dbt import plugin
from lockgate.adapters.dbt.adapter import DbtAdapter
from lockgate.adapters.dbt.config import DbtConfig
from lockgate.federation.adapter import RunRequest, RunState
from lockgate.federation.errors import ArtifactError, LaunchError
from lockgate.federation.events import (
    CheckEvaluated,
    Event,
    Materialization,
    RunFailed,
    RunStarted,
    RunSucceeded,
)
from lockgate.federation.keys import AssetKey
from lockgate.federation.specs import CheckStatus

pytestmark = pytest.mark.dbt
K = AssetKey.parse


class Sink:
    """Collects events, remembering how many arrived per call (they stream one node at a time)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.calls = 0

    def __call__(self, events: Sequence[Event]) -> None:
        self.calls += 1
        self.events.extend(events)

    def of(self, kind: type[Event]) -> list[Event]:
        return [e for e in self.events if isinstance(e, kind)]


def make_adapter(make_config: Callable[..., DbtConfig], project: Path, **raw: object) -> DbtAdapter:
    adapter = plugin.create(make_config(project_dir=str(project), **raw))
    assert isinstance(adapter, DbtAdapter)
    return adapter


def test_discover_parses_a_project_without_target_and_derives_the_namespace(
    shop_project: Path, make_config: Callable[..., DbtConfig]
) -> None:
    assert not (shop_project / "target").exists()
    found = make_adapter(make_config, shop_project).discover()
    assert (shop_project / "target" / "manifest.json").is_file()
    assert len(found.assets) == 15
    orders = next(a for a in found.assets if a.key == K("shop/finance/orders"))
    assert orders.dataset is not None
    assert orders.dataset.namespace == f"duckdb://{shop_project / 'shop.duckdb'}"
    assert orders.dataset.name == "shop.main.fct_orders"


def test_launch_streams_events_and_records_a_partition_in_the_table(
    shop_project: Path, make_config: Callable[..., DbtConfig]
) -> None:
    adapter = make_adapter(make_config, shop_project)
    keys = tuple(adapter.translation().selectors)
    sink = Sink()
    handle = adapter.launch(RunRequest(assets=keys, idempotency_key="req-1", reason="test"), sink)
    assert handle.state is RunState.SUCCEEDED, handle.message
    assert sink.calls > 10  # streamed node by node, not in one batch at the end
    first, last = sink.events[0], sink.events[-1]
    assert isinstance(first, RunStarted) and first.asset_key is None
    assert first.event_id == f"dbt:req-1:{handle.run_id}:run_started"
    assert isinstance(last, RunSucceeded) and last.run_id == handle.run_id
    materialized = {e.asset_key for e in sink.of(Materialization)}
    assert materialized == set(keys)
    started = {e.asset_key for e in sink.of(RunStarted) if e.asset_key is not None}
    assert started == set(keys)
    checks = {e.check_name: e for e in sink.of(CheckEvaluated) if isinstance(e, CheckEvaluated)}
    assert checks["known_payment_methods"].status is CheckStatus.WARNED
    assert checks["unique_stg_orders_order_id"].status is CheckStatus.PASSED
    assert checks["full_name_joins_first_and_last"].status is CheckStatus.PASSED
    # each model's compiled SQL rides along, for OpenLineage's sql and columnLineage facets
    orders = next(e for e in sink.of(Materialization) if e.asset_key == K("shop/finance/orders"))
    assert "select" in str(orders.metadata["compiled_code"]).lower()
    seeds = [e for e in sink.of(Materialization) if "seed" in str(e.metadata.get("unique_id", ""))]
    assert seeds and all("compiled_code" not in e.metadata for e in seeds)
    # observing the run_results.json of that build gives the same event ids (the store dedupes)
    observed = {e.event_id for e in adapter.observe(None).events}
    streamed = {e.event_id for e in sink.events if e.asset_key is not None and not isinstance(e, RunStarted)}
    assert observed == streamed

    # a repeated request is not run twice
    again = Sink()
    assert adapter.launch(RunRequest(assets=keys, idempotency_key="req-1"), again) == handle
    assert again.events == []

    # one partition: --vars '{"partition": "2024-01-02"}' rebuilds that day only
    daily = K("shop/fct_orders_daily")
    part = Sink()
    handle = adapter.launch(
        RunRequest(assets=(daily,), idempotency_key="req-2", partition="2024-01-02"), part
    )
    assert handle.state is RunState.SUCCEEDED, handle.message
    assert handle.metadata["vars"] == {"partition": "2024-01-02"}
    (mat,) = part.of(Materialization)
    assert (mat.asset_key, mat.partition) == (daily, "2024-01-02")
    with duckdb.connect(str(shop_project / "shop.duckdb"), read_only=True) as conn:
        rows = conn.execute(
            "select cast(order_date as varchar), loaded_partition from main.fct_orders_daily order by 1"
        ).fetchall()
    assert ("2024-01-02", "2024-01-02") in rows
    assert ("2024-01-01", "all") in rows


def test_a_failing_model_gives_a_per_node_failure_with_its_message(
    shop_project: Path, make_config: Callable[..., DbtConfig]
) -> None:
    adapter = make_adapter(make_config, shop_project, vars={"shop_fail": True})
    orders, daily = K("shop/finance/orders"), K("shop/fct_orders_daily")
    sink = Sink()
    handle = adapter.launch(RunRequest(assets=(orders, daily), idempotency_key="fail-1"), sink)
    assert handle.state is RunState.FAILED
    assert "fct_orders was told to fail" in handle.message
    failures = {e.asset_key: e for e in sink.of(RunFailed) if isinstance(e, RunFailed)}
    assert "fct_orders was told to fail" in failures[orders].message
    assert failures[daily].message.startswith("skipped")
    run_failed = failures[None]
    assert run_failed.event_id == f"dbt:fail-1:{handle.run_id}:run_failed"
    assert not sink.of(Materialization)


def test_launch_refuses_sources_and_unknown_assets(
    shop_project: Path, make_config: Callable[..., DbtConfig]
) -> None:
    adapter = make_adapter(make_config, shop_project)
    with pytest.raises(LaunchError, match="sources and exposures cannot be built by dbt: shop/app/events"):
        adapter.launch(RunRequest(assets=(K("shop/app/events"),), idempotency_key="x"), Sink())
    with pytest.raises(LaunchError, match="assets not in this dbt project: nope/x"):
        adapter.launch(RunRequest(assets=(K("nope/x"),), idempotency_key="y"), Sink())


def test_a_project_that_does_not_parse_is_an_artifact_error(
    shop_project: Path, make_config: Callable[..., DbtConfig]
) -> None:
    (shop_project / "models" / "staging" / "broken.sql").write_text("select {{ ref('no_such_model') }}")
    with pytest.raises(ArtifactError) as info:
        make_adapter(make_config, shop_project).discover()
    text = str(info.value)
    assert "`dbt parse` failed" in text and "no_such_model" in text and str(shop_project) in text
