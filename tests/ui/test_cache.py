"""The response cache: hits while the store is unchanged, misses after any change, ETag/304, and
never at the expense of auth (token-only reads, per-credential keys) or sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lockgate.federation.events import Materialization, RunFailed
from lockgate.federation.keys import AssetKey
from lockgate.federation.specs import AssetSpec
from lockgate.federation.store import Store
from lockgate.ui.cache import ResponseCache
from tests.ui.conftest import NOW, MakePortal, dbt

CACHED = (
    "/assets?offset=0",
    "/assets/shop/orders",
    "/api/v1/assets?limit=5",
    "/api/v1/assets/shop/orders",
    "/api/v1/lineage?nodeId=asset:shop/orders&depth=2",
)
TOKEN = "test-token-0123456789abcdef"


@pytest.fixture
def reader(make_portal: MakePortal) -> FlaskClient:
    """A portal with no write token: pages mint no session, so they are shared and cached."""
    app: Flask = make_portal(token=None)
    return app.test_client()


def test_a_repeated_get_is_served_from_the_cache_with_the_same_body(reader: FlaskClient) -> None:
    client = reader
    for url in CACHED:
        first = client.get(url)
        again = client.get(url)
        assert first.status_code == again.status_code == 200, url
        assert first.headers["X-Lockgate-Cache"] == "miss" and again.headers["X-Lockgate-Cache"] == "hit"
        assert first.data == again.data and first.mimetype == again.mimetype
        assert first.headers["ETag"] == again.headers["ETag"]
        assert again.headers["Content-Security-Policy"]  # security headers on hits too


def test_if_none_match_gets_a_304_and_a_stale_etag_gets_the_body(reader: FlaskClient) -> None:
    client = reader
    first = client.get("/api/v1/lineage?nodeId=asset:shop/orders&depth=2")
    etag = first.headers["ETag"]
    not_modified = client.get(
        "/api/v1/lineage?nodeId=asset:shop/orders&depth=2", headers={"If-None-Match": etag}
    )
    assert not_modified.status_code == 304 and not_modified.data == b""
    assert not_modified.headers["ETag"] == etag
    other = client.get("/api/v1/lineage?nodeId=asset:shop/orders&depth=2", headers={"If-None-Match": '"x"'})
    assert other.status_code == 200 and other.data == first.data


def test_a_new_event_invalidates_every_cached_response(reader: FlaskClient, store: Store) -> None:
    client = reader
    before = client.get("/assets/shop/orders")
    assert client.get("/assets/shop/orders").headers["X-Lockgate-Cache"] == "hit"
    store.record_events(
        [
            RunFailed(
                event_id="late-failure",
                adapter="shop",
                timestamp=NOW + timedelta(minutes=1),
                asset_key=AssetKey.parse("shop/orders"),
                run_id="inv-9",
                message="a brand new failure after the page was cached",
            )
        ]
    )
    after = client.get("/assets/shop/orders")
    assert after.headers["X-Lockgate-Cache"] == "miss"
    assert b"a brand new failure after the page was cached" in after.data
    assert after.headers["ETag"] != before.headers["ETag"]
    api = client.get("/api/v1/assets/shop/orders").get_json()
    assert api["status"] == "failed"


def test_a_sync_with_new_assets_invalidates_the_catalog(reader: FlaskClient, add_assets: object) -> None:
    client = reader
    first = client.get("/api/v1/assets?limit=100").get_json()
    spec = AssetSpec(key=AssetKey.parse("shop/brand_new"), origin=dbt("brand_new"))
    add_assets([spec])  # type: ignore[operator]
    again = client.get("/api/v1/assets?limit=100").get_json()
    assert "shop/brand_new" not in {a["key"] for a in first["items"]}
    assert "shop/brand_new" in {a["key"] for a in again["items"]}


def test_materializations_change_the_generation(store: Store) -> None:
    before = store.generation()
    assert store.generation() == before
    store.record_events(
        [
            Materialization(
                event_id="gen-m1",
                adapter="shop",
                timestamp=NOW,
                asset_key=AssetKey.parse("shop/orders"),
            )
        ]
    )
    assert store.generation() != before


def test_reads_that_need_a_token_are_refused_even_when_cached(make_portal: MakePortal) -> None:
    app: Flask = make_portal(read_requires_token=True)
    client = app.test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for url in CACHED:
        assert client.get(url, headers=auth).status_code == 200, url
        assert client.get(url, headers=auth).headers["X-Lockgate-Cache"] == "hit"
        refused = client.get(url)
        assert refused.status_code == 401, url
        assert b"shop/orders" not in refused.data or url.startswith("/assets")  # the login form's next
        wrong = client.get(url, headers={"Authorization": "Bearer wrong"})
        assert wrong.status_code in (401, 403), url


def test_credentials_are_part_of_the_key(make_portal: MakePortal) -> None:
    app: Flask = make_portal()
    client = app.test_client()
    client.get("/api/v1/assets?limit=2")
    other = client.get("/api/v1/assets?limit=2", headers={"Authorization": f"Bearer {TOKEN}"})
    assert other.headers["X-Lockgate-Cache"] == "miss"


def test_a_page_that_opens_a_session_is_not_cached(client: FlaskClient) -> None:
    # writes are enabled here, so the asset page mints a CSRF token into a new session
    first = client.get("/assets/shop/orders")
    assert "Set-Cookie" in first.headers and "X-Lockgate-Cache" not in first.headers
    fresh = client.application.test_client()
    assert "Set-Cookie" in fresh.get("/assets/shop/orders").headers  # never a shared session
    # the same browser again: its cookie is part of the key, its CSRF token stays its own
    again = client.get("/assets/shop/orders")
    assert again.headers["X-Lockgate-Cache"] == "miss"
    assert client.get("/assets/shop/orders").headers["X-Lockgate-Cache"] == "hit"
    with client.session_transaction() as session:
        assert session["csrf"] in client.get("/assets/shop/orders").get_data(as_text=True)


def test_the_cache_can_be_turned_off(make_portal: MakePortal) -> None:
    app: Flask = make_portal(response_cache=0)
    client = app.test_client()
    for _ in range(2):
        response = client.get("/api/v1/assets?limit=2")
        assert response.status_code == 200 and "X-Lockgate-Cache" not in response.headers


def test_the_cache_is_bounded_lru() -> None:
    from lockgate.ui.cache import Entry

    cache = ResponseCache(2)
    entry = Entry(tag=("g",), body=b"x", content_type="text/plain", etag="e")
    for path in ("a", "b", "c"):
        cache.put(("GET", path), entry)
    assert len(cache) == 2
    assert cache.get(("GET", "a"), ("g",)) is None
    assert cache.get(("GET", "c"), ("g",)) is entry
    assert cache.get(("GET", "c"), ("other",)) is None  # a stale tag is a miss
    assert (cache.hits, cache.misses) == (1, 2)


def test_asset_links_are_what_url_for_builds(app: Flask) -> None:
    from flask import url_for

    from lockgate.ui.render import asset_href, asset_path

    keys = ["shop/orders", "a b/c%d", "x/<script>\"'", "x/é?#&", "x/a;b=c", "javascript:alert(1)/x"]
    with app.test_request_context("/", base_url="http://localhost/portal/"):
        for text in keys:
            assert asset_href(text) == url_for("pages.asset", key=asset_path(text)), text
            assert asset_href(text).startswith("/portal/assets/")
