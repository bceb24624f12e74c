"""The one writer of stored partition status: refresh_partition_status, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lockgate.federation.automation import on_missing
from lockgate.federation.automation.tick import Automation
from lockgate.federation.errors import StoreError
from lockgate.federation.events import Event, Materialization, RunFailed
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.partitions import PartitionsDefinition, daily, status
from lockgate.federation.partitions.status import (
    ASSET_STALE,
    DEFINITION,
    definition_digest,
    refresh_partition_status,
    stale_assets,
)
from lockgate.federation.specs import AssetSpec, Origin
from lockgate.federation.store import Store

NOW = datetime(2024, 1, 11, tzinfo=UTC)
UP, DOWN, LAST = AssetKey.of("up"), AssetKey.of("down"), AssetKey.of("last")
DAILY = daily("2024-01-01")
PARTS: dict[AssetKey, PartitionsDefinition] = {UP: DAILY, DOWN: DAILY, LAST: DAILY}


def _spec(key: AssetKey, *deps: AssetKey) -> AssetSpec:
    return AssetSpec(key=key, origin=Origin(system="t", adapter="t", external_id=str(key)), deps=deps)


GRAPH = AssetGraph.build([_spec(UP), _spec(DOWN, UP), _spec(LAST, DOWN)])


class Clock:
    def __init__(self) -> None:
        self.n = 0

    def mat(self, key: AssetKey, *days: int, failed: bool = False) -> list[Event]:
        out: list[Event] = []
        for day in days:
            self.n += 1
            common: dict[str, Any] = {
                "event_id": f"e{self.n}",
                "adapter": "t",
                "timestamp": NOW - timedelta(hours=100 - self.n),
                "asset_key": key,
                "partition": f"2024-01-{day:02d}",
            }
            out.append(RunFailed(**common) if failed else Materialization(**common))
        return out


def refresh(store: Store, **kwargs: Any) -> Any:
    return refresh_partition_status(store, GRAPH, kwargs.pop("partitions", PARTS), now=NOW, **kwargs)


def stored(store: Store, keys: Iterable[AssetKey] = (UP, DOWN, LAST)) -> dict[AssetKey, Mapping[str, Any]]:
    found = store.partition_ranges(keys)
    return {k: {s: v for s, v in by.items() if s != DEFINITION} for k, by in found.items()}


def test_refresh_round_trip_with_stale(store_url: str) -> None:
    clock = Clock()
    with Store.open(store_url) as store:
        store.record_events(clock.mat(UP, 1, 2, 3) + clock.mat(DOWN, 1, 2, 3) + clock.mat(UP, 2, 3))
        done = refresh(store)
        assert done.cursor == store.max_event_id() == store.partition_status_cursor()
        assert done.events == 8 and done.written == (DOWN, LAST, UP)  # the first one writes every asset
        ranges = stored(store)
        assert ranges[UP] == {"materialized": [("2024-01-01", "2024-01-03")]}
        assert ranges[DOWN] == {
            "materialized": [("2024-01-01", "2024-01-03")],
            "stale": [("2024-01-02", "2024-01-03")],
        }
        marker = definition_digest(DAILY)
        assert store.partition_ranges([LAST])[LAST] == {DEFINITION: [(marker, marker)]}
        again = refresh(store)
        assert again.events == 0 and again.written == ()
        store.record_events(clock.mat(DOWN, 3) + clock.mat(DOWN, 5, failed=True))
        third = refresh(store)
        assert third.written == (DOWN,) and third.events == 2
        assert stored(store)[DOWN] == {
            "materialized": [("2024-01-01", "2024-01-03")],
            "stale": [("2024-01-02", "2024-01-02")],
            "failed": [("2024-01-05", "2024-01-05")],
        }
        assert store.partition_ranges([DOWN])[DOWN][DEFINITION] == [(marker, marker)]  # kept
        assert stale_assets(store) == {DOWN} == stale_assets(store, [UP, DOWN])  # one stale partition
        assert stale_assets(store, [UP, LAST]) == set() == stale_assets(store, [])


def test_the_first_refresh_folds_the_whole_log_in_pages(store_url: str) -> None:
    clock = Clock()
    history = clock.mat(UP, *range(1, 8)) + clock.mat(DOWN, *range(1, 8)) + clock.mat(UP, 4, 6)
    with Store.open(store_url) as one:
        one.record_events(history)
        paged = refresh(one, page=3)
        assert paged.events == len(history) and paged.cursor == one.max_event_id()
        assert stored(one)[DOWN]["stale"] == [("2024-01-04", "2024-01-04"), ("2024-01-06", "2024-01-06")]


def test_incremental_refreshes_equal_one_fold_from_scratch(store_url: str) -> None:
    clock = Clock()
    batches = [
        clock.mat(UP, 1, 2, 3, 4),
        clock.mat(DOWN, 1, 2, 3, 4) + clock.mat(LAST, 1, 2, 3, 4),
        clock.mat(UP, 2) + clock.mat(DOWN, 2, 9, failed=True),
        clock.mat(DOWN, 3) + clock.mat(UP, 4),
        clock.mat(LAST, 2) + clock.mat(UP, 1),
    ]
    with Store.open(store_url) as store:
        for batch in batches:
            store.record_events(batch)
            refresh(store, page=2)
        incremental = stored(store)
        assert incremental[LAST]["stale"] == [("2024-01-03", "2024-01-03")]
        store.rebuild_derived()  # forgets the folded status: the next refresh folds the log again
        assert store.partition_status_cursor() is None and store.partition_ranges() == {}
        refresh(store)
        assert stored(store) == incremental


class Racing(Store):
    """A store whose first compare-and-set loses: another refresher commits just before it."""

    other: Store | None = None
    late: list[Event] = []
    raced = 0

    def write_partition_status(self, ranges: Any, *, expected: int | None, cursor: int) -> bool:
        if self.other is not None and not self.raced:
            self.raced += 1
            self.other.record_events(self.late)
            refresh(self.other)
        return super().write_partition_status(ranges, expected=expected, cursor=cursor)


def test_two_refreshers_converge_and_never_regress(store_url: str) -> None:
    clock = Clock()
    with Racing.open(store_url) as racing, Store.open(store_url) as other:
        assert isinstance(racing, Racing)
        racing.record_events(clock.mat(UP, 1, 2) + clock.mat(DOWN, 1, 2))
        racing.other, racing.late = other, clock.mat(UP, 1) + clock.mat(DOWN, 5)
        done = refresh(racing)
        assert done.attempts == 2 and racing.raced == 1
        assert done.cursor == other.max_event_id() == racing.partition_status_cursor()
        converged = stored(racing)
        assert converged[DOWN] == {
            "materialized": [("2024-01-01", "2024-01-02"), ("2024-01-05", "2024-01-05")],
            "stale": [("2024-01-01", "2024-01-01")],
        }
        racing.rebuild_derived()
        refresh(racing)
        assert stored(racing) == converged


def test_the_tick_and_sync_share_one_writer(store_url: str) -> None:
    clock = Clock()
    with Store.open(store_url) as daemon_store, Store.open(store_url) as sync_store:
        daemon = Automation(GRAPH, daemon_store, {DOWN: on_missing()}, partitions=PARTS, holder="d")
        daemon_store.record_events(clock.mat(UP, 1, 2, 3) + clock.mat(DOWN, 1, 2))
        daemon.tick(NOW)  # cold: refreshes before it loads
        assert daemon.refreshed is not None and daemon.refreshed.cursor == daemon_store.max_event_id()
        sync_store.record_events(clock.mat(UP, 2))
        refresh(sync_store)  # `lockgate sync` in another process
        sync_store.record_events(clock.mat(DOWN, 3) + clock.mat(UP, 1))
        daemon.tick(NOW + timedelta(minutes=1))
        assert daemon.world is not None
        live = daemon.world.facts[DOWN]
        assert list(live.stale) == [0, 1] and list(live.materialized) == [0, 1, 2]
        ticked = stored(daemon_store)
        assert ticked[DOWN]["stale"] == [("2024-01-01", "2024-01-02")]
        sync_store.rebuild_derived()
        refresh(sync_store)
        assert stored(sync_store) == ticked


def test_the_compare_and_set_refuses_a_moved_cursor(store_url: str) -> None:
    ranges = {UP: {"materialized": [("2024-01-01", "2024-01-01")]}}
    with Store.open(store_url) as store:
        assert store.write_partition_status(ranges, expected=None, cursor=5)
        assert not store.write_partition_status({UP: {}}, expected=None, cursor=6)
        assert not store.write_partition_status({UP: {}}, expected=4, cursor=6)
        assert store.partition_status_cursor() == 5 and store.partition_ranges([UP])[UP] == ranges[UP]
        assert store.write_partition_status(
            {UP: {"failed": [("2024-01-02", "2024-01-02")]}}, expected=5, cursor=7
        )
        assert store.partition_ranges([UP]) == {UP: {"failed": [("2024-01-02", "2024-01-02")]}}


def test_a_new_definition_folds_the_assets_history(store_url: str) -> None:
    clock = Clock()
    with Store.open(store_url) as store:
        store.record_events(clock.mat(DOWN, 1, 2) + clock.mat(UP, 2))
        refresh(store, partitions={UP: DAILY})
        # unpartitioned then, DOWN (materialized, then UP updated) holds only its stale flag
        assert store.partition_ranges([DOWN]) == {DOWN: {ASSET_STALE: [("", "")]}}
        unchecked = refresh(store)  # the tick's incremental refresh does not look back
        assert unchecked.rebuilt == () and set(store.partition_ranges([DOWN])[DOWN]) == {ASSET_STALE}
        checked = refresh(store, check=True)
        assert checked.rebuilt == (DOWN, LAST)
        assert stored(store)[DOWN] == {
            "materialized": [("2024-01-01", "2024-01-02")],
            "stale": [("2024-01-02", "2024-01-02")],
        }
        assert refresh(store, check=True).rebuilt == ()


class Contended(Store):
    def write_partition_status(self, ranges: Any, *, expected: int | None, cursor: int) -> bool:
        return False


def test_a_cursor_that_keeps_moving_is_a_clear_error(store_url: str) -> None:
    with Contended.open(store_url) as store:
        store.record_events(Clock().mat(UP, 1))
        with pytest.raises(StoreError) as raised:
            refresh(store, attempts=3)
    assert "moved under 3 attempts" in str(raised.value) and "run the command again" in str(raised.value)


def test_a_long_log_without_partitioned_assets_is_skipped_not_read(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(status, "FULL_FOLD", 2)
    clock = Clock()
    with Store.open(store_url) as store:
        assert refresh(store, partitions={}).cursor is None  # an empty log: nothing to move
        store.record_events(clock.mat(UP, 1, 2) + clock.mat(DOWN, 1))
        done = refresh(store, partitions={})
        assert done.events == 0 and done.written == ()
        assert done.cursor == store.max_event_id() == store.partition_status_cursor()
        assert store.partition_ranges() == {}
        # partitions declared later: check mode folds those assets' history from the log
        later = refresh(store, check=True)
        assert later.rebuilt == (DOWN, LAST, UP)
        assert stored(store)[DOWN] == {"materialized": [("2024-01-01", "2024-01-01")]}


def unpartitioned(key: AssetKey, n: int) -> list[Event]:
    return [
        Materialization(event_id=f"u{n}", adapter="t", timestamp=NOW + timedelta(minutes=n), asset_key=key)
    ]


def test_an_unpartitioned_asset_is_stale_after_its_upstream_updates(store_url: str) -> None:
    with Store.open(store_url) as store:
        store.record_events(unpartitioned(DOWN, 1))
        refresh(store, partitions={})  # a short log: folded from the start
        assert store.partition_ranges([DOWN]) == {}
        store.record_events(unpartitioned(UP, 2))  # the upstream changed after DOWN was built
        done = refresh(store, partitions={})
        assert done.written == (DOWN,)
        assert store.partition_ranges([DOWN, LAST]) == {DOWN: {ASSET_STALE: [("", "")]}}  # LAST never built
        assert stale_assets(store) == {DOWN}
        store.record_events(unpartitioned(DOWN, 3))  # rebuilt: no longer stale
        assert refresh(store, partitions={}).written == (DOWN,)
        assert store.partition_ranges([DOWN]) == {}
        assert stale_assets(store) == set()
