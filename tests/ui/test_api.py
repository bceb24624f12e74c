"""The JSON API: every resource, the collection envelope, and each error path as problem+json."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lockgate.federation.store import Store
from lockgate.ui.data import PortalData

TOKEN = "test-token-0123456789abcdef"  # the token conftest configures
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.data
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json(force=True)
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"].startswith("https://")
    return body


def test_asset_list_is_a_paginated_collection(client: FlaskClient) -> None:
    body = client.get("/api/v1/assets?limit=3&offset=0").get_json()
    assert body["total_entries"] == 9
    assert [a["key"] for a in body["items"]] == sorted(a["key"] for a in body["items"])
    assert len(body["items"]) == 3
    rest = client.get("/api/v1/assets?limit=100&offset=3").get_json()
    assert len(rest["items"]) == 6
    assert not {a["key"] for a in body["items"]} & {a["key"] for a in rest["items"]}


def test_asset_list_filters_by_selection_search_and_facets(client: FlaskClient) -> None:
    upstream = client.get("/api/v1/assets", query_string={"select": "+shop/orders"}).get_json()
    assert {a["key"] for a in upstream["items"]} == {
        "shop/orders",
        "shop/stg_orders",
        "shop/stg_customers",
        "shop/raw_orders",
        "shop/raw_customers",
    }
    marts = client.get("/api/v1/assets", query_string={"select": "group:marts and system:dbt"}).get_json()
    assert {a["key"] for a in marts["items"]} == {"shop/orders", "shop/customers"}
    assert client.get("/api/v1/assets?q=weekly").get_json()["items"][0]["key"] == "looker/sales_dashboard"
    assert client.get("/api/v1/assets?owner=team-bi").get_json()["total_entries"] == 1
    assert client.get("/api/v1/assets?tag=pii").get_json()["items"][0]["key"] == "shop/orders"
    failed = client.get("/api/v1/assets?status=failed").get_json()
    assert [a["key"] for a in failed["items"]] == ["shop/customers"]
    assert client.get("/api/v1/assets?system=looker&group=dashboards").get_json()["total_entries"] == 1


def test_bad_selection_is_a_400_pointing_at_the_column(client: FlaskClient) -> None:
    body = problem(client.get("/api/v1/assets", query_string={"select": "group:marts and (orders"}), 400)
    assert body["expression"] == "group:marts and (orders"
    assert isinstance(body["column"], int) and 1 <= body["column"] <= len(body["expression"]) + 1
    assert "column" in body["detail"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "limit"), ("limit=abc", "limit"), ("offset=-1", "offset"), ("status=bogus", "status")],
)
def test_bad_paging_and_filters_are_400s_naming_the_field(
    client: FlaskClient, query: str, field: str
) -> None:
    body = problem(client.get(f"/api/v1/assets?{query}"), 400)
    assert field in body["errors"]


def test_one_asset(client: FlaskClient) -> None:
    body = client.get("/api/v1/assets/shop/orders").get_json()
    assert body["key"] == "shop/orders"
    assert body["owners"] == ["team-data", "alice@example.com"]
    assert body["dataset"] == {"namespace": "duckdb:///shop.duckdb", "name": "main.orders"}
    assert body["columns"][0] == {
        "name": "order_id",
        "description": "Primary key",
        "data_type": "integer",
        "tags": [],
    }
    assert body["upstream"] == ["shop/stg_customers", "shop/stg_orders"]
    assert body["downstream"] == ["looker/sales_dashboard"]
    assert body["status"] == "materialized" and body["last_materialization"].startswith("2025-05-31")
    assert body["code_version"] == "sha256:abc123" and body["metadata"] == {
        "materialized": "table",
        "rows": 42,
    }


def test_unknown_asset_is_a_404(client: FlaskClient) -> None:
    for path in (
        "/api/v1/assets/shop/nope",
        "/api/v1/assets/shop/nope/checks",
        "/api/v1/assets/shop/nope/materializations",
        "/api/v1/assets/shop/nope/partitions",
    ):
        assert "shop/nope" in problem(client.get(path), 404)["detail"]


def test_checks_with_latest_results(client: FlaskClient) -> None:
    body = client.get("/api/v1/assets/shop/customers/checks").get_json()
    assert body["total_entries"] == 1
    check = body["items"][0]
    assert check["name"] == "unique_customer_id"
    assert check["status"] == "failed" and check["failures"] == 3 and check["message"] == "3 duplicate ids"
    assert client.get("/api/v1/assets/shop/stg_orders/checks").get_json() == {"items": [], "total_entries": 0}


def test_materializations_newest_first_and_paginated(client: FlaskClient) -> None:
    body = client.get("/api/v1/assets/shop/orders/materializations?limit=2").get_json()
    assert body["total_entries"] == 5
    stamps = [m["timestamp"] for m in body["items"]]
    assert stamps == sorted(stamps, reverse=True) and len(stamps) == 2
    assert body["items"][0]["run_id"] == "inv-4" and body["items"][0]["kind"] == "materialization"


def test_an_unpartitioned_asset_has_no_partition_ranges(client: FlaskClient) -> None:
    # partitioned assets: tests/ui/test_partitions_portal.py
    body = client.get("/api/v1/assets/shop/orders/partitions").get_json()
    assert body == {"items": [], "total_entries": 0, "partitions": None, "counts": {}}


def test_adapters_and_their_sync_state(client: FlaskClient) -> None:
    body = client.get("/api/v1/adapters").get_json()
    assert [a["adapter"] for a in body["items"]] == ["bi", "evil", "shop"]
    shop = body["items"][2]
    assert shop["kind"] == "dbt" and shop["assets"] == 6 and shop["error"] is None


def test_lineage_has_marquez_shape(client: FlaskClient) -> None:
    body = client.get("/api/v1/lineage?nodeId=asset:shop/orders&depth=1").get_json()
    ids = {node["id"] for node in body["graph"]}
    assert ids == {
        "asset:shop/orders",
        "asset:shop/stg_orders",
        "asset:shop/stg_customers",
        "asset:looker/sales_dashboard",
    }
    orders = next(n for n in body["graph"] if n["id"] == "asset:shop/orders")
    assert orders["type"] == "DATASET"
    assert orders["data"]["namespace"] == "duckdb:///shop.duckdb" and orders["data"]["name"] == "main.orders"
    assert {e["origin"] for e in orders["inEdges"]} == {"asset:shop/stg_orders", "asset:shop/stg_customers"}
    assert orders["outEdges"] == [
        {"origin": "asset:shop/orders", "destination": "asset:looker/sales_dashboard"}
    ]
    whole = client.get("/api/v1/lineage?nodeId=asset:shop/orders&depth=5").get_json()
    assert len(whole["graph"]) == 6  # customers is a sibling, neither up- nor downstream


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("nodeId=shop/orders", 400),
        ("", 400),
        ("nodeId=asset:shop/orders&depth=-1", 400),
        ("nodeId=asset:shop/orders&depth=99", 400),
        ("nodeId=asset:shop/nope", 404),
        ("nodeId=asset:", 400),
    ],
)
def test_lineage_errors(client: FlaskClient, query: str, status: int) -> None:
    problem(client.get(f"/api/v1/lineage?{query}"), status)


def test_launch_needs_a_token(client: FlaskClient, launcher: Any) -> None:
    body = problem(client.post("/api/v1/runs", json={"selection": "shop/orders"}), 401)
    assert "LOCKGATE_TOKEN" in body["detail"]
    assert client.post("/api/v1/runs", json={"selection": "shop/orders"}).headers["WWW-Authenticate"]
    problem(
        client.post(
            "/api/v1/runs", json={"selection": "shop/orders"}, headers={"Authorization": "Bearer nope"}
        ),
        403,
    )
    problem(
        client.post("/api/v1/runs", json={"selection": "shop/orders"}, headers={"Authorization": "Basic x"}),
        401,
    )
    assert launcher.requests == []


def test_launch_runs_through_the_owning_adapter(app: Flask, client: FlaskClient, launcher: Any) -> None:
    response = client.post("/api/v1/runs", json={"selection": "shop/orders+0"}, headers=AUTH)
    assert response.status_code == 202, response.data
    ticket = response.get_json()["items"][0]
    assert ticket["adapter"] == "shop" and ticket["assets"] == ["shop/orders"]
    app.extensions["lockgate"].drain()
    assert [r.assets for r in launcher.requests] == [(launcher.requests[0].assets[0],)]
    assert launcher.requests[0].idempotency_key == ticket["run_id"]
    runs = client.get("/api/v1/runs").get_json()
    run = next(r for r in runs["items"] if r["run_id"] == ticket["run_id"])
    assert run["launched"] and run["status"] == "succeeded" and run["origin_run_id"] == "origin-1"
    assert run["assets"] == ["shop/orders"]
    materialized = client.get("/api/v1/assets/shop/orders/materializations?limit=1").get_json()
    assert materialized["items"][0]["run_id"] == "origin-1"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"selection": "shop/raw_orders"}, 409),
        ({"selection": "shop/nope"}, 404),
        ({"selection": "or or"}, 400),
        ({}, 400),
        ({"selection": ""}, 400),
        ({"selection": "looker/sales_dashboard"}, 409),
    ],
)
def test_launch_errors(client: FlaskClient, body: dict[str, Any], status: int) -> None:
    problem(client.post("/api/v1/runs", json=body, headers=AUTH), status)


def test_launch_with_a_non_json_body_is_a_400(client: FlaskClient) -> None:
    problem(client.post("/api/v1/runs", data="selection=x", headers=AUTH), 400)


def test_writes_are_refused_when_no_token_is_configured(make_portal: Callable[..., Flask]) -> None:
    app = make_portal(token=None)
    body = problem(
        app.test_client().post("/api/v1/runs", json={"selection": "shop/orders"}, headers=AUTH), 403
    )
    assert "LOCKGATE_TOKEN is not set" in body["detail"]


def test_reads_can_require_the_token(make_portal: Callable[..., Flask]) -> None:
    app = make_portal(read_requires_token=True)
    client = app.test_client()
    problem(client.get("/api/v1/assets"), 401)
    problem(client.get("/api/v1/assets", headers={"Authorization": "Bearer wrong"}), 403)
    assert client.get("/api/v1/assets", headers=AUTH).status_code == 200
    assert client.get("/", follow_redirects=False).status_code == 401


def test_unknown_route_is_problem_json(client: FlaskClient) -> None:
    problem(client.get("/api/v1/nothing-here"), 404)
    problem(client.delete("/api/v1/assets"), 405)


def test_openapi_document_describes_every_resource(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {
        "/api/v1/assets",
        "/api/v1/assets/{key}",
        "/api/v1/assets/{key}/checks",
        "/api/v1/assets/{key}/materializations",
        "/api/v1/assets/{key}/partitions",
        "/api/v1/runs",
        "/api/v1/adapters",
        "/api/v1/lineage",
        "/api/v1/lineage/batch",
        "/api/v1/assets/{key}/automation",
        "/api/v1/backfills",
        "/api/v1/backfills/{backfill}",
    }
    params = {p["name"] for p in doc["paths"]["/api/v1/assets"]["get"]["parameters"]}
    assert {"select", "q", "system", "group", "owner", "tag", "status", "limit", "offset"} <= params
    assert "Asset" in doc["components"]["schemas"] and "Problem" in doc["components"]["schemas"]


def test_graph_reloads_when_the_sync_state_changes(app: Flask, client: FlaskClient, store: Store) -> None:
    from datetime import UTC, datetime

    from lockgate.federation.adapter import Discovery, ObserveResult

    assert client.get("/api/v1/assets?system=looker").get_json()["total_entries"] == 1
    data: PortalData = app.extensions["lockgate"]
    before = data.snapshot()
    assert data.snapshot() is before  # cached while nothing changes
    store.write_sync(
        adapter="bi",
        kind="looker",
        started_at=datetime.now(UTC),
        discovery=Discovery(assets=()),
        observed=ObserveResult(events=(), cursor="2"),
    )
    assert client.get("/api/v1/assets?system=looker").get_json()["total_entries"] == 0
