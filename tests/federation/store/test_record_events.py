"""record_events on both backends: the pipelined PostgreSQL path (lock, prefetch, upsert + COMMIT
in one round trip) must behave exactly like the plain path: duplicates skipped, completion sees
earlier writes, derived status equals a replay of the log, concurrent writers lose nothing and
log ids are unique and increasing; and a pooled connection that died while idle is replaced."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy.engine import make_url

from lockgate.federation.events import (
    CheckEvaluated,
    Event,
    EventKind,
    Materialization,
    RunFailed,
    RunStarted,
)
from lockgate.federation.keys import AssetKey
from lockgate.federation.specs import CheckStatus
from lockgate.federation.status import AssetStatus
from lockgate.federation.store import Store, engine

T0 = datetime(2025, 5, 1, tzinfo=UTC)


def started(run: str, name: str, minutes: int = 0) -> RunStarted:
    key = AssetKey.of("ol", name)
    when = T0 + timedelta(minutes=minutes)
    return RunStarted(event_id=f"{run}:start:{name}", adapter="ol", timestamp=when, run_id=run, asset_key=key)


def materialized(run: str, name: str, minutes: int = 1) -> Materialization:
    key = AssetKey.of("ol", name)
    when = T0 + timedelta(minutes=minutes)
    return Materialization(
        event_id=f"{run}:mat:{name}", adapter="ol", timestamp=when, run_id=run, asset_key=key
    )


def log(store: Store) -> list[tuple[int, Event]]:
    found: list[tuple[int, Event]] = []
    after = None
    while page := store.events(after_id=after, limit=1000):
        found.extend(page)
        after = page[-1][0]
    return found


def test_duplicates_are_skipped_and_status_matches_a_replay(store_url: str) -> None:
    with Store.open(store_url) as store:
        assert store.record_events([started("r1", "a"), started("r1", "b")]) == 2
        assert store.record_events([started("r1", "a"), materialized("r1", "a")]) == 1
        failed = RunFailed(event_id="r2:fail", adapter="ol", timestamp=T0, run_id="r2",
                           asset_key=AssetKey.of("ol", "b"), message="boom")  # fmt: skip
        check = CheckEvaluated(event_id="c1", adapter="ol", timestamp=T0, asset_key=AssetKey.of("ol", "a"),
                               check_name="not_null", status=CheckStatus.FAILED)  # fmt: skip
        assert store.record_events([failed, check, started("r1", "b")]) == 2
        states = store.asset_states()
        assert states[AssetKey.of("ol", "a")].status is AssetStatus.MATERIALIZED
        assert states[AssetKey.of("ol", "b")].status is AssetStatus.FAILED  # same time, later in the log
        assert [r.status for r in store.latest_check_results().values()] == [CheckStatus.FAILED]
        store.rebuild_derived()
        assert store.asset_states() == states
        assert [e.event_id for _, e in log(store)] == [
            "r1:start:a",
            "r1:start:b",
            "r1:mat:a",
            "r2:fail",
            "c1",
        ]


def test_completion_sees_the_runs_earlier_events(store_url: str) -> None:
    seen: list[list[str]] = []

    def complete(held: list[tuple[int, Event]]) -> list[Event]:
        seen.append([e.event_id for _, e in held])
        return [materialized(e.run_id or "", "done") for _, e in held if e.kind is EventKind.RUN_STARTED]

    with Store.open(store_url) as store:
        store.record_events([started("r1", "a"), started("r2", "x")])
        assert store.record_events([], runs=["r1"], complete=complete) == 1
        assert seen == [["r1:start:a"]]
        assert store.record_events([], runs=["r1"], complete=complete) == 0  # already recorded
        assert seen[-1] == ["r1:start:a", "r1:mat:done"]
        assert store.record_events([], runs=[], complete=complete) == 0
        assert store.asset_states()[AssetKey.of("ol", "done")].status is AssetStatus.MATERIALIZED


def test_concurrent_writers_lose_nothing_and_ids_increase(store_url: str) -> None:
    """Two stores (two engines, as two server processes have) and four threads each write
    overlapping batches; every distinct event is logged once, ids are unique and increasing."""
    stores = [Store.open(store_url), Store.open(store_url)]
    errors: list[BaseException] = []

    def work(store: Store, worker: int) -> None:
        try:
            for i in range(25):
                run = f"run{i % 10}"  # runs shared between workers: duplicates and contention
                events = [started(run, f"t{worker % 3}", i), materialized(run, f"t{i % 4}", i + 1)]
                store.record_events(events, runs=[run], complete=lambda _held: [])
        except BaseException as err:  # surfaced by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(stores[n % 2], n)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        expected = {
            e.event_id
            for n in range(8)
            for i in range(25)
            for e in (
                started(f"run{i % 10}", f"t{n % 3}", i),
                materialized(f"run{i % 10}", f"t{i % 4}", i + 1),
            )
        }
        logged = log(stores[0])
        ids = [log_id for log_id, _ in logged]
        assert ids == sorted(set(ids))
        assert sorted(e.event_id for _, e in logged) == sorted(expected)
        states = stores[0].asset_states()
        stores[0].rebuild_derived()
        assert stores[0].asset_states() == states
    finally:
        for store in stores:
            store.close()


@pytest.mark.postgres
def test_a_connection_that_died_while_idle_is_replaced(
    postgres: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_url: str = postgres.create_database(f"t_idle_{uuid.uuid4().hex[:8]}")  # type: ignore[attr-defined]
    monkeypatch.setattr(engine, "PING_AFTER", 0.0)  # every pooled connection counts as idle
    url = make_url(store_url)
    dsn = f"host={url.host} port={url.port} user={url.username} dbname={url.database}"
    with Store.open(store_url) as store:
        store.record_events([started("r1", "a")])
        with psycopg.connect(dsn, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        assert killed  # the store's pooled connection was among them
        assert store.record_events([materialized("r1", "a")]) == 1
        assert store.asset_states()[AssetKey.of("ol", "a")].status is AssetStatus.MATERIALIZED
