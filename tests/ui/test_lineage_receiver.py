"""The OpenLineage receiver over HTTP: status codes, problems, auth, dedupe, order, stitching."""

from __future__ import annotations

import copy
import gzip
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient

from lockgate.federation.events import EventKind
from lockgate.federation.keys import AssetKey, DatasetRef
from lockgate.federation.status import AssetStatus
from lockgate.federation.store import Store

RUN = "01a1fc68-bb14-713c-ab77-993b92b1d85b"
RUN2 = "01a1fc68-bb14-713c-ab77-993b92b1d85c"
SHOP = "duckdb:///shop.duckdb"
LAKE = AssetKey.of("openlineage", "s3:lake", "exports", "orders")
SCHEMA_URL = "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"


def _schema() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "openlineage_schema.py"
    spec = importlib.util.spec_from_file_location("lockgate_tests_openlineage_schema_ui", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCHEMA = _schema()


def event(event_type: str, time: str, *, run: str = RUN, outputs: bool = True) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "eventType": event_type,
        "eventTime": time,
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/integration/spark",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run, "facets": {}},
        "job": {"namespace": "spark", "name": "nightly.export_orders", "facets": {}},
        "inputs": [{"namespace": SHOP, "name": "main.orders", "facets": {}}],
        "outputs": [],
    }
    if outputs:
        doc["outputs"] = [
            {
                "namespace": "s3://lake",
                "name": "exports/orders",
                "facets": {
                    "schema": {
                        "_producer": "https://example.invalid/p",
                        "_schemaURL": SCHEMA_URL,
                        "fields": [{"name": "order_id", "type": "long"}],
                    }
                },
            }
        ]
    SCHEMA.assert_valid([doc])
    return doc


def post(client: FlaskClient, token: str, body: Any, path: str = "/api/v1/lineage", **kw: Any) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **kw}
    return client.post(path, data=data, headers=headers)


def test_an_event_is_201_and_unknown_datasets_stitch_to_known_ones(
    client: FlaskClient, token: str, store: Store
) -> None:
    response = post(client, token, event("START", "2025-06-02T01:00:00Z"))
    assert response.status_code == 201 and response.data == b""
    asset = client.get(f"/api/v1/assets/{LAKE}").get_json()
    assert asset["dataset"] == {"namespace": "s3://lake", "name": "exports/orders"} or asset["external"]
    spec = next(s for s in store.asset_specs() if s.key == LAKE)
    assert spec.dataset == DatasetRef(namespace="s3://lake", name="exports/orders")
    assert spec.deps == (AssetKey.of("shop", "orders"),) and spec.external
    assert store.asset_states([LAKE])[LAKE].status is AssetStatus.IN_PROGRESS
    lineage = client.get("/api/v1/lineage", query_string={"nodeId": str(LAKE), "depth": 1}).get_json()
    assert "shop/orders" in json.dumps(lineage)


def test_complete_before_start_and_duplicates_end_materialized(
    client: FlaskClient, token: str, store: Store
) -> None:
    done = event("COMPLETE", "2025-06-02T01:05:00Z")
    assert post(client, token, done).status_code == 201
    assert post(client, token, done).status_code == 201  # a duplicate
    assert post(client, token, event("START", "2025-06-02T01:00:00Z")).status_code == 201
    state = store.asset_states([LAKE])[LAKE]
    assert state.status is AssetStatus.MATERIALIZED and state.last_run_id == RUN
    mats = store.events(asset_key=LAKE, kinds=[EventKind.MATERIALIZATION])
    assert len(mats) == 1  # the duplicate recorded nothing
    assert len(store.events(run_id=RUN, limit=1000)) == 3  # RunStarted, Materialization, RunSucceeded


@pytest.mark.parametrize("complete_first", [False, True])
def test_outputs_named_only_by_start_are_materialized_by_a_later_complete(
    client: FlaskClient, token: str, store: Store, complete_first: bool
) -> None:
    start = event("START", "2025-06-02T01:00:00Z", run=RUN2)
    done = event("COMPLETE", "2025-06-02T01:05:00Z", run=RUN2, outputs=False)
    for doc in [done, start] if complete_first else [start, done]:
        assert post(client, token, doc).status_code == 201
    state = store.asset_states([LAKE])[LAKE]
    assert state.status is AssetStatus.MATERIALIZED
    assert state.last_materialization is not None and state.last_materialization.minute == 5


def test_jobs_writing_a_known_dataset_attach_to_its_asset(
    client: FlaskClient, token: str, store: Store
) -> None:
    doc = event("COMPLETE", "2025-06-02T02:00:00Z")
    doc["inputs"] = []
    doc["outputs"] = [{"namespace": SHOP, "name": "main.orders"}]
    before = len(store.asset_specs())
    assert post(client, token, doc).status_code == 201
    assert len(store.asset_specs()) == before  # no twin
    (mat,) = [
        e for _, e in store.events(asset_key=AssetKey.of("shop", "orders"), run_id=RUN, limit=10)
        if e.kind is EventKind.MATERIALIZATION
    ]  # fmt: skip
    assert mat.metadata["openlineage_job"] == "spark/nightly.export_orders"


def test_batches_are_201_with_a_summary_and_gzip_works(client: FlaskClient, token: str, store: Store) -> None:
    docs = [event("START", "2025-06-02T01:00:00Z"), event("COMPLETE", "2025-06-02T01:05:00Z")]
    body = gzip.compress(json.dumps(docs).encode())
    response = post(client, token, body, "/api/v1/lineage/batch", **{"Content-Encoding": "gzip"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["summary"]["received"] == 2
    assert store.asset_states([LAKE])[LAKE].status is AssetStatus.MATERIALIZED


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/api/v1/lineage", {"eventTime": "yesterday"}, "$.eventTime: required, an RFC 3339 date-time"),
        ("/api/v1/lineage", [], "send arrays to /api/v1/lineage/batch"),
        ("/api/v1/lineage/batch", {"events": []}, "a batch must be a JSON array"),
    ],
)
def test_invalid_envelopes_are_422_problems(
    client: FlaskClient, token: str, path: str, body: Any, message: str
) -> None:
    response = post(client, token, body, path)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert message in problem["detail"] and problem["problems"]


def test_an_invalid_batch_records_nothing_and_names_each_bad_event(
    client: FlaskClient, token: str, store: Store
) -> None:
    good = event("START", "2025-06-02T01:00:00Z")
    bad = copy.deepcopy(good)
    bad["run"] = {}
    bad["eventType"] = "DONE"
    response = post(client, token, [good, bad], "/api/v1/lineage/batch")
    assert response.status_code == 422
    errors = response.get_json()["problems"]
    assert "$[1].run.runId: required, a UUID string" in errors
    assert any(e.startswith("$[1].eventType: 'DONE' is not one of") for e in errors)
    assert LAKE not in {s.key for s in store.asset_specs()}
    assert store.events(run_id=RUN) == []


def test_bad_json_auth_and_disabled_writes(client: FlaskClient, token: str, make_portal: Any) -> None:
    assert post(client, token, b"{not json").status_code == 400
    assert post(client, token, b"\x1f\x8b-broken", **{"Content-Encoding": "gzip"}).status_code == 400
    doc = event("START", "2025-06-02T01:00:00Z")
    assert client.post("/api/v1/lineage", json=doc).status_code == 401
    assert post(client, "wrong-token", doc).status_code == 403
    closed = make_portal(token=None).test_client()
    response = post(closed, token, doc)
    assert response.status_code == 403 and "writes are disabled" in response.get_json()["detail"]


def test_the_endpoints_are_in_the_openapi_document(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "post" in paths["/api/v1/lineage"] and "post" in paths["/api/v1/lineage/batch"]
    assert "422" in paths["/api/v1/lineage/batch"]["post"]["responses"]


def test_the_fast_path_answers_like_flask_and_leaves_the_rest_to_it(
    app: Flask, token: str, store: Store
) -> None:
    """A valid single event is recorded in front of Flask (no Flask request is made) with the
    answer Flask gives; everything else still reaches Flask."""
    reached: list[str] = []

    @app.before_request
    def _seen() -> None:
        reached.append(request.path)

    client = app.test_client()
    fast = post(client, token, event("START", "2025-06-02T01:00:00Z"))  # creates the asset
    assert reached == []
    assert client.get(f"/api/v1/assets/{LAKE}").status_code == 200  # the portal's cache was dropped
    reached.clear()
    slow = post(
        client, token, event("START", "2025-06-02T02:00:00Z", run=RUN2), **{"Content-Encoding": "identity"}
    )
    assert reached == ["/api/v1/lineage"]
    assert (fast.status_code, fast.data) == (slow.status_code, slow.data) == (201, b"")
    assert sorted(fast.headers.items()) == sorted(slow.headers.items())
    assert store.asset_states([LAKE])[LAKE].last_run_id == RUN2
    reached.clear()
    assert post(client, "wrong-token", event("COMPLETE", "2025-06-02T03:00:00Z")).status_code == 403
    assert (
        post(client, token, {**event("COMPLETE", "2025-06-02T03:00:00Z"), "eventTime": 3}).status_code == 422
    )
    assert post(client, token, b"{not json").status_code == 400
    assert post(client, token, [event("COMPLETE", "2025-06-02T03:00:00Z")]).status_code == 422
    assert reached == ["/api/v1/lineage"] * 4
    assert store.asset_states([LAKE])[LAKE].status is AssetStatus.IN_PROGRESS  # none of them recorded
