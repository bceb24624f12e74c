"""The partition health bar, the automation explanation and the backfill form on the asset page,
and the partitions API resource."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from lockgate.federation.automation import missing
from lockgate.federation.automation.records import RunQueueState
from lockgate.federation.automation.tick import Automation
from lockgate.federation.events import Materialization
from lockgate.federation.keys import AssetKey
from lockgate.federation.partitions.status import refresh_partition_status
from lockgate.federation.specs import AssetSpec, Origin
from lockgate.federation.store import Store
from lockgate.federation.sync import build_graph

DAILY = AssetKey.of("parts", "daily")
HOURLY = AssetKey.of("parts", "hourly")
LOOSE = AssetKey.of("parts", "loose")
ORIGIN = Origin(system="dbt", adapter="shop", external_id="x")


def partitioned(key: AssetKey, partitions: dict[str, Any] | None) -> AssetSpec:
    meta: dict[str, Any] = {"lockgate": {"partitions": partitions}} if partitions else {}
    return AssetSpec(key=key, origin=ORIGIN, metadata=meta)


def day(n: int) -> str:
    return (date(2024, 1, 1) + timedelta(days=n)).isoformat()


def setup(add_assets: Callable[[Sequence[AssetSpec]], None], store: Store) -> None:
    add_assets(
        [
            partitioned(DAILY, {"type": "daily", "start": "2024-01-01", "end": "2025-01-01"}),
            partitioned(HOURLY, {"type": "hourly", "start": "2020-01-01", "end": "2025-01-01"}),
            partitioned(LOOSE, None),
        ]
    )
    store.write_partition_ranges(
        {
            DAILY: {"materialized": [(day(0), day(90)), (day(92), day(364))], "failed": [(day(91), day(91))]},
            LOOSE: {"materialized": [("a", "c"), ("e", "f")], "failed": [("d", "d")]},
        }
    )


def rects(html: str) -> list[str]:
    return re.findall(r'<rect [^>]*data-status="(\w+)"', html)


def test_the_bar_draws_ranges_with_counts(client: FlaskClient, add_assets: Any, store: Store) -> None:
    setup(add_assets, store)
    html = client.get(f"/assets/{DAILY}").get_data(as_text=True)
    assert 'id="partition-bar"' in html and "Partitions (366)" in html
    assert sorted(rects(html)) == ["failed", "materialized", "materialized", "missing"]
    assert "materialized 364" in html and "failed 1" in html and "missing 1" in html
    assert 'id="backfill-button"' in html


def test_a_partitioned_asset_with_40k_partitions_is_drawn_by_range(
    client: FlaskClient, add_assets: Any, store: Store
) -> None:
    setup(add_assets, store)
    hours = [f"{(date(2020, 1, 1) + timedelta(days=d)).isoformat()}-00:00" for d in range(0, 1800, 9)]
    ranges = [(hours[i], hours[i + 1].replace("-00:00", "-05:00")) for i in range(0, len(hours) - 1, 2)]
    store.write_partition_ranges({HOURLY: {"materialized": ranges}})
    client.get(f"/assets/{HOURLY}")
    started = time.perf_counter()
    html = client.get(f"/assets/{HOURLY}").get_data(as_text=True)
    elapsed = time.perf_counter() - started
    assert "Partitions (43848)" in html
    drawn = rects(html)
    assert drawn.count("materialized") == len(ranges) and len(drawn) <= 2 * len(ranges) + 1
    assert elapsed < 1.0, elapsed


def test_without_a_definition_the_ranges_are_shown_in_key_order(
    client: FlaskClient, add_assets: Any, store: Store
) -> None:
    setup(add_assets, store)
    html = client.get(f"/assets/{LOOSE}").get_data(as_text=True)
    assert rects(html) == ["materialized", "failed", "materialized"]
    assert "definition is not known" in html


def test_unpartitioned_assets_have_no_bar(client: FlaskClient, add_assets: Any, store: Store) -> None:
    setup(add_assets, store)
    body = client.get("/api/v1/assets/parts/loose/partitions").get_json()
    assert body["partitions"] is None and body["total_entries"] == 3
    first = next(iter(build_graph(store).toposort()))
    if first not in (DAILY, HOURLY, LOOSE):
        assert 'id="partition-bar"' not in client.get(f"/assets/{first}").get_data(as_text=True)
        assert client.get(f"/api/v1/assets/{first}/partitions").get_json()["items"] == []


def test_the_api_returns_ranges_and_counts(client: FlaskClient, add_assets: Any, store: Store) -> None:
    setup(add_assets, store)
    body = client.get(f"/api/v1/assets/{DAILY}/partitions").get_json()
    assert body["partitions"] == 366
    assert body["counts"] == {"materialized": 364, "stale": 0, "failed": 1, "in_progress": 0, "missing": 1}
    assert body["items"] == [
        {"status": "materialized", "first": day(0), "last": day(90), "count": 91},
        {"status": "failed", "first": day(91), "last": day(91), "count": 1},
        {"status": "materialized", "first": day(92), "last": day(364), "count": 273},
        {"status": "missing", "first": day(365), "last": day(365), "count": 1},
    ]
    page = client.get(f"/api/v1/assets/{DAILY}/partitions?limit=1&offset=1").get_json()
    assert page["total_entries"] == 4 and [i["status"] for i in page["items"]] == ["failed"]
    assert client.get("/api/v1/assets/nope/partitions").status_code == 404
    assert client.get(f"/api/v1/assets/{DAILY}/partitions?limit=-1").status_code == 400


def test_the_explanation_of_the_last_ticks(client: FlaskClient, add_assets: Any, store: Store) -> None:
    setup(add_assets, store)
    assert 'id="no-evaluations"' in client.get(f"/assets/{LOOSE}").get_data(as_text=True)
    graph = build_graph(store)
    Automation(graph, store, {LOOSE: missing()}, holder="t").tick(datetime(2025, 6, 1, tzinfo=UTC), full=True)
    html = client.get(f"/assets/{LOOSE}").get_data(as_text=True)
    assert "Tick 1" in html and "missing()" in html and "1/1 true" in html and "requested" in html


def csrf_of(client: FlaskClient, key: AssetKey) -> str:
    match = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get(f"/assets/{key}").get_data(as_text=True)
    )
    assert match
    return match.group(1)


def test_backfill_queues_runs_like_the_cli(
    client: FlaskClient, add_assets: Any, store: Store, token: str
) -> None:
    setup(add_assets, store)
    csrf = csrf_of(client, DAILY)
    form = {"selection": str(DAILY), "from": day(10), "to": day(12), "csrf_token": csrf}
    assert client.post("/backfill", data={**form, "csrf_token": "stale"}).status_code == 403
    assert client.post("/backfill", data=form).status_code == 401
    assert client.post("/backfill", data={**form, "token": "wrong"}).status_code == 403
    assert client.post("/backfill", data={**form, "token": token, "from": ""}).status_code == 400
    assert client.post("/backfill", data={**form, "token": token, "from": day(20)}).status_code == 400
    assert client.post("/backfill", data={**form, "token": token, "selection": str(LOOSE)}).status_code == 404
    assert store.run_queue() == []
    response = client.post("/backfill", data={**form, "token": token})
    assert response.status_code == 302 and response.location.startswith("/backfills?backfill=bf-")
    queued = store.run_queue([RunQueueState.QUEUED])
    assert sorted(q.request.partition or "" for q in queued) == [day(10), day(11), day(12)]
    assert {q.request.tags["lockgate/backfill"] for q in queued} == {
        response.location.split("=")[1].split("&")[0]
    }
    assert "queued 3 run(s)" in client.get(response.location).get_data(as_text=True)


def test_backfill_is_refused_when_writes_are_disabled(
    make_portal: Any, add_assets: Any, store: Store
) -> None:
    setup(add_assets, store)
    app: Flask = make_portal(token=None)
    client = app.test_client()
    html = client.get(f"/assets/{DAILY}").get_data(as_text=True)
    assert 'id="backfill-button"' not in html
    with client.session_transaction() as session:  # the page mints no session when nothing can be written
        assert "csrf" not in session
        csrf = session["csrf"] = "a-valid-csrf-token"
    form = {"selection": str(DAILY), "from": day(1), "to": day(2), "csrf_token": csrf, "token": "x"}
    response = client.post("/backfill", data=form)
    assert response.status_code == 403 and "writes are disabled" in response.get_data(as_text=True)
    assert store.run_queue() == []


def test_stale_partitions_show_on_the_bar_and_in_the_api(
    client: FlaskClient, add_assets: Any, store: Store
) -> None:
    setup(add_assets, store)
    store.write_partition_ranges(
        {
            DAILY: {
                "materialized": [(day(0), day(9))],
                "stale": [(day(2), day(4))],
                "failed": [(day(4), day(4))],
            }
        }
    )
    html = client.get(f"/assets/{DAILY}").get_data(as_text=True)
    assert sorted(rects(html)) == ["failed", "materialized", "materialized", "missing", "stale"]
    assert "stale 2" in html and "materialized 7" in html  # one status per partition: failed > stale
    assert (
        'aria-label="partition health: 7 materialized, 2 stale, 1 failed, 0 in progress, 356 missing"' in html
    )
    assert 'class="part part-stale"' in html
    assert client.get(f"/api/v1/assets/{DAILY}").get_json()["stale"] is True  # a stale partition
    body = client.get(f"/api/v1/assets/{DAILY}/partitions").get_json()
    assert body["counts"] == {"materialized": 7, "stale": 2, "failed": 1, "in_progress": 0, "missing": 356}
    assert body["items"][:4] == [
        {"status": "materialized", "first": day(0), "last": day(1), "count": 2},
        {"status": "stale", "first": day(2), "last": day(3), "count": 2},
        {"status": "failed", "first": day(4), "last": day(4), "count": 1},
        {"status": "materialized", "first": day(5), "last": day(9), "count": 5},
    ]
    with client.get("/static/portal.css") as response:
        assert ".part-stale" in response.get_data(as_text=True)


def test_a_stale_unpartitioned_asset_is_marked_on_its_page_and_in_the_api(
    client: FlaskClient, add_assets: Any, store: Store
) -> None:
    up, down = AssetKey.of("plain", "up"), AssetKey.of("plain", "down")
    add_assets([AssetSpec(key=up, origin=ORIGIN), AssetSpec(key=down, origin=ORIGIN, deps=(up,))])
    now = datetime.now(UTC)
    store.record_events(
        [
            Materialization(event_id="m-down", adapter="shop", timestamp=now, asset_key=down),
            Materialization(
                event_id="m-up", adapter="shop", timestamp=now + timedelta(seconds=1), asset_key=up
            ),
        ]
    )
    refresh_partition_status(store, build_graph(store), {}, now=now)
    page = client.get(f"/assets/{down}").get_data(as_text=True)
    assert 'id="asset-stale"' in page and 'id="partition-bar"' not in page
    assert client.get(f"/api/v1/assets/{down}").get_json()["stale"] is True
    assert 'id="asset-stale"' not in client.get(f"/assets/{up}").get_data(as_text=True)
    assert client.get(f"/api/v1/assets/{up}").get_json()["stale"] is False
    listed = client.get("/api/v1/assets", query_string={"q": "plain/"}).get_json()["items"]
    assert {item["key"]: item["stale"] for item in listed} == {str(up): False, str(down): True}
    catalog = client.get("/assets", query_string={"q": "plain/"}).get_data(as_text=True)
    row_of = {str(k): row for row in catalog.split("<tr>")[1:] for k in (up, down) if f">{k}</a>" in row}
    assert ">stale</span>" in row_of[str(down)] and ">stale</span>" not in row_of[str(up)]
    store.record_events(
        [
            Materialization(
                event_id="m-down-2", adapter="shop", timestamp=now + timedelta(seconds=2), asset_key=down
            )
        ]
    )
    refresh_partition_status(store, build_graph(store), {}, now=now)
    assert client.get(f"/api/v1/assets/{down}").get_json()["stale"] is False
    assert ">stale</span>" not in client.get("/assets", query_string={"q": "plain/"}).get_data(as_text=True)
