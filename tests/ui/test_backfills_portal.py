"""The Backfills page and ``/api/v1/backfills``: progress per backfill, never served stale by the
response cache, and cancel/resume buttons behind the write token and CSRF."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from lockgate.federation.automation.records import RunQueueState
from lockgate.federation.store import Store
from tests.ui.test_partitions_portal import DAILY, day, setup

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def start(client: FlaskClient, token: str) -> str:
    """Queue a backfill of three partitions through the form; returns its id."""
    html = client.get(f"/assets/{DAILY}").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    form = {"selection": str(DAILY), "from": day(10), "to": day(12), "csrf_token": match.group(1)}
    response = client.post("/backfill", data={**form, "token": token})
    assert response.status_code == 302
    found = re.search(r"backfill=(bf-[0-9a-f]+)&queued=3", response.location)
    assert found and response.location.startswith("/backfills?")
    page = client.get(response.location).get_data(as_text=True)
    assert "queued 3 run(s)" in page and found.group(1) in page
    return found.group(1)


def row(html: str, backfill: str) -> dict[str, int]:
    match = re.search(rf'<tr class="backfill" data-backfill="{backfill}">(.*?)</tr>', html, re.S)
    assert match
    cells = dict(re.findall(r'<td class="(\w+)">(\d+)</td>', match.group(1)))
    return {k: int(v) for k, v in cells.items()}


def test_the_page_and_the_api_show_progress_without_stale_cache(
    client: FlaskClient, add_assets: Any, store: Store, token: str
) -> None:
    setup(add_assets, store)
    backfill = start(client, token)
    assert 'href="/backfills"' in client.get("/").get_data(as_text=True)
    first = client.get("/backfills").get_data(as_text=True)
    assert row(first, backfill) == {
        "requested": 3, "queued": 3, "launched": 0, "succeeded": 0, "failed": 0, "cancelled": 0
    }  # fmt: skip
    assert client.get("/api/v1/backfills").get_json()["items"][0]["queued"] == 3
    runs = store.run_queue()
    store.update_queued_run(runs[0].id, now=NOW, state=RunQueueState.RUNNING)
    store.update_queued_run(runs[1].id, now=NOW, state=RunQueueState.FAILED, message="boom")
    html = client.get("/backfills").get_data(as_text=True)
    assert row(html, backfill) == {
        "requested": 3, "queued": 1, "launched": 1, "succeeded": 0, "failed": 1, "cancelled": 0
    }  # fmt: skip
    doc = client.get(f"/api/v1/backfills/{backfill}").get_json()
    assert doc["id"] == backfill and doc["total"] == 3 and doc["launched"] == 1 and doc["failed"] == 1
    assert doc["done"] is False and doc["failures"] == [
        {"partition": runs[1].request.partition, "message": "boom"}
    ]
    listed = client.get("/api/v1/backfills").get_json()
    assert listed["total_entries"] == 1 and listed["items"][0]["failed"] == 1


def test_an_unknown_backfill_is_404_and_bad_paging_400(client: FlaskClient) -> None:
    response = client.get("/api/v1/backfills/bf-nope")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert "bf-nope" in response.get_json()["detail"]
    assert client.get("/api/v1/backfills?limit=0").status_code == 400
    assert "No backfills yet" in client.get("/backfills").get_data(as_text=True)


def test_cancel_and_resume_need_the_token_and_csrf(
    client: FlaskClient, add_assets: Any, store: Store, token: str
) -> None:
    setup(add_assets, store)
    backfill = start(client, token)
    html = client.get("/backfills").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert csrf and 'class="cancel-button"' in html and 'class="resume-button"' not in html
    form = {"csrf_token": csrf.group(1)}
    cancel = f"/backfills/{backfill}/cancel"
    assert client.post(cancel, data={**form, "csrf_token": "stale", "token": token}).status_code == 403
    assert client.post(cancel, data=form).status_code == 401
    assert client.post(cancel, data={**form, "token": "wrong"}).status_code == 403
    assert client.post("/backfills/bf-nope/cancel", data={**form, "token": token}).status_code == 404
    assert {r.state for r in store.run_queue()} == {RunQueueState.QUEUED}
    response = client.post(cancel, data={**form, "token": token})
    assert response.status_code == 302
    assert {r.state for r in store.run_queue()} == {RunQueueState.CANCELLED}
    html = client.get(response.location).get_data(as_text=True)
    assert "cancelled 3 request(s)" in html and row(html, backfill)["cancelled"] == 3
    assert 'class="resume-button"' in html and 'class="cancel-button"' not in html
    response = client.post(f"/backfills/{backfill}/resume", data={**form, "token": token})
    assert response.status_code == 302
    assert {r.state for r in store.run_queue()} == {RunQueueState.QUEUED}
    assert row(client.get("/backfills").get_data(as_text=True), backfill)["queued"] == 3


def test_buttons_are_refused_when_writes_are_disabled(
    make_portal: Any, add_assets: Any, store: Store
) -> None:
    setup(add_assets, store)
    store.enqueue_runs([], now=NOW)
    app: Flask = make_portal(token=None)
    client = app.test_client()
    with client.session_transaction() as session:
        csrf = session["csrf"] = "a-valid-csrf-token"
    response = client.post("/backfills/bf-x/cancel", data={"csrf_token": csrf, "token": "x"})
    assert response.status_code == 403 and "writes are disabled" in response.get_data(as_text=True)
