"""Store.generation(): one token that changes with every change a reader can see (events, syncs,
dynamic partitions) and stays put otherwise; Store.after_fork() keeps the store usable."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from lockgate.federation.adapter import Discovery, ObserveResult
from lockgate.federation.events import Materialization
from lockgate.federation.keys import AssetKey
from lockgate.federation.specs import AssetSpec, Origin
from lockgate.federation.store import Store

A = AssetKey.of("a")
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def test_generation_changes_with_every_visible_write(store_url: str) -> None:
    store = Store.open(store_url)
    try:
        empty = store.generation()
        assert isinstance(empty, str) and store.generation() == empty
        store.write_sync(
            adapter="x",
            kind="dbt",
            started_at=T0,
            discovery=Discovery(
                assets=(AssetSpec(key=A, origin=Origin(system="dbt", adapter="x", external_id="a")),)
            ),
            observed=ObserveResult(events=(), cursor="1"),
        )
        synced = store.generation()
        assert synced != empty
        store.record_events([Materialization(event_id="m1", adapter="x", timestamp=T0, asset_key=A)])
        materialized = store.generation()
        assert materialized not in (empty, synced)
        store.record_events([Materialization(event_id="m1", adapter="x", timestamp=T0, asset_key=A)])
        assert store.generation() == materialized  # a duplicate event changes nothing
        store.add_dynamic_partitions("regions", ["eu"])
        assert store.generation() != materialized
    finally:
        store.close()


def test_after_fork_gives_the_child_its_own_connections(store_url: str) -> None:
    store = Store.open(store_url)
    try:
        before = store.generation()  # the pool now holds a connection the child must not share
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: what a preloading server's worker does
            code = 1
            try:
                store.after_fork()
                os.write(write, store.generation().encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        _, status = os.waitpid(pid, 0)
        child = os.read(read, 4096).decode()
        os.close(read)
        assert os.waitstatus_to_exitcode(status) == 0
        assert child == before
        assert store.generation() == before  # the parent's connection still works
    finally:
        store.close()
