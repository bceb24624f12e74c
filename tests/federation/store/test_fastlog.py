"""The PostgreSQL fast path of record_events (two round trips, explicit log ids, prepared
statements): it must agree with the general path it bypasses, hand back to it what it cannot do,
leave pooled connections as SQLAlchemy expects them, and keep the log's ids visible in commit
order, so a reader paging with ``after_id`` never skips an event that commits late."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from lockgate.federation.errors import StoreError
from lockgate.federation.events import CheckEvaluated, Event, RunStarted
from lockgate.federation.keys import AssetKey
from lockgate.federation.specs import CheckStatus
from lockgate.federation.status import AssetStatus
from lockgate.federation.store import Store, fastlog
from tests.federation.store.test_record_events import T0, log, materialized, started


@pytest.fixture
def pg_url(postgres: Any) -> str:
    url: str = postgres.create_database(f"t_fastlog_{uuid.uuid4().hex[:8]}")
    return url


@pytest.fixture
def store(pg_url: str) -> Iterator[Store]:
    with Store.open(pg_url) as opened:
        yield opened


def pooled(store: Store) -> Any:
    """The pool's (only) DBAPI connection, checked out and back in."""
    fairy = store._engine.raw_connection()
    try:
        return fairy.driver_connection, dict(fairy.info)
    finally:
        fairy.close()


def no_completion(_held: list[tuple[int, Event]]) -> list[Event]:
    return []


@pytest.mark.postgres
def test_the_fast_path_takes_plain_events_and_agrees_with_a_replay(store: Store) -> None:
    logged = fastlog.record(store._engine, [started("r1", "a"), started("r1", "a")], ["r1"], no_completion)
    assert logged is not None
    assert [e.event_id for _, e in logged] == ["r1:start:a"]  # a duplicate in the input keeps the first
    assert fastlog.record(store._engine, [started("r1", "a")], ["r1"], no_completion) == []  # held already
    assert store.record_events([materialized("r1", "a"), started("r2", "b")]) == 2
    states = store.asset_states()
    assert states[AssetKey.of("ol", "a")].status is AssetStatus.MATERIALIZED
    assert states[AssetKey.of("ol", "b")].status is AssetStatus.IN_PROGRESS
    store.rebuild_derived()
    assert store.asset_states() == states


@pytest.mark.postgres
def test_checks_go_through_the_general_path_and_ids_keep_increasing(store: Store) -> None:
    check = CheckEvaluated(event_id="c1", adapter="ol", timestamp=T0, asset_key=AssetKey.of("ol", "a"),
                           check_name="not_null", status=CheckStatus.FAILED)  # fmt: skip
    assert fastlog.record(store._engine, [check], [], None) is None  # nothing written
    assert store.record_events([started("r1", "a")]) == 1  # fast: explicit id, sequence moved
    assert store.record_events([check]) == 1  # general: the sequence's next id
    assert store.record_events([materialized("r1", "a")]) == 1  # fast again
    ids = [log_id for log_id, _ in log(store)]
    assert ids == sorted(set(ids)) and len(ids) == 3
    assert [r.status for r in store.latest_check_results().values()] == [CheckStatus.FAILED]


@pytest.mark.postgres
def test_an_id_the_dedupe_read_missed_falls_back_and_the_connection_is_clean(store: Store) -> None:
    # "x" is logged under run r2; completing run r1 derives an event with the same id, which the
    # fast path cannot see (it reads r1's events): its INSERT fails, the general path skips it.
    store.record_events([RunStarted(event_id="x", adapter="ol", timestamp=T0, run_id="r2")])
    twin = RunStarted(event_id="x", adapter="ol", timestamp=T0, run_id="r1")
    assert store.record_events([started("r1", "a")], runs=["r1"], complete=lambda _held: [twin]) == 1
    conn, info = pooled(store)
    assert conn.autocommit is False
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert fastlog.PREPARED_SIZE in info
    assert [e.event_id for _, e in log(store)] == ["x", "r1:start:a"]


@pytest.mark.postgres
def test_an_invalid_event_is_refused_before_anything_is_written(store: Store) -> None:
    bad = RunStarted(event_id="bad", adapter="ol", timestamp=T0, run_id="r1", metadata={"at": T0})  # type: ignore[dict-item]
    with pytest.raises(StoreError, match="not a JSON value"):
        store.record_events([started("r1", "a"), bad])
    derived = RunStarted(event_id="bad2", adapter="ol", timestamp=T0, run_id="r1", metadata={"at": T0})  # type: ignore[dict-item]
    with pytest.raises(StoreError, match="not a JSON value"):  # derived under the lock: rolled back
        store.record_events([started("r1", "b")], runs=["r1"], complete=lambda _held: [derived])
    assert log(store) == []
    conn, _ = pooled(store)
    assert conn.autocommit is False


@pytest.mark.postgres
def test_statements_are_prepared_again_when_the_tables_grow(
    store: Store, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fastlog, "REPLAN_SLACK", 0)
    store.record_events([started("r0", "a")])
    _, first = pooled(store)
    for i in range(1, 40):
        store.record_events([started(f"r{i}", f"a{i}"), materialized(f"r{i}", f"a{i}")])
    _, later = pooled(store)
    assert later[fastlog.PREPARED_SIZE] > first[fastlog.PREPARED_SIZE]
    # someone deallocates them: that write takes the general path, the next one prepares again
    conn, _ = pooled(store)
    conn.execute("DEALLOCATE ALL")
    conn.commit()
    assert store.record_events([started("r99", "z")]) == 1
    assert store.record_events([materialized("r99", "z")]) == 1
    assert len(log(store)) == 1 + 39 * 2 + 2
    assert store.asset_states()[AssetKey.of("ol", "z")].status is AssetStatus.MATERIALIZED


def test_after_id_readers_never_skip_an_id_that_commits_late(store_url: str) -> None:
    """Writers on two engines (two server processes) append through both paths while a reader
    pages the log with after_id as automation does; whatever it saw, in order, must be the
    whole log: an id that committed after a higher one was read would be skipped forever."""
    stores = [Store.open(store_url), Store.open(store_url)]
    done = threading.Event()
    errors: list[BaseException] = []
    seen: list[int] = []

    def write(store: Store, worker: int) -> None:
        try:
            for i in range(30):
                events: list[Event] = [
                    started(f"w{worker}r{i}", f"t{i % 5}", i),
                    materialized(f"w{worker}r{i}", "m", i),
                ]
                if i % 7 == 0:  # a check event sends this write through the general path
                    events.append(CheckEvaluated(event_id=f"c{worker}:{i}", adapter="ol", timestamp=T0,
                                                 asset_key=AssetKey.of("ol", "m"), check_name="c",
                                                 status=CheckStatus.PASSED))  # fmt: skip
                store.record_events(events, runs=[f"w{worker}r{i}"], complete=no_completion)
        except BaseException as err:  # surfaced by the assertion below
            errors.append(err)

    def read() -> None:
        after = 0
        try:
            while True:
                finished = done.is_set()
                page = stores[0].events(after_id=after, limit=7)
                seen.extend(log_id for log_id, _ in page)
                after = page[-1][0] if page else after
                if not page:
                    if finished:
                        return
                    time.sleep(0.001)  # leave the writers room (SQLite: one file lock)
        except BaseException as err:  # surfaced by the assertion below
            errors.append(err)

    reader = threading.Thread(target=read)
    writers = [threading.Thread(target=write, args=(stores[n % 2], n)) for n in range(6)]
    reader.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    reader.join()
    try:
        assert errors == []
        assert seen == [log_id for log_id, _ in log(stores[0])]
        assert len(seen) == 6 * 30 * 2 + 6 * 5
    finally:
        for store in stores:
            store.close()
