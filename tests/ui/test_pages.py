"""The HTML pages: each renders from the store, the catalog keeps its state in the URL, the
lineage explorer draws and refuses, and the Materialize form needs the token and CSRF token."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from lockgate.federation.events import CheckEvaluated
from lockgate.federation.keys import AssetKey
from lockgate.federation.specs import AssetSpec, CheckStatus, Origin
from lockgate.ui.data import PortalData

TOKEN = "test-token-0123456789abcdef"  # the token conftest configures
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)  # conftest's clock


def text(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.data[:500]
    return response.get_data(as_text=True)


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


def test_overview_counts_failures_and_syncs(client: FlaskClient) -> None:
    html = text(client, "/")
    assert '<p class="big">9</p>' in html
    assert "unique_customer_id" in html and "3 duplicate ids" in html  # failing check
    assert "Database Error in model customers" in html  # recent failure
    assert "looker/sales_dashboard" in html  # never materialized: missing
    assert "Not materialized for 2 days (" in html  # not "stale": that word means upstream changed
    for adapter in ("shop", "bi", "evil"):
        assert f"<td>{adapter}</td>" in html


def test_catalog_search_filters_and_pagination_live_in_the_url(client: FlaskClient) -> None:
    html = text(client, "/assets?q=weekly")
    assert "looker/sales_dashboard" in html and "shop/orders" not in html
    html = text(client, "/assets?select=group:marts+and+system:dbt")
    assert "shop/orders" in html and "shop/customers" in html and "shop/stg_orders" not in html
    assert "1\u20132 of 2 assets" in html
    html = text(client, "/assets?tag=pii&owner=team-data")
    assert "1\u20131 of 1 assets" in html
    page1 = text(client, "/assets?limit=5&system=dbt")
    assert "1\u20135 of 6 assets" in page1
    assert 'href="?system=dbt&amp;limit=5&amp;offset=5"' in page1  # next page keeps every filter
    page2 = text(client, "/assets?system=dbt&limit=5&offset=5")
    assert "6\u20136 of 6 assets" in page2 and 'rel="prev"' in page2


def test_catalog_bad_selection_shows_the_column(client: FlaskClient) -> None:
    html = text(client, "/assets?select=group:marts+and+(", 400)
    assert "Bad selection" in html and "at column" in html


def test_catalog_survives_bad_numbers(client: FlaskClient) -> None:
    assert "of 9 assets" in text(client, "/assets?limit=abc&offset=-4")


def test_asset_page_shows_everything(client: FlaskClient) -> None:
    html = text(client, "/assets/shop/orders")
    assert "<strong>order</strong>" in html  # markdown rendered
    assert 'href="https://docs.getdbt.com/"' in html
    for expected in (
        "team-data",
        "alice@example.com",
        "pii",
        "order_id",
        "Primary key",
        "main.orders",
        "duckdb:///shop.duckdb",
        "sha256:abc123",
        "not_null_order_id",
        "shop/stg_orders",
        "looker/sales_dashboard",
        "materialized",
    ):
        assert expected in html, expected
    assert 'id="origin-link" href="http://127.0.0.1:8080/#!/model/model.shop.orders"' in html
    assert html.count('class="tick kind-materialization"') == 5
    assert 'name="csrf_token"' in html and 'id="materialize-button"' in html


def test_asset_page_timeline_and_check_history_are_read_apart(app: Flask, client: FlaskClient) -> None:
    """Many newer check results neither push materializations off the timeline nor show more
    than ten history dots per check."""
    orders = AssetKey.of("shop", "orders")
    store = app.extensions["lockgate"].store
    later = NOW + timedelta(hours=1)
    store.record_events(
        [
            CheckEvaluated(
                event_id=f"later-{i}",
                adapter="shop",
                timestamp=later + timedelta(seconds=i),
                asset_key=orders,
                check_name="not_null_order_id",
                status=CheckStatus.FAILED if i % 2 else CheckStatus.PASSED,
            )
            for i in range(300)
        ]
    )
    html = text(client, "/assets/shop/orders")
    assert html.count('class="tick kind-materialization"') == 5
    history = re.search(r'<td class="history">(.*?)</td>', html)
    assert history and history.group(1).count('class="dot status-') == 10
    assert history.group(1).startswith('<span class="dot status-failed"')  # newest first (i=299)


def test_asset_page_without_checks_has_no_history(client: FlaskClient) -> None:
    html = text(client, "/assets/shop/stg_orders")
    assert "No checks." in html and 'class="history"' not in html
    assert html.count('class="tick kind-materialization"') == 5


def test_catalog_facets_mark_the_chosen_value(client: FlaskClient) -> None:
    html = text(client, "/assets?group=marts&owner=team-data")
    assert '<option value="marts" selected>marts (2)</option>' in html
    assert '<option value="staging">staging (2)</option>' in html
    assert '<option value="team-data" selected>team-data (4)</option>' in html
    assert html.count(" selected>") == 2
    assert '<option value="&#34;&#39;&gt;&lt;img' in html  # the XSS group, escaped


def test_external_assets_cannot_be_materialized(client: FlaskClient) -> None:
    html = text(client, "/assets/shop/raw_orders")
    assert "observed, never launched" in html and 'id="materialize-button"' not in html


def test_unknown_asset_page_is_a_404(client: FlaskClient) -> None:
    assert "shop/nope" in text(client, "/assets/shop/nope", 404)


def test_lineage_explorer_draws_a_focus_and_a_selection(client: FlaskClient) -> None:
    html = text(client, "/lineage?focus=shop/orders&depth=1")
    assert html.count("data-key=") == 4 and 'class="node focus"' in html
    assert 'href="/assets/looker/sales_dashboard"' in html
    assert html.count("<path d=") == 3
    html = text(client, "/lineage?select=%2Bshop/customers")
    assert html.count("data-key=") == 5


def test_lineage_explorer_refuses_more_than_the_limit(
    add_assets: Callable[[list[AssetSpec]], None], make_portal: Callable[..., Flask]
) -> None:
    chain = [
        AssetSpec(
            key=AssetKey.of("big", f"n{i:04d}"),
            origin=Origin(system="dbt", adapter="big", external_id=str(i)),
            deps=(AssetKey.of("big", f"n{i - 1:04d}"),) if i else (),
        )
        for i in range(60)
    ]
    add_assets(chain)
    app = make_portal(max_lineage_nodes=50)
    html = text(app.test_client(), "/lineage?select=system:dbt")
    assert "draws at most 50" in html and "Narrow it" in html and "<svg" not in html
    assert text(app.test_client(), "/lineage?select=big/n0001%2B5").count("data-key=") == 6


def test_lineage_explorer_bad_input(client: FlaskClient) -> None:
    assert "Bad selection" in text(client, "/lineage?select=(orders", 400)
    assert "shop/nope" in text(client, "/lineage?focus=shop/nope", 404)


def test_runs_page_lists_observed_runs(client: FlaskClient) -> None:
    html = text(client, "/runs")
    assert "inv-4" in html and "Database Error in model customers" in html


def test_materialize_needs_csrf_and_token(app: Flask, client: FlaskClient, launcher: Any) -> None:
    page = text(client, "/assets/shop/orders")
    token = csrf(page)
    no_csrf = client.post("/materialize", data={"selection": "shop/orders", "token": TOKEN})
    assert no_csrf.status_code == 403 and "CSRF" in no_csrf.get_data(as_text=True)
    no_token = client.post("/materialize", data={"selection": "shop/orders", "csrf_token": token})
    assert no_token.status_code == 401
    wrong = client.post("/materialize", data={"selection": "shop/orders", "csrf_token": token, "token": "x"})
    assert wrong.status_code == 403
    assert launcher.requests == []
    ok = client.post("/materialize", data={"selection": "shop/orders", "csrf_token": token, "token": TOKEN})
    assert ok.status_code == 302 and ok.headers["Location"].startswith("/runs")
    data: PortalData = app.extensions["lockgate"]
    data.drain()
    assert [str(k) for r in launcher.requests for k in r.assets] == ["shop/orders"]
    assert 'class="tag">lockgate</span>' in text(client, "/runs")


def test_runs_page_materializes_a_typed_selection(app: Flask, client: FlaskClient, launcher: Any) -> None:
    page = text(client, "/runs")
    assert 'id="materialize-selection-form"' in page
    bad = client.post(
        "/materialize", data={"selection": "shop/orders and", "csrf_token": csrf(page), "token": TOKEN}
    )
    assert bad.status_code == 400 and "column" in bad.get_data(as_text=True)
    assert launcher.requests == []
    ok = client.post(
        "/materialize", data={"selection": "key:shop/ord*", "csrf_token": csrf(page), "token": TOKEN}
    )
    assert ok.status_code == 302 and ok.headers["Location"].startswith("/runs")
    data: PortalData = app.extensions["lockgate"]
    data.drain()
    assert [str(k) for r in launcher.requests for k in r.assets] == ["shop/orders"]


def test_runs_page_explains_why_writes_are_disabled(make_portal: Callable[..., Flask]) -> None:
    html = text(make_portal(token=None).test_client(), "/runs")
    assert "LOCKGATE_TOKEN is not set" in html and 'id="materialize-selection-form"' not in html


def test_materialize_with_writes_disabled_explains_why(make_portal: Callable[..., Flask]) -> None:
    app = make_portal(token=None)
    html = text(app.test_client(), "/assets/shop/orders")
    assert "writes are disabled because the environment variable LOCKGATE_TOKEN is not set" in html
    assert 'id="materialize-button"' not in html


def test_sign_in_opens_reads_when_they_need_the_token(make_portal: Callable[..., Flask]) -> None:
    app = make_portal(read_requires_token=True)
    client = app.test_client()
    login = client.get("/login")
    assert login.status_code == 200
    assert client.get("/assets").status_code == 401
    bad = client.post("/login", data={"csrf_token": csrf(login.get_data(as_text=True)), "token": "nope"})
    assert bad.status_code == 403
    ok = client.post(
        "/login", data={"csrf_token": csrf(login.get_data(as_text=True)), "token": TOKEN, "next": "//evil"}
    )
    assert ok.status_code == 302 and ok.headers["Location"] == "/"
    assert client.get("/assets").status_code == 200


def test_security_headers(client: FlaskClient) -> None:
    response = client.get("/")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_secrets_never_appear(client: FlaskClient) -> None:
    for url in ("/", "/assets", "/assets/shop/orders", "/runs", "/lineage?focus=shop/orders"):
        assert TOKEN not in text(client, url)
    assert TOKEN not in client.get("/api/v1/openapi.json").get_data(as_text=True)
