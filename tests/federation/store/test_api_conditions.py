"""Conditions attached through the API (revision 0004), the run queue in Store.generation() and
its requests, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lockgate.federation.adapter import RunRequest
from lockgate.federation.automation.records import RunQueueState
from lockgate.federation.keys import AssetKey
from lockgate.federation.store import Store

A, B = AssetKey.of("shop", "a"), AssetKey.of("b")
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def test_attach_replace_and_remove_conditions(store_url: str) -> None:
    store = Store.open(store_url)
    try:
        assert store.api_conditions() == {}
        before = store.generation()
        store.set_api_condition(A, "eager()", now=T0)
        attached = store.generation()
        assert attached != before
        store.set_api_condition(B, "on_missing()", now=T0)
        store.set_api_condition(A, 'on_cron("0 6 * * *", "UTC")', now=T0 + timedelta(seconds=1))
        assert store.api_conditions() == {A: 'on_cron("0 6 * * *", "UTC")', B: "on_missing()"}
        assert store.delete_api_condition(B) is True
        assert store.delete_api_condition(B) is False
        assert store.api_conditions() == {A: 'on_cron("0 6 * * *", "UTC")'}
        assert store.generation() not in (before, attached)
    finally:
        store.close()


def test_generation_changes_with_the_run_queue_even_with_an_older_clock(store_url: str) -> None:
    store = Store.open(store_url)
    try:
        empty = store.generation()
        request = RunRequest(assets=(A,), idempotency_key="k1", partition="2025-01-01", tags={})
        assert store.enqueue_runs([(request, "shop", 0)], now=T0) == 1
        queued = store.generation()
        assert queued != empty
        (run,) = store.run_queue()
        store.update_queued_run(run.id, now=T0 - timedelta(days=1), state=RunQueueState.CANCELLED)
        cancelled = store.generation()
        assert cancelled != queued  # same count, older updated_at: the per-state counts tell
        assert store.generation() == cancelled
        store.update_queued_run(run.id, now=T0 + timedelta(days=1), message="note")
        assert store.generation() != cancelled
    finally:
        store.close()


def test_a_queued_request_keeps_what_it_waits_for_and_states_read_by_key(store_url: str) -> None:
    store = Store.open(store_url)
    try:
        first = RunRequest(assets=(A,), idempotency_key="load", partition="2025-01-01")
        second = RunRequest(assets=(B,), idempotency_key="build", partition="2025-01-01", after=("load",))
        assert store.enqueue_runs([(first, "shop", 0), (second, "shop", 0)], now=T0) == 2
        assert {run.request.idempotency_key: run.request for run in store.run_queue()} == {
            "load": first,
            "build": second,
        }
        (load,) = (run for run in store.run_queue() if run.request.idempotency_key == "load")
        store.update_queued_run(load.id, now=T0, state=RunQueueState.SUCCEEDED)
        assert store.run_states(["load", "build", "gone"]) == {
            "load": RunQueueState.SUCCEEDED,
            "build": RunQueueState.QUEUED,
        }
        assert store.run_states([]) == {}
    finally:
        store.close()
