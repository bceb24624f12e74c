"""The emit hook (federation/lineage_out.py) and the receiver's store side under concurrency."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from lockgate.federation import lineage_out
from lockgate.federation.adapter import Discovery
from lockgate.federation.openlineage.receive import Receiver
from lockgate.federation.store import Store


def fill(store: Store, kit: Any) -> None:
    for adapter in ("dbt", "airflow"):
        store.write_sync(
            adapter=adapter,
            kind=adapter,
            started_at=datetime.now(UTC),
            discovery=Discovery(assets=tuple(s for s in kit.make_specs() if s.origin.adapter == adapter)),
            observed=None,
        )


def test_emission_is_off_unless_configured(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert not lineage_out.enabled({}, {})
    assert lineage_out.enabled({"transport": {"type": "console"}}, {})
    assert lineage_out.enabled({}, {"OPENLINEAGE_URL": "http://x"})
    assert lineage_out.enabled({}, {"OPENLINEAGE__TRANSPORT__TYPE": "console"})
    assert not lineage_out.enabled({"transport": {"type": "console"}, "disabled": True}, {})
    assert not lineage_out.enabled({}, {"OPENLINEAGE_URL": "http://x", "OPENLINEAGE_DISABLED": "true"})
    (tmp_path / "openlineage.yml").write_text("transport: {type: console}\n")
    assert lineage_out.enabled({}, {})


def test_a_failing_transport_parks_and_the_next_publish_retries_in_order(kit: Any, tmp_path: Any) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'lg.db'}") as store:
        fill(store, kit)
        client = kit.Collector()
        client.fail = ConnectionError("connection refused")
        got = lineage_out.publish(store, kit.dbt_events(), client=client)
        assert got is not None and got.sent == 0 and got.parked > 0
        assert store.openlineage_outbox().pending == got.parked
        assert "connection refused" in (store.openlineage_outbox().last_error or "")
        # still down: new events queue behind the parked ones, nothing is sent out of order
        again = lineage_out.publish(store, kit.airflow_events(), client=client)
        assert again is not None and again.parked > got.parked and client.events == []
        client.fail = None
        done = lineage_out.publish(store, [], client=client)
        assert done is not None and done.sent == again.parked and done.parked == 0
        assert store.openlineage_outbox().pending == 0
        assert kit.assert_valid(client.events) == done.sent
        assert [e["eventType"] for e in client.events[:2]] == ["START", "START"]  # oldest first
        # a broken configuration never raises into the run
        bad = lineage_out.publish(store, kit.dbt_events(), {"transport": {"type": "no-such"}})
        assert bad is not None and bad.error


def test_concurrent_receivers_lose_no_new_asset(kit: Any, store_url: str) -> None:
    workers = 4
    stores = [Store.open(store_url) for _ in range(workers)]
    try:
        fill(stores[0], kit)
        receivers = [Receiver(s) for s in stores]
        errors: list[BaseException] = []

        def send(i: int) -> None:
            doc = {
                "eventType": "COMPLETE",
                "eventTime": f"2025-01-01T00:00:0{i}Z",
                "producer": "https://example.invalid/p",
                "run": {"runId": f"01a1fc68-bb14-713c-ab77-00000000000{i}"},
                "job": {"namespace": "spark", "name": f"job{i}"},
                "inputs": [{"namespace": kit.DUCK, "name": "shop.main.orders"}],
                "outputs": [{"namespace": "s3://lake", "name": f"out/{i}"}],
            }
            kit.assert_valid(
                [{**doc, "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"}]
            )
            try:
                receivers[i].receive([doc])
            except BaseException as err:  # collected and asserted below
                errors.append(err)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        keys = {str(s.key) for s in stores[0].asset_specs() if s.origin.system == "openlineage"}
        assert keys == {f"openlineage/s3:lake/out/{i}" for i in range(workers)}
    finally:
        for s in stores:
            s.close()
