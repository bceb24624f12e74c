"""Export of the static graph: DatasetEvents, JobEvents and a RunEvent pair per last materialization."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from lockgate.federation.adapter import Discovery, ObserveResult
from lockgate.federation.errors import UnknownAssetError
from lockgate.federation.graph import AssetGraph
from lockgate.federation.openlineage.emit import events_for
from lockgate.federation.openlineage.export import export_graph
from lockgate.federation.openlineage.runs import lineage_runs
from lockgate.federation.store import Store

NOW = datetime(2024, 6, 1, tzinfo=UTC)


def test_export_sends_datasets_jobs_and_last_runs(kit: Any, graph: AssetGraph, tmp_path: Any) -> None:
    with Store.open(f"sqlite:///{tmp_path}/s.db") as store:
        store.record_events(kit.dbt_events() + kit.airflow_events())
        collector = kit.Collector()
        report = export_graph(graph, store, None, collector, now=NOW)
        events = collector.events
        assert kit.assert_valid(events) == len(events) > 0
        assert report.assets == len(graph) and report.delivery.sent == len(events)
        datasets = {e["dataset"]["name"]: e for e in events if "dataset" in e}
        assert set(datasets) == {
            "shop.main.raw_orders",
            "shop.main.stg_orders",
            "shop.main.stg_customers",
            "shop.main.orders",
            "analytics.public.orders_export",
            "analytics.public.orders_public",
        }
        orders = datasets["shop.main.orders"]["dataset"]["facets"]
        assert {i["name"] for i in orders["lineage"]["inputs"]} == {
            "shop.main.stg_orders",
            "shop.main.stg_customers",
        }
        assert orders["symlinks"]["identifiers"] == [
            {"namespace": "lockgate://dbt", "name": "shop/orders", "type": "ASSET"}
        ]
        assert orders["schema"]["fields"][0]["name"] == "order_id"
        jobs = {e["job"]["name"]: e for e in events if "job" in e and "run" not in e}
        assert {"shop.main.shop.orders", "export.load", "export.publish", "export"} <= set(jobs)
        assert "shop.main.shop.raw_orders" not in jobs  # external sources have no job
        load = jobs["export.load"]
        assert load["job"]["namespace"] == "default"
        assert load["job"]["facets"]["lineage"]["entries"][0]["inputs"][0]["name"] == "shop.main.orders"
        assert load["job"]["facets"]["ownership"]["owners"] == [{"name": "team:team-data"}]
        runs = [e for e in events if "run" in e]
        # the last materializations as runs, with the ids emitting gives
        emitted = events_for(lineage_runs(kit.dbt_events() + kit.airflow_events(), graph))
        emitted_ids = {(e["job"]["name"], e["run"]["runId"]) for e in emitted}
        assert {(e["job"]["name"], e["run"]["runId"]) for e in runs} <= emitted_ids
        assert {e["job"]["name"] for e in runs if e["eventType"] == "COMPLETE"} >= {
            "shop.main.shop.orders",
            "export.load",
            "export.publish",
        }


def test_export_is_idempotent(kit: Any, graph: AssetGraph, tmp_path: Any) -> None:
    with Store.open(f"sqlite:///{tmp_path}/s.db") as store:
        store.record_events(kit.dbt_events())
        first, second = kit.Collector(), kit.Collector()
        export_graph(graph, store, None, first, now=NOW)
        store.record_events(kit.dbt_events())  # re-observed: same ids, nothing new
        export_graph(graph, store, None, second, now=NOW)
        assert first.events == second.events


def test_export_a_selection(kit: Any, graph: AssetGraph) -> None:
    collector = kit.Collector()
    report = export_graph(graph, None, "+orders", collector, now=NOW)
    kit.assert_valid(collector.events)
    assert report.assets == 4 and report.run_events == 0
    names = {e["dataset"]["name"] for e in collector.events if "dataset" in e}
    assert names == {
        "shop.main.raw_orders",
        "shop.main.stg_orders",
        "shop.main.stg_customers",
        "shop.main.orders",
    }
    with pytest.raises(UnknownAssetError):
        export_graph(graph, None, "nothing_like_this", collector)


def test_export_to_a_dead_transport_parks_everything(kit: Any, graph: AssetGraph, tmp_path: Any) -> None:
    with Store.open(f"sqlite:///{tmp_path}/s.db") as store:
        store.write_sync(
            adapter="dbt",
            kind="dbt",
            started_at=NOW,
            discovery=Discovery(assets=tuple(kit.make_specs())),
            observed=ObserveResult(events=tuple(kit.dbt_events()), cursor=None),
        )
        collector = kit.Collector()
        collector.fail = TimeoutError("read timed out")
        report = export_graph(graph, store, "orders", collector, now=NOW)
        assert report.delivery.sent == 0 and report.delivery.parked > 0
        kit.assert_valid(e.payload for e in store.pending_openlineage())
