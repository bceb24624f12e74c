"""Backfills through the durable run queue with an in-test adapter: the plan, progress, a failed
partition that blocks no other, bounded concurrency per system, cancel and resume."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lockgate.federation.adapter import Discovery, EventSink, ObserveResult, RunHandle, RunRequest, RunState
from lockgate.federation.automation import backfill as bf
from lockgate.federation.automation.launcher import Launcher, LaunchPolicy
from lockgate.federation.automation.records import RunQueueState
from lockgate.federation.errors import ConfigError, UnknownAssetError
from lockgate.federation.events import Materialization
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.partitions.definitions import daily
from lockgate.federation.specs import AssetSpec, Origin
from lockgate.federation.store.store import Store

NOW = datetime(2026, 1, 11, 12, tzinfo=UTC)
RAW, CLEAN, SOURCE, FLAT = (AssetKey.of("lake", n) for n in ("raw", "clean", "source", "flat"))


class LakeAdapter:
    """Builds partitions at once (``hold=0``) or after ``hold`` polls; fails those in ``fail``."""

    def __init__(self, *, fail: Sequence[str] = (), hold: int = 0) -> None:
        self.name = "lake"
        self.fail, self.hold = set(fail), hold
        self.launched: list[tuple[str | None, tuple[AssetKey, ...]]] = []
        self.polls: dict[str, int] = {}
        self.requests: dict[str, RunRequest] = {}
        self.peak = 0

    def discover(self) -> Discovery:
        return Discovery(assets=())

    def observe(self, cursor: str | None) -> ObserveResult:
        return ObserveResult(events=(), cursor=cursor)

    def launch(self, request: RunRequest, sink: EventSink) -> RunHandle:
        run_id = f"run-{request.idempotency_key}"
        self.launched.append((request.partition, request.assets))
        self.requests[run_id] = request
        if self.hold:
            self.polls[run_id] = 0
            self.peak = max(self.peak, len(self.polls))
            return RunHandle(adapter=self.name, run_id=run_id, state=RunState.RUNNING)
        return self._end(run_id, sink)

    def poll(self, handle: RunHandle, sink: EventSink) -> RunHandle:
        self.polls[handle.run_id] += 1
        if self.polls[handle.run_id] < self.hold:
            return handle
        del self.polls[handle.run_id]
        return self._end(handle.run_id, sink)

    def _end(self, run_id: str, sink: EventSink) -> RunHandle:
        request = self.requests[run_id]
        if request.partition in self.fail:
            return RunHandle(adapter=self.name, run_id=run_id, state=RunState.FAILED, message="disk full")
        sink(
            [
                Materialization(
                    event_id=f"{run_id}:{key}",
                    adapter=self.name,
                    timestamp=NOW,
                    asset_key=key,
                    partition=request.partition,
                    run_id=run_id,
                )
                for key in request.assets
            ]
        )
        return RunHandle(adapter=self.name, run_id=run_id, state=RunState.SUCCEEDED)

    def close(self) -> None:
        pass


def _spec(key: AssetKey, *deps: AssetKey, external: bool = False) -> AssetSpec:
    origin = Origin(system="lake", adapter="lake", external_id=str(key))
    return AssetSpec(key=key, origin=origin, deps=deps, external=external)


GRAPH = AssetGraph.build([_spec(SOURCE, external=True), _spec(RAW, SOURCE), _spec(CLEAN, RAW), _spec(FLAT)])
PARTS = {key: daily("2026-01-01") for key in (SOURCE, RAW, CLEAN)}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    yield opened
    opened.close()


def _plan(
    lo: str = "2026-01-03", hi: str = "2026-01-07", keys: Sequence[AssetKey] = (CLEAN, RAW)
) -> list[bf.Queued]:
    return bf.plan_backfill(GRAPH, PARTS, keys, lo, hi, backfill="bf-test", now=NOW)


def _queue(store: Store, lo: str = "2026-01-03", hi: str = "2026-01-07") -> list[bf.Queued]:
    plan = _plan(lo, hi)
    store.enqueue_runs(plan, now=NOW)
    return plan


def _drive(store: Store, adapter: LakeAdapter, policy: LaunchPolicy | None = None) -> bf.Progress:
    seen: list[bf.Progress] = []
    state = bf.drive(
        store,
        Launcher({"lake": adapter}, policy or LaunchPolicy(max_attempts=1)),
        "bf-test",
        clock=lambda: NOW,
        stop=threading.Event(),
        poll=0.0,
        on_progress=seen.append,
    )
    assert seen and seen[-1] == state
    return state


def test_plan_is_one_request_per_partition_upstream_first_and_deterministic() -> None:
    plan = _plan()
    assert [r.partition for r, _, _ in plan] == [f"2026-01-0{d}" for d in range(3, 8)]
    assert all(r.assets == (RAW, CLEAN) for r, _, _ in plan)  # one run per partition, upstream first
    assert all(adapter == "lake" and priority == 0 for _, adapter, priority in plan)
    assert all(r.tags[bf.TAG] == "bf-test" and r.tags["lockgate/source"] == "backfill" for r, _, _ in plan)
    assert len({r.idempotency_key for r, _, _ in plan}) == 5
    assert [r.idempotency_key for r, _, _ in _plan()] == [r.idempotency_key for r, _, _ in plan]
    assert SOURCE not in _plan(keys=(SOURCE, RAW))[0][0].assets  # external: observed, never built


def test_backfill_ids_differ_by_selection_range_and_time() -> None:
    one = bf.backfill_id("lake/raw", "2026-01-01", "2026-01-02", NOW)
    assert one.startswith("bf-") and one == bf.backfill_id("lake/raw", "2026-01-01", "2026-01-02", NOW)
    assert one != bf.backfill_id("lake/raw", "2026-01-01", "2026-01-03", NOW)
    assert one != bf.backfill_id("lake/raw", "2026-01-01", "2026-01-02", NOW + timedelta(seconds=1))


def test_plan_refuses_bad_input() -> None:
    with pytest.raises(ConfigError, match="after --to"):
        _plan(lo="2026-01-07", hi="2026-01-03")
    with pytest.raises(UnknownAssetError, match="has no partitions") as err:
        _plan(keys=(RAW, FLAT))
    assert "lake/flat" in str(err.value) and "leave it out" in str(err.value)
    with pytest.raises(ConfigError, match="no partition of the selection"):
        _plan(lo="2027-01-01", hi="2027-02-01")


def test_progress_and_a_failed_partition_does_not_block_the_others(store: Store) -> None:
    _queue(store)
    queued = bf.progress(store, "bf-test")
    assert queued.total == 5 and queued.counts == {"queued": 5} and queued.active == 5 and queued.done == 0
    adapter = LakeAdapter(fail=["2026-01-04"])
    state = _drive(store, adapter)
    assert state.counts == {"succeeded": 4, "failed": 1} and state.done == 5 and state.active == 0
    assert state.failures == (("2026-01-04", "disk full"),)
    assert sorted(p or "" for p, _ in adapter.launched) == [f"2026-01-0{d}" for d in range(3, 8)]
    built = {e.partition for _, e in store.events(asset_key=CLEAN, limit=100)}
    assert built == {"2026-01-03", "2026-01-05", "2026-01-06", "2026-01-07"}
    assert bf.backfills(store)["bf-test"].counts == {"succeeded": 4, "failed": 1}


def test_concurrency_is_bounded_per_system(store: Store) -> None:
    _queue(store)
    adapter = LakeAdapter(hold=2)
    policy = LaunchPolicy(default_per_adapter=2, max_attempts=1)
    launcher = Launcher({"lake": adapter}, policy)
    assert len(launcher.step(store, NOW)) == 2  # two at once, three wait
    assert bf.progress(store, "bf-test").counts == {"running": 2, "queued": 3}
    state = _drive(store, adapter, policy)
    assert state.counts == {"succeeded": 5}
    assert adapter.peak == 2
    assert len(adapter.launched) == 5  # each partition once


def test_cancel_then_resume_launches_each_partition_once(store: Store) -> None:
    _queue(store)
    adapter = LakeAdapter(hold=1)
    policy = LaunchPolicy(default_per_adapter=2, max_attempts=1)
    Launcher({"lake": adapter}, policy).step(store, NOW)
    assert bf.cancel(store, "bf-test", now=NOW) == 3  # not yet launched: cancelled
    assert bf.progress(store, "bf-test").counts == {"running": 2, "cancelled": 3}
    state = _drive(store, adapter, policy)  # the started runs finish in their system
    assert state.counts == {"succeeded": 2, "cancelled": 3}
    assert len(adapter.launched) == 2
    assert bf.resume(store, "bf-test", now=NOW) == 3
    state = _drive(store, adapter, policy)
    assert state.counts == {"succeeded": 5}
    assert sorted(p or "" for p, _ in adapter.launched) == [f"2026-01-0{d}" for d in range(3, 8)]
    assert bf.cancel(store, "bf-test", now=NOW) == 0  # nothing left to cancel


def test_resume_can_retry_the_failed_partitions(store: Store) -> None:
    _queue(store, lo="2026-01-03", hi="2026-01-04")
    adapter = LakeAdapter(fail=["2026-01-04"])
    assert _drive(store, adapter).counts == {"succeeded": 1, "failed": 1}
    assert bf.resume(store, "bf-test", now=NOW) == 0  # failed ones stay failed unless asked
    adapter.fail.clear()
    assert bf.resume(store, "bf-test", now=NOW, retry_failed=True) == 1
    assert _drive(store, adapter).counts == {"succeeded": 2}
    assert [p for p, _ in adapter.launched] == ["2026-01-03", "2026-01-04", "2026-01-04"]


def test_unknown_backfill_is_a_clear_error(store: Store) -> None:
    for call in (
        lambda: bf.progress(store, "bf-nope"),
        lambda: bf.cancel(store, "bf-nope", now=NOW),
        lambda: bf.resume(store, "bf-nope", now=NOW),
    ):
        with pytest.raises(UnknownAssetError, match="no backfill 'bf-nope'") as err:
            call()
        assert "backfill list" in str(err.value)
    assert bf.backfills(store) == {}


def test_other_runs_in_the_queue_count_against_the_limit_but_are_not_driven(store: Store) -> None:
    other = RunRequest(assets=(FLAT,), idempotency_key="other-1", tags={"lockgate/source": "automation"})
    store.enqueue_runs([(other, "lake", 0)], now=NOW)
    adapter = LakeAdapter(hold=1000)
    policy = LaunchPolicy(default_per_adapter=2, max_attempts=1)
    Launcher({"lake": adapter}, policy).step(store, NOW)  # the automation run takes one slot
    _queue(store)
    only = Launcher({"lake": adapter}, policy, only=lambda r: r.request.tags.get(bf.TAG) == "bf-test")
    only.step(store, NOW)
    assert bf.progress(store, "bf-test").counts == {"running": 1, "queued": 4}
    assert [r.state for r in store.run_queue() if not r.request.tags.get(bf.TAG)] == [RunQueueState.RUNNING]


def _grouped(key: AssetKey, *deps: AssetKey, group: str) -> AssetSpec:
    origin = Origin(system="lake", adapter="lake", external_id=str(key))
    return AssetSpec(key=key, origin=origin, deps=deps, metadata={"lockgate/run_group": group})


TWO_GROUPS = AssetGraph.build(
    [_spec(SOURCE, external=True), _grouped(RAW, SOURCE, group="load"), _grouped(CLEAN, RAW, group="build")]
)


def test_a_partition_waits_for_its_upstream_group_and_skips_after_a_failure(store: Store) -> None:
    plan = bf.plan_backfill(
        TWO_GROUPS, PARTS, (CLEAN, RAW), "2026-01-03", "2026-01-05", backfill="bf-test", now=NOW
    )
    assert [(r.partition, r.assets) for r, _, _ in plan] == [
        (day, (key,)) for day in ("2026-01-03", "2026-01-04", "2026-01-05") for key in (RAW, CLEAN)
    ]
    loads, builds = plan[0::2], plan[1::2]
    assert all(r.after == () for r, _, _ in loads)
    assert [r.after for r, _, _ in builds] == [(r.idempotency_key,) for r, _, _ in loads]  # same day only
    store.enqueue_runs(plan, now=NOW)
    adapter = LakeAdapter(fail=["2026-01-04"], hold=1)
    launcher = Launcher({"lake": adapter}, LaunchPolicy(max_attempts=1))
    launcher.step(store, NOW)
    assert [assets for _, assets in adapter.launched] == [(RAW,)] * 3  # every build waits
    state = _drive(store, adapter)
    assert state.counts == {"succeeded": 4, "failed": 2}
    assert ("2026-01-04", (CLEAN,)) not in adapter.launched  # its load failed: never launched
    assert sorted(adapter.launched) == sorted(
        [(d, (RAW,)) for d in ("2026-01-03", "2026-01-04", "2026-01-05")]
        + [(d, (CLEAN,)) for d in ("2026-01-03", "2026-01-05")]
    )
    skipped = next(
        r for r in store.run_queue() if r.request.partition == "2026-01-04" and r.request.assets == (CLEAN,)
    )
    assert skipped.state is RunQueueState.FAILED
    assert skipped.message == f"not launched: the upstream run {loads[1][0].idempotency_key} failed"


def test_a_request_after_a_cancelled_one_is_cancelled_too(store: Store) -> None:
    plan = bf.plan_backfill(
        TWO_GROUPS, PARTS, (CLEAN, RAW), "2026-01-03", "2026-01-03", backfill="bf-test", now=NOW
    )
    store.enqueue_runs(plan, now=NOW)
    load = next(r for r in store.run_queue() if r.request.assets == (RAW,))
    store.update_queued_run(load.id, now=NOW, state=RunQueueState.CANCELLED)
    adapter = LakeAdapter()
    Launcher({"lake": adapter}, LaunchPolicy(max_attempts=1)).step(store, NOW)
    assert adapter.launched == []
    assert [(r.state, r.message.split(":")[0]) for r in store.run_queue()] == [
        (RunQueueState.CANCELLED, ""),
        (RunQueueState.CANCELLED, "not launched"),
    ]
