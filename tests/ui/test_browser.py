"""The portal in headless Chromium (Debian's, driven by Playwright): every page loads, search,
follow lineage by clicking, press Materialize and see the run, and the XSS corpus never runs.
Screenshots go to test-artifacts/portal/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask

TOKEN = "test-token-0123456789abcdef"  # the token conftest configures
XSS_KEY_PART = "<img src=x onerror=window.__xss=1>"  # as in conftest.xss_specs

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "portal"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def live(live_portal: tuple[str, Flask, Any]) -> tuple[str, Flask, Any]:
    return live_portal


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make system-deps installs it)")
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("path", "name", "expect"),
    [
        ("/", "overview", "Overview"),
        ("/assets", "catalog", "Catalog"),
        ("/assets/shop/orders", "asset", "shop/orders"),
        ("/lineage?focus=shop/orders&depth=2", "lineage", "Lineage"),
        ("/runs", "runs", "Runs"),
    ],
)
def test_each_page_loads(
    live: tuple[str, Flask, Any], page: object, path: str, name: str, expect: str
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))  # type: ignore[attr-defined]
    response = page.goto(live[0] + path)  # type: ignore[attr-defined]
    assert response.status == 200
    assert expect in page.locator("h1").first.inner_text()  # type: ignore[attr-defined]
    shot(page, name)
    assert errors == []


def test_search_from_the_header(live: tuple[str, Flask, Any], page: object) -> None:
    page.goto(live[0] + "/")  # type: ignore[attr-defined]
    page.fill("header input[name=q]", "weekly")  # type: ignore[attr-defined]
    page.press("header input[name=q]", "Enter")  # type: ignore[attr-defined]
    page.wait_for_url(lambda url: url.endswith("/assets?q=weekly"))  # type: ignore[attr-defined]
    rows = page.locator("#catalog tbody tr")  # type: ignore[attr-defined]
    assert rows.count() == 1 and "looker/sales_dashboard" in rows.first.inner_text()
    page.fill("input[name=select]", "group:marts and system:dbt")  # type: ignore[attr-defined]
    page.fill("#catalog-form input[name=q]", "")  # type: ignore[attr-defined]
    page.click("#catalog-form button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(lambda url: "select=group%3Amarts" in url)  # type: ignore[attr-defined]
    assert page.locator("#catalog tbody tr").count() == 2  # type: ignore[attr-defined]
    shot(page, "catalog-selection")


def test_follow_lineage_by_clicking(live: tuple[str, Flask, Any], page: object) -> None:
    page.goto(live[0] + "/assets/shop/stg_orders")  # type: ignore[attr-defined]
    page.click("#lineage-link")  # type: ignore[attr-defined]
    page.wait_for_selector("#lineage-graph")  # type: ignore[attr-defined]
    shot(page, "lineage-stg-orders")
    page.click('#lineage-graph a[data-key="shop/orders"]')  # type: ignore[attr-defined]
    page.wait_for_url("**/assets/shop/orders")  # type: ignore[attr-defined]
    page.click('#downstream a:has-text("looker/sales_dashboard")')  # type: ignore[attr-defined]
    page.wait_for_url("**/assets/looker/sales_dashboard")  # type: ignore[attr-defined]
    assert "looker/sales_dashboard" in page.locator("h1").inner_text()  # type: ignore[attr-defined]


def test_materialize_and_see_the_run(live: tuple[str, Flask, Any], page: object) -> None:
    base, app, launcher = live
    page.goto(base + "/assets/shop/stg_orders")  # type: ignore[attr-defined]
    page.fill("#materialize input[name=token]", TOKEN)  # type: ignore[attr-defined]
    page.click("#materialize-button")  # type: ignore[attr-defined]
    page.wait_for_url(lambda url: "/runs" in url)  # type: ignore[attr-defined]
    app.extensions["lockgate"].drain()
    page.reload()  # type: ignore[attr-defined]
    run = page.locator("tr.run", has_text="lockgate").first  # type: ignore[attr-defined]
    assert "shop/stg_orders" in run.inner_text() and "succeeded" in run.inner_text()
    assert any(str(k) == "shop/stg_orders" for r in launcher.requests for k in r.assets)
    shot(page, "runs-after-materialize")


XSS_PAGES = [
    "/",
    "/assets",
    "/assets?system=evil",
    "/assets/evil/" + quote(XSS_KEY_PART, safe=""),
    "/assets/evil/" + quote("quote\"'`<b>", safe=""),
    "/lineage?select=system:evil",
    "/runs",
]


def test_the_xss_corpus_never_executes(live: tuple[str, Flask, Any], page: object) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)  # type: ignore[attr-defined]
    for path in XSS_PAGES:
        page.goto(live[0] + path)  # type: ignore[attr-defined]
        page.wait_for_load_state("load")  # type: ignore[attr-defined]
        for link in page.locator("#description a, dd a").all():  # type: ignore[attr-defined]
            href = link.get_attribute("href") or ""
            assert not href.lower().strip().startswith("javascript")
        assert page.evaluate("() => window.__xss === undefined") is True  # type: ignore[attr-defined]
    shot(page, "xss-asset")
    assert dialogs == []
