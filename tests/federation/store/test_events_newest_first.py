"""Store.events(newest_first=True, before_id=...): the newest events first, paging backward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lockgate.federation.events import EventKind, Materialization, Observation
from lockgate.federation.keys import AssetKey
from lockgate.federation.store import Store

A, B = AssetKey.of("a"), AssetKey.of("b")
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def test_newest_first_pages_backward(store_url: str) -> None:
    store = Store.open(store_url)
    try:
        store.record_events(
            [
                (Materialization if i % 3 else Observation)(
                    event_id=f"e{i}",
                    adapter="x",
                    timestamp=T0 + timedelta(hours=i),
                    asset_key=A if i % 2 else B,
                )
                for i in range(20)
            ]
        )
        forward = store.events(asset_key=A, limit=100)
        newest = store.events(asset_key=A, newest_first=True, limit=4)
        assert [e.event_id for _, e in newest] == [e.event_id for _, e in reversed(forward)][:4]
        older = store.events(asset_key=A, newest_first=True, limit=4, before_id=newest[-1][0])
        assert [i for i, _ in older] == [i for i, _ in reversed(forward)][4:8]
        kinds = store.events(asset_key=A, kinds=[EventKind.MATERIALIZATION], newest_first=True, limit=2)
        assert [e.event_id for _, e in kinds] == ["e19", "e17"]
        assert [i for i, _ in store.events(limit=3)] == sorted(
            i for i, _ in store.events(limit=3)
        )  # unchanged
    finally:
        store.close()
