"""Emitting: lockgate events -> spec-valid RunEvents for dbt and Airflow runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest

from lockgate.federation.graph import AssetGraph
from lockgate.federation.openlineage import naming
from lockgate.federation.openlineage.emit import events_for
from lockgate.federation.openlineage.runs import Namespaces, lineage_runs


def by_job(events: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for event in events:
        found.setdefault((event["job"]["name"], event["eventType"]), []).append(event)
    return found


def test_dbt_run_gives_node_runs_under_the_invocation(kit: Any, graph: AssetGraph) -> None:
    events = events_for(lineage_runs(kit.dbt_events(), graph))
    assert kit.assert_valid(events) == len(events) == 8  # invocation, 2 models, 1 test run: START+end each
    jobs = by_job(events)
    parent_start = jobs[("dbt-run-shop", "START")][0]
    assert parent_start["job"]["namespace"] == "dbt"
    model = jobs[("shop.main.shop.orders", "COMPLETE")][0]
    start = jobs[("shop.main.shop.orders", "START")][0]
    assert model["run"]["runId"] == start["run"]["runId"]
    # real times: START = end - execution_time, COMPLETE = the node's end
    assert start["eventTime"] == "2024-05-01T06:00:22Z" and model["eventTime"] == "2024-05-01T06:00:30Z"
    parent = model["run"]["facets"]["parent"]
    assert parent["run"]["runId"] == parent_start["run"]["runId"]
    assert parent["job"] == {"namespace": "dbt", "name": "dbt-run-shop"}
    assert {(d["namespace"], d["name"]) for d in model["inputs"]} == {
        (kit.DUCK, "shop.main.stg_customers"),
        (kit.DUCK, "shop.main.stg_orders"),
    }
    out = model["outputs"][0]
    assert out["name"] == "shop.main.orders"
    assert [f["name"] for f in out["facets"]["schema"]["fields"]] == ["order_id", "amount", "customer"]
    assert out["facets"]["documentation"]["description"] == "One row per order."
    assert out["facets"]["ownership"]["owners"] == [{"name": "user:ana@example.com"}]
    lineage = out["facets"]["columnLineage"]["fields"]
    assert lineage["amount"]["inputFields"][0]["name"] == "shop.main.stg_orders"
    assert lineage["amount"]["inputFields"][0]["field"] == "amount"
    assert lineage["customer"]["inputFields"][0]["field"] == "name"
    assert model["job"]["facets"]["sql"]["query"].startswith("select o.id")
    assert model["job"]["facets"]["jobType"]["integration"] == "DBT"
    assert model["run"]["facets"]["nominalTime"]["nominalStartTime"] == "2024-04-30T00:00:00Z"
    assert model["run"]["facets"]["processing_engine"]["name"] == "dbt"
    stg = jobs[("shop.main.shop.stg_orders", "COMPLETE")][0]
    assert stg["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 12


def test_dbt_check_results_become_data_quality_assertions(kit: Any, graph: AssetGraph) -> None:
    events = events_for(lineage_runs(kit.dbt_events(), graph))
    kit.assert_valid(events)
    test_run = by_job(events)[("shop.main.shop.orders.test", "COMPLETE")][0]
    facet = test_run["inputs"][0]["inputFacets"]["dataQualityAssertions"]
    assert facet["assertions"] == [
        {
            "assertion": "not_null_orders_order_id",
            "name": "not_null_orders_order_id",
            "success": True,
            "severity": "error",
            "column": "order_id",
        }
    ]


def test_failed_dbt_node_gives_fail_with_error_message(kit: Any, graph: AssetGraph) -> None:
    events = events_for(lineage_runs(kit.dbt_events(fail=True), graph))
    kit.assert_valid(events)
    jobs = by_job(events)
    fail = jobs[("shop.main.shop.orders", "FAIL")][0]
    assert fail["run"]["facets"]["errorMessage"]["message"] == "Database Error: relation does not exist"
    assert fail["outputs"] == []
    assert ("dbt-run-shop", "FAIL") in jobs


def test_run_ids_are_deterministic_uuids(kit: Any, graph: AssetGraph) -> None:
    first = events_for(lineage_runs(kit.dbt_events() + kit.airflow_events(), graph))
    again = events_for(lineage_runs(kit.dbt_events() + kit.airflow_events(), graph))
    assert first == again
    ids = {e["run"]["runId"] for e in first}
    assert all(uuid.UUID(i) for i in ids)
    other = events_for(lineage_runs(kit.dbt_events("4b6f9d8e-0000-4000-8000-000000000002"), graph))
    assert not ids & {e["run"]["runId"] for e in other}


def test_airflow_task_runs_have_the_dag_run_as_parent(kit: Any, graph: AssetGraph) -> None:
    events = events_for(lineage_runs(kit.airflow_events(), graph, Namespaces(airflow="prod-airflow")))
    kit.assert_valid(events)
    jobs = by_job(events)
    assert set(jobs) == {
        ("export", "START"),
        ("export", "COMPLETE"),
        ("export.load", "START"),
        ("export.load", "COMPLETE"),
        ("export.publish", "START"),
        ("export.publish", "COMPLETE"),
    }
    dag = jobs[("export", "START")][0]
    load = jobs[("export.load", "COMPLETE")][0]
    assert load["job"]["namespace"] == "prod-airflow"
    assert load["run"]["facets"]["parent"]["run"]["runId"] == dag["run"]["runId"]
    assert load["run"]["facets"]["parent"]["job"] == {"namespace": "prod-airflow", "name": "export"}
    assert jobs[("export.load", "START")][0]["eventTime"] == "2024-05-01T06:04:00Z"
    assert [o["name"] for o in load["outputs"]] == ["analytics.public.orders_export"]
    assert [i["name"] for i in load["inputs"]] == ["shop.main.orders"]
    # the same run ids the Airflow OpenLineage provider computes for this task and DAG run
    logical = datetime.fromisoformat("2024-04-30T00:00:00+00:00")
    assert load["run"]["runId"] == naming.static_uuid7(logical, "prod-airflow.export.load.1.-1")
    assert dag["run"]["runId"] == naming.static_uuid7(logical, "prod-airflow.export.0")
    # STARTs come before any terminal event, parents first
    types = [e["eventType"] for e in events]
    assert types.index("COMPLETE") > max(i for i, t in enumerate(types) if t == "START")
    assert events[0]["job"]["name"] == "export"


def test_schema_validator_catches_broken_events(kit: Any, graph: AssetGraph) -> None:
    event = events_for(lineage_runs(kit.dbt_events(), graph))[1]
    broken = {**event, "eventType": "DONE", "eventTime": "yesterday"}
    broken["run"] = {
        "runId": "not-a-uuid",
        "facets": {"nominalTime": {**event["run"]["facets"]["nominalTime"]}},
    }
    del broken["run"]["facets"]["nominalTime"]["nominalStartTime"]
    errors = "\n".join(kit.event_errors(broken))
    assert "'DONE' is not one of" in errors
    assert "'yesterday' is not a 'date-time'" in errors
    assert "'not-a-uuid' is not a 'uuid'" in errors
    assert "run.facets.nominalTime: 'nominalStartTime' is a required property" in errors
    with pytest.raises(AssertionError):
        kit.assert_valid([broken])


def test_schema_validator_needs_the_specs_folder(
    kit: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    module = kit.schema_module
    monkeypatch.setattr(module, "SPECS", tmp_path / "missing")
    module._registry.cache_clear()
    module._validator.cache_clear()
    try:
        with pytest.raises(AssertionError, match="OpenLineage JSON Schemas are missing"):
            module.event_errors({"eventTime": "x"})
    finally:
        monkeypatch.undo()
        module._registry.cache_clear()
        module._validator.cache_clear()
