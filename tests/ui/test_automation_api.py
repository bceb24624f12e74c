"""``/api/v1/assets/<key>/automation``: read the effective condition and its source, attach one
(PUT, write token), remove it (DELETE), and every error path as problem+json."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from lockgate.federation.keys import AssetKey
from lockgate.federation.specs import AssetSpec, Origin
from lockgate.federation.store import Store
from tests.ui.conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}
META = AssetKey.of("auto", "meta")
PLAIN = AssetKey.of("auto", "plain")
URL = f"/api/v1/assets/{META}/automation"


def _specs() -> list[AssetSpec]:
    origin = Origin(system="dbt", adapter="shop", external_id="x")
    return [
        AssetSpec(key=META, origin=origin, metadata={"lockgate": {"automation": "on_missing()"}}),
        AssetSpec(key=PLAIN, origin=origin),
    ]


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status and response.mimetype == "application/problem+json"
    doc: dict[str, Any] = response.get_json()
    return doc


def test_get_put_delete_and_the_source(client: FlaskClient, add_assets: Any, store: Store) -> None:
    add_assets(_specs())
    assert client.get(URL).get_json() == {
        "asset": str(META),
        "condition": "on_missing()",
        "source": "dbt_meta",
        "where": "dbt meta.lockgate.automation",
    }
    none = client.get(f"/api/v1/assets/{PLAIN}/automation").get_json()
    assert none["condition"] is None and none["source"] is None
    put = client.put(URL, json={"condition": "eager() & ~in_progress()"}, headers=AUTH)
    assert put.status_code == 200
    assert put.get_json()["source"] == "api" and put.get_json()["condition"] == "eager() & ~in_progress()"
    assert store.api_conditions() == {META: "eager() & ~in_progress()"}
    assert client.get(URL).get_json()["source"] == "api"  # not a stale cached answer
    deleted = client.delete(URL, headers=AUTH)
    assert deleted.status_code == 200 and deleted.get_json()["source"] == "dbt_meta"
    assert store.api_conditions() == {}


def test_every_error_path(client: FlaskClient, add_assets: Any, store: Store) -> None:
    add_assets(_specs())
    _problem(client.put(URL, json={"condition": "eager()"}), 401)
    _problem(client.put(URL, json={"condition": "eager()"}, headers={"Authorization": "Bearer no"}), 403)
    _problem(client.delete(URL), 401)
    bad = _problem(client.put(URL, json={"condition": "eager() & nope()"}, headers=AUTH), 400)
    assert bad["title"] == "Bad condition" and bad["column"] == 11 and bad["expression"] == "eager() & nope()"
    assert "nope" in bad["detail"]
    assert "condition" in _problem(client.put(URL, json={}, headers=AUTH), 400)["errors"]
    _problem(client.put(URL, json={"condition": ""}, headers=AUTH), 400)
    _problem(client.put(URL, data="eager()", headers=AUTH), 400)
    _problem(
        client.put("/api/v1/assets/no/such/automation", json={"condition": "eager()"}, headers=AUTH), 404
    )
    _problem(client.get("/api/v1/assets/no/such/automation"), 404)
    _problem(client.delete("/api/v1/assets/no/such/automation", headers=AUTH), 404)
    assert "nothing to remove" in _problem(client.delete(URL, headers=AUTH), 404)["detail"]
    assert store.api_conditions() == {}


def test_writes_disabled(make_portal: Any, add_assets: Any, store: Store) -> None:
    add_assets(_specs())
    app: Flask = make_portal(token=None)
    response = app.test_client().put(URL, json={"condition": "eager()"}, headers=AUTH)
    assert "writes are disabled" in _problem(response, 403)["detail"]


def test_the_openapi_document_lists_the_new_paths(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert set(paths["/api/v1/assets/{key}/automation"]) >= {"get", "put", "delete"}
    assert "get" in paths["/api/v1/backfills"] and "get" in paths["/api/v1/backfills/{backfill}"]
