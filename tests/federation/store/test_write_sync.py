"""write_sync and record_events: spec replacement, idempotence, cursors and all-or-nothing writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from lockgate.federation.adapter import Discovery, ObserveResult
from lockgate.federation.errors import StoreError
from lockgate.federation.events import CheckEvaluated, Event, Materialization
from lockgate.federation.keys import AssetKey, CheckKey
from lockgate.federation.specs import AssetSpec, CheckSpec, CheckStatus, Origin
from lockgate.federation.status import AssetStatus
from lockgate.federation.store import Store

T0 = datetime(2024, 3, 1, tzinfo=UTC)
NAIVE = Materialization(event_id="naive", adapter="dbt", timestamp=datetime(2024, 1, 1))
"""An event the store refuses (a naive timestamp), to fail a write after other work was done."""


def asset(name: str, adapter: str = "dbt", description: str = "") -> AssetSpec:
    origin = Origin(system="dbt", adapter=adapter, external_id=f"model.{name}")
    return AssetSpec(key=AssetKey.of("shop", name), origin=origin, description=description)


def check(name: str, on: str, adapter: str = "dbt") -> CheckSpec:
    origin = Origin(system="dbt", adapter=adapter, external_id=f"test.{name}")
    return CheckSpec(key=CheckKey(AssetKey.of("shop", on), name), origin=origin)


def mat(event_id: str, name: str, minutes: int = 0) -> Materialization:
    return Materialization(
        event_id=event_id,
        adapter="dbt",
        timestamp=T0 + timedelta(minutes=minutes),
        asset_key=AssetKey.of("shop", name),
    )


def sync(
    store: Store,
    assets: tuple[AssetSpec, ...] | None = None,
    checks: tuple[CheckSpec, ...] = (),
    events: tuple[Event, ...] | None = None,
    cursor: str | None = None,
    adapter: str = "dbt",
) -> int:
    discovery = None if assets is None else Discovery(assets=assets, checks=checks)
    observed = None if events is None else ObserveResult(events=events, cursor=cursor)
    state = store.write_sync(
        adapter=adapter, kind="dbt", started_at=T0, discovery=discovery, observed=observed
    )
    return state.new_events


def updated_at(store_url: str) -> dict[str, object]:
    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as conn:
            return {row[0]: row[1] for row in conn.execute(sa.text("SELECT key, updated_at FROM assets"))}
    finally:
        engine.dispose()


def test_same_events_twice_are_recorded_once(store_url: str) -> None:
    events = (mat("a1", "a"), mat("b1", "b"), mat("a1", "a"))
    with Store.open(store_url) as store:
        assert sync(store, events=events, cursor="1") == 2
        assert sync(store, events=events, cursor="2") == 0
        assert store.record_events(events) == 0
        assert store.record_events([*events, mat("c1", "c")]) == 1
        assert [e.event_id for _, e in store.events()] == ["a1", "b1", "c1"]
        assert store.cursor("dbt") == "2"


def test_missing_specs_are_removed_and_come_back(store_url: str) -> None:
    with Store.open(store_url) as store:
        sync(store, (asset("a"), asset("b")), (check("c1", "a"), check("c2", "b")))
        sync(store, (asset("a"),), (check("c1", "a"),), events=(mat("b1", "b"),))
        assert [s.key.name for s in store.asset_specs()] == ["a"]
        assert [s.key.name for s in store.asset_specs(include_removed=True)] == ["a", "b"]
        assert [c.key.name for c in store.check_specs()] == ["c1"]
        states = store.asset_states()
        assert states[AssetKey.of("shop", "b")].status is AssetStatus.REMOVED
        assert store.events(asset_key=AssetKey.of("shop", "b"))  # the removed asset keeps its events

        sync(store, (asset("a"), asset("b", description="back")), (check("c1", "a"), check("c2", "b")))
        assert [s.description for s in store.asset_specs()] == ["", "back"]
        assert [c.key.name for c in store.check_specs()] == ["c1", "c2"]
        assert store.asset_states()[AssetKey.of("shop", "b")].status is AssetStatus.MATERIALIZED


def test_only_changed_specs_are_rewritten(store_url: str) -> None:
    with Store.open(store_url) as store:
        sync(store, (asset("a"), asset("b")))
        before = updated_at(store_url)
        sync(store, (asset("a"), asset("b", description="changed")))
        after = updated_at(store_url)
    assert after["shop/a"] == before["shop/a"]
    assert after["shop/b"] != before["shop/b"]


def test_another_adapters_asset_is_a_clear_error(store_url: str) -> None:
    with Store.open(store_url) as store:
        sync(store, (asset("a"),), adapter="dbt")
        with pytest.raises(StoreError) as caught:
            sync(store, (asset("a", adapter="airflow"),), adapter="airflow")
        assert "'dbt'" in str(caught.value)
        assert "shop/a" in str(caught.value)
        sync(store, (), adapter="dbt")  # dbt drops it: now airflow may take it over
        sync(store, (asset("a", adapter="airflow"),), adapter="airflow")
        assert [s.origin.adapter for s in store.asset_specs()] == ["airflow"]


def test_duplicate_keys_in_one_discovery_are_refused(store_url: str) -> None:
    with Store.open(store_url) as store:
        with pytest.raises(StoreError, match="twice"):
            sync(store, (asset("a"), asset("a")))
        with pytest.raises(StoreError, match="twice"):
            sync(store, (asset("a"),), (check("c", "a"), check("c", "a")))
        assert store.asset_specs() == []


def test_a_failure_midway_leaves_the_store_unchanged(store_url: str) -> None:
    with Store.open(store_url) as store:
        sync(store, (asset("a"), asset("b")), (check("c", "a"),), events=(mat("a1", "a"),), cursor="1")
        before = (
            store.asset_specs(),
            store.check_specs(),
            store.events(),
            store.asset_states(),
            store.cursor("dbt"),
        )
        syncs = store.sync_states()
        with pytest.raises(StoreError):
            # specs are replaced first (b removed, x added); the bad event comes after them
            sync(store, (asset("a"), asset("x")), (), events=(mat("x1", "x"), NAIVE), cursor="2")
        after = (
            store.asset_specs(),
            store.check_specs(),
            store.events(),
            store.asset_states(),
            store.cursor("dbt"),
        )
        assert after == before
        assert store.sync_states() == syncs


def test_a_database_error_midway_rolls_back_everything(store_url: str) -> None:
    with Store.open(store_url) as store:
        sync(store, (asset("a"),), events=(mat("a1", "a"),), cursor="1")
        engine = sa.create_engine(store_url)
        with engine.begin() as conn:  # make the cursor write fail, after specs and events were written
            conn.execute(sa.text("ALTER TABLE cursors RENAME TO cursors_gone"))
        try:
            with pytest.raises(StoreError) as caught:
                sync(store, (asset("a"), asset("b")), events=(mat("b1", "b"),), cursor="2")
            assert "nothing was written" in str(caught.value)
            assert [s.key.name for s in store.asset_specs()] == ["a"]
            assert [e.event_id for _, e in store.events()] == ["a1"]
            assert AssetKey.of("shop", "b") not in store.asset_states()
        finally:
            with engine.begin() as conn:
                conn.execute(sa.text("ALTER TABLE cursors_gone RENAME TO cursors"))
            engine.dispose()
        assert store.cursor("dbt") == "1"


def test_cursor_moves_only_with_its_events(store_url: str) -> None:
    with Store.open(store_url) as store:
        assert store.cursor("dbt") is None
        sync(store, events=(mat("a1", "a"),), cursor="c1")
        assert store.cursor("dbt") == "c1"
        with pytest.raises(StoreError):
            sync(store, events=(mat("a2", "a"), NAIVE), cursor="c2")
        assert store.cursor("dbt") == "c1"
        assert [e.event_id for _, e in store.events()] == ["a1"]
        sync(store, assets=(asset("a"),))  # a discovery-only sync leaves the cursor alone
        assert store.cursor("dbt") == "c1"
        assert store.cursor("other") is None


def test_sync_states_record_counts_and_errors(store_url: str) -> None:
    with Store.open(store_url) as store:
        sync(store, (asset("a"), asset("b")), (check("c", "a"),), events=(mat("a1", "a"),), cursor="1")
        failed = store.write_sync(
            adapter="airflow", kind="airflow", started_at=T0, discovery=None, observed=None, error="timeout"
        )
        states = store.sync_states()
        assert [s.adapter for s in states] == ["airflow", "dbt"]
        assert states[0] == failed
        assert states[0].error == "timeout"
        assert (states[1].assets, states[1].checks, states[1].new_events) == (2, 1, 1)
        assert states[1].finished_at is not None and states[1].started_at == T0
        sync(store, events=(mat("a1", "a"), mat("a2", "a")), cursor="2")
        dbt = store.sync_states()[1]
        assert (dbt.assets, dbt.checks, dbt.new_events) == (2, 1, 1)


def test_events_filters_and_paging(store_url: str) -> None:
    check_event = CheckEvaluated(
        event_id="c1", adapter="dbt", timestamp=T0, asset_key=AssetKey.of("shop", "a"), check_name="x",
        status=CheckStatus.PASSED, run_id="r2",
    )  # fmt: skip
    with Store.open(store_url) as store:
        store.record_events([mat("a1", "a"), mat("b1", "b"), check_event, mat("a2", "a")])
        assert [e.event_id for _, e in store.events(asset_key=AssetKey.of("shop", "a"))] == ["a1", "c1", "a2"]
        assert [e.event_id for _, e in store.events(kinds=[CheckEvaluated.kind])] == ["c1"]
        assert [e.event_id for _, e in store.events(run_id="r2")] == ["c1"]
        first = store.events(limit=2)
        rest = store.events(after_id=first[-1][0], limit=10)
        assert [e.event_id for _, e in first + rest] == ["a1", "b1", "c1", "a2"]
