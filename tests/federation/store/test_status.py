"""Derived status: folded from the log in event time order, whatever order events arrive in."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from lockgate.federation.adapter import Discovery
from lockgate.federation.events import (
    CheckEvaluated,
    Event,
    Materialization,
    Observation,
    RunFailed,
    RunRequested,
    RunStarted,
    RunSucceeded,
)
from lockgate.federation.keys import AssetKey, CheckKey
from lockgate.federation.specs import AssetSpec, CheckResult, CheckStatus, Origin, Severity
from lockgate.federation.status import AssetState, AssetStatus
from lockgate.federation.store import Store

T0 = datetime(2024, 3, 1, tzinfo=UTC)
A = AssetKey.of("shop", "a")
counter = itertools.count()


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ev(
    cls: type[Event], minutes: int, key: AssetKey | None = A, run: str | None = None, **extra: Any
) -> Event:
    return cls(
        event_id=f"e{next(counter)}", adapter="x", timestamp=at(minutes), asset_key=key, run_id=run, **extra
    )


def state(store_url: str, events: list[Event], key: AssetKey = A) -> AssetState:
    with Store.open(store_url) as store:
        store.record_events(events)
        return store.asset_states([key])[key]


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([], AssetStatus.MISSING),
        ([ev(Materialization, 1)], AssetStatus.MATERIALIZED),
        ([ev(Observation, 1)], AssetStatus.OBSERVED),
        ([ev(Materialization, 1), ev(Observation, 2)], AssetStatus.MATERIALIZED),
        ([ev(Materialization, 1), ev(RunFailed, 2, message="x")], AssetStatus.FAILED),
        ([ev(RunFailed, 1, message="x"), ev(Materialization, 2)], AssetStatus.MATERIALIZED),
        ([ev(Materialization, 1), ev(RunStarted, 2)], AssetStatus.IN_PROGRESS),
        ([ev(RunStarted, 1), ev(RunSucceeded, 2)], AssetStatus.MISSING),
        ([ev(Materialization, 1), ev(RunStarted, 2), ev(RunSucceeded, 3)], AssetStatus.MATERIALIZED),
        ([ev(RunStarted, 1), ev(RunFailed, 2, message="x")], AssetStatus.FAILED),
        ([ev(RunStarted, 1), ev(Materialization, 2)], AssetStatus.MATERIALIZED),
        ([ev(Observation, 1), ev(RunStarted, 2)], AssetStatus.IN_PROGRESS),
        ([ev(Materialization, 1, key=None), ev(RunFailed, 2, key=None)], AssetStatus.MISSING),
        ([ev(RunRequested, 1, assets=(A,))], AssetStatus.MISSING),
    ],
    ids=lambda v: "-".join(type(e).__name__ for e in v) if isinstance(v, list) else None,
)
def test_status_from_events(store_url: str, events: list[Event], expected: AssetStatus) -> None:
    assert state(store_url, events).status is expected


def test_state_fields(store_url: str) -> None:
    events = [
        ev(Materialization, 1, run="r1"),
        ev(RunFailed, 5, run="r2", message="boom"),
        ev(Observation, 7),
        ev(Materialization, 9, run="r3"),
    ]
    got = state(store_url, events)
    assert got == AssetState(
        key=A,
        status=AssetStatus.MATERIALIZED,
        last_materialization=at(9),
        last_run_id="r3",
        last_failure=at(5),
        last_failure_message="boom",
        last_event_at=at(9),
    )


def test_out_of_order_arrival_ends_in_event_time_order(store_url: str) -> None:
    start, fail, done = (
        ev(RunStarted, 1, run="r1"),
        ev(RunFailed, 2, run="r1", message="m"),
        ev(Materialization, 3),
    )
    with Store.open(store_url) as store:
        store.record_events([done])
        store.record_events([fail])
        store.record_events([start])
        got = store.asset_states([A])[A]
    assert got.status is AssetStatus.MATERIALIZED
    assert got.last_materialization == at(3)
    assert got.last_failure_message == "m"


def test_equal_timestamps_go_to_the_later_log_id(store_url: str) -> None:
    with Store.open(store_url) as store:
        store.record_events([ev(Materialization, 1), ev(RunFailed, 1, message="later")])
        assert store.asset_states([A])[A].status is AssetStatus.FAILED
        store.record_events([ev(Materialization, 1)])
        assert store.asset_states([A])[A].status is AssetStatus.MATERIALIZED


def test_removed_specs_are_removed_and_unknown_keys_missing(store_url: str) -> None:
    origin = Origin(system="dbt", adapter="x", external_id="a")
    with Store.open(store_url) as store:
        discovery = Discovery(assets=(AssetSpec(key=A, origin=origin),))
        store.write_sync(adapter="x", kind="dbt", started_at=T0, discovery=discovery, observed=None)
        store.record_events([ev(Materialization, 1)])
        store.write_sync(
            adapter="x", kind="dbt", started_at=T0, discovery=Discovery(assets=()), observed=None
        )
        nobody = AssetKey.of("nobody")
        states = store.asset_states([A, nobody])
    assert states[A].status is AssetStatus.REMOVED
    assert states[A].last_materialization == at(1)
    assert states[nobody] == AssetState(key=nobody, status=AssetStatus.MISSING)


def test_latest_check_result_per_check(store_url: str) -> None:
    def checked(minutes: int, name: str, status: CheckStatus, **extra: Any) -> Event:
        return ev(CheckEvaluated, minutes, check_name=name, status=status, **extra)

    unique, not_null = CheckKey(A, "unique"), CheckKey(A, "not_null")
    with Store.open(store_url) as store:
        store.record_events([checked(5, "unique", CheckStatus.FAILED, failures=3, message="dupes", run="r5")])
        store.record_events(
            [checked(1, "unique", CheckStatus.PASSED), checked(2, "not_null", CheckStatus.PASSED)]
        )
        results = store.latest_check_results()
        assert store.latest_check_results([not_null]) == {not_null: results[not_null]}
        assert store.latest_check_results([CheckKey(A, "nope")]) == {}
    assert results[unique] == CheckResult(
        key=unique, status=CheckStatus.FAILED, timestamp=at(5), severity=Severity.ERROR, message="dupes",
        failures=3, run_id="r5",
    )  # fmt: skip
    assert results[not_null].status is CheckStatus.PASSED
    assert list(results) == [not_null, unique]


def _random_history(rng: random.Random, *, distinct_times: bool = False) -> list[Event]:
    keys = [AssetKey.of("k", str(i)) for i in range(6)]
    kinds: list[type[Event]] = [Materialization, Observation, RunStarted, RunSucceeded, RunFailed]
    events: list[Event] = []
    times = rng.sample(range(1000), 300) if distinct_times else [rng.randrange(50) for _ in range(300)]
    for minutes in times:
        key = rng.choice(keys)
        if rng.random() < 0.3:
            status = rng.choice(list(CheckStatus))
            events.append(ev(CheckEvaluated, minutes, key=key, check_name=rng.choice("xyz"), status=status))
        else:
            events.append(ev(rng.choice(kinds), minutes, key=key, run=f"r{rng.randrange(5)}"))
    return events


def test_rebuild_equals_incremental_derivation(store_url: str) -> None:
    rng = random.Random(20240301)
    events = _random_history(rng)
    with Store.open(store_url) as store:
        shuffled = events[:]
        rng.shuffle(shuffled)
        for start in range(0, len(shuffled), 37):  # many small batches, out of order
            store.record_events(shuffled[start : start + 37])
        incremental = (store.asset_states(), store.latest_check_results())
        store.rebuild_derived()
        rebuilt = (store.asset_states(), store.latest_check_results())
    assert rebuilt == incremental
    statuses = {s.status for s in incremental[0].values()}
    assert len(statuses) > 1  # the history exercises more than one outcome
    assert len(incremental[1]) > 3


def test_arrival_order_does_not_change_the_outcome(store_url: str) -> None:
    rng = random.Random(7)
    events = _random_history(rng, distinct_times=True)
    outcomes = []
    for order in (events, list(reversed(events)), rng.sample(events, len(events))):
        with Store.open(store_url) as store:
            for start in range(0, len(order), 50):
                store.record_events(order[start : start + 50])
            outcomes.append((store.asset_states(), store.latest_check_results()))
            _forget_events(store_url)
    assert outcomes[0] == outcomes[1] == outcomes[2]


def _forget_events(store_url: str) -> None:
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        for table in ("events", "asset_status", "check_status"):
            conn.execute(sa.text(f"DELETE FROM {table}"))
    engine.dispose()
