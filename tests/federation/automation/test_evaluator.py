from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from lockgate.federation.adapter import Discovery, EventSink, ObserveResult, RunHandle, RunRequest, RunState
from lockgate.federation.events import Event, Materialization
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey, CheckKey
from lockgate.federation.specs import AssetSpec, CheckSpec, Origin


def key(name: str) -> AssetKey:
    return AssetKey.of(name)


def spec(name: str, *deps: str, adapter: str = "dbt", system: str = "dbt") -> AssetSpec:
    return AssetSpec(
        key=key(name),
        origin=Origin(system=system, adapter=adapter, external_id=name),
        deps=tuple(key(d) for d in deps),
    )


def graph(edges: Mapping[str, Sequence[str]], checks: Sequence[tuple[str, str]] = ()) -> AssetGraph:
    return AssetGraph.build(
        [spec(n, *deps) for n, deps in edges.items()],
        [
            CheckSpec(key=CheckKey(key(a), c), origin=Origin(system="dbt", adapter="dbt", external_id=c))
            for a, c in checks
        ],
    )


_counter = [0]


def mat(name: str, at: datetime, partition: str | None = None) -> Materialization:
    _counter[0] += 1
    return Materialization(
        event_id=f"m{_counter[0]}", adapter="dbt", timestamp=at, asset_key=key(name), partition=partition
    )


class FakeAdapter:
    """An in-test Adapter: records every launch; idempotent by key like a real adapter must be."""

    def __init__(self, name: str = "dbt", *, fail_first: int = 0) -> None:
        self.name = name
        self.launches: list[RunRequest] = []
        self.fail_first = fail_first
        self.finish: dict[str, RunState] = {}

    def discover(self) -> Discovery:
        return Discovery(assets=())

    def observe(self, cursor: str | None) -> ObserveResult:
        return ObserveResult(events=(), cursor=cursor)

    def launch(self, request: RunRequest, sink: EventSink) -> RunHandle:
        from lockgate.federation.errors import TransientError

        self.launches.append(request)
        if self.fail_first > 0:
            self.fail_first -= 1
            busy = "the fake system is busy"
            raise TransientError(busy, where="fake", fix="retry")
        return RunHandle(adapter=self.name, run_id=request.idempotency_key, state=RunState.RUNNING)

    def poll(self, handle: RunHandle, sink: EventSink) -> RunHandle:
        state = self.finish.get(handle.run_id, RunState.RUNNING)
        return RunHandle(adapter=self.name, run_id=handle.run_id, state=state)

    def close(self) -> None:
        pass


def events_of(*events: Event) -> list[Event]:
    return list(events)


# ------------------------------------------------------------------------------------------ tests

import random  # noqa: E402
from datetime import UTC, timedelta  # noqa: E402

import pytest  # noqa: E402

from lockgate.federation.automation import conditions as c  # noqa: E402
from lockgate.federation.automation.evaluator import Evaluator  # noqa: E402
from lockgate.federation.automation.launcher import Launcher  # noqa: E402
from lockgate.federation.automation.records import AssetMemory, RunQueueState  # noqa: E402
from lockgate.federation.automation.tick import Automation  # noqa: E402
from lockgate.federation.automation.world import World, fold_events  # noqa: E402
from lockgate.federation.events import CheckEvaluated  # noqa: E402
from lockgate.federation.partitions import daily, partition_keys  # noqa: E402
from lockgate.federation.specs import CheckStatus  # noqa: E402
from lockgate.federation.store.store import Store  # noqa: E402

T0 = datetime(2024, 1, 10, 12, tzinfo=UTC)


class Sim:
    """Drives an Evaluator tick by tick without a store."""

    def __init__(self, ev: Evaluator, partitions: dict[AssetKey, object] | None = None) -> None:
        self.ev, self.world, self.memory = ev, World(), dict[AssetKey, AssetMemory]()
        self.previous: datetime | None = None
        self.partitions = partitions or {}

    def tick(
        self, now: datetime, events: Sequence[Event] = (), *, full: bool = False
    ) -> dict[str, list[int]]:
        keys = {k: partition_keys(d, now) for k, d in self.partitions.items()}  # type: ignore[arg-type]
        changes = fold_events(self.world, events, keys)
        result = self.ev.evaluate(
            self.world, changes, self.memory, previous=self.previous, now=now, full=full
        )
        self.memory.update(result.memory)
        self.previous = now
        self._last = result
        return {str(k): list(v) for k, v in result.requested.items()}


def test_eager_requests_downstream_of_an_update_in_one_tick() -> None:
    g = graph({"raw": [], "stg": ["raw"], "mart": ["stg"], "other": []})
    ev = Evaluator(g, {key(n): c.eager() for n in ("stg", "mart", "other")})
    sim = Sim(ev)
    first = sim.tick(T0, [mat("raw", T0), mat("stg", T0), mat("mart", T0), mat("other", T0)])
    assert first == {}
    assert sim.tick(T0 + timedelta(minutes=1)) == {}
    out = sim.tick(T0 + timedelta(minutes=2), [mat("raw", T0 + timedelta(minutes=2))])
    assert out == {"stg": [0], "mart": [0]}  # mart via will_be_requested: one tick, one run
    assert sim.tick(T0 + timedelta(minutes=3)) == {}  # handled: not requested again
    tree = sim._last.trees
    assert key("other") not in tree  # untouched assets are not evaluated incrementally


def test_eager_waits_for_missing_and_in_progress_parents() -> None:
    g = graph({"a": [], "b": ["a"]})
    sim = Sim(Evaluator(g, {key("b"): c.eager()}))
    assert sim.tick(T0) == {}  # a is missing: b waits
    out = sim.tick(T0 + timedelta(minutes=1), [mat("a", T0)])
    assert out == {"b": [0]}
    why = sim._last.trees[key("b")]
    assert why["condition"] == "eager()" and why["true"] == 1


def test_blocking_failing_check_stops_downstream_until_it_passes() -> None:
    g = graph({"a": [], "b": ["a"]}, checks=[("a", "not_null")])
    sim = Sim(Evaluator(g, {key("b"): c.eager()}))
    sim.tick(T0, [mat("a", T0), mat("b", T0)])
    fail = CheckEvaluated(
        event_id="c1",
        adapter="dbt",
        timestamp=T0,
        asset_key=key("a"),
        check_name="not_null",
        status=CheckStatus.FAILED,
    )
    assert sim.tick(T0 + timedelta(minutes=1), [mat("a", T0), fail]) == {}
    tree = sim._last.trees[key("b")]
    assert "blocking checks failed: a:not_null" in str(tree)
    ok = CheckEvaluated(
        event_id="c2",
        adapter="dbt",
        timestamp=T0,
        asset_key=key("a"),
        check_name="not_null",
        status=CheckStatus.PASSED,
    )
    assert sim.tick(T0 + timedelta(minutes=2), [ok]) == {"b": [0]}


def test_on_cron_fires_once_per_window_with_a_controllable_clock() -> None:
    g = graph({"a": [], "b": ["a"]})
    sim = Sim(Evaluator(g, {key("b"): c.on_cron("0 6 * * *", "Europe/Berlin")}))
    day = datetime(2024, 1, 10, 4, 0, tzinfo=UTC)  # 05:00 in Berlin
    sim.tick(day, [mat("a", day - timedelta(days=1)), mat("b", day - timedelta(days=1))])
    assert sim.tick(day + timedelta(minutes=30)) == {}
    at_six = day + timedelta(hours=1, minutes=1)
    assert sim.tick(at_six) == {}  # tick passed, but a not updated since 06:00
    fired = []
    for minute in range(0, 120, 10):
        now = at_six + timedelta(minutes=minute + 1)
        evs = [mat("a", now)] if minute == 30 else []
        if sim.tick(now, evs):
            fired.append(minute)
    assert fired == [30]
    next_day = [
        sim.tick(
            at_six + timedelta(days=1, minutes=m), [mat("a", at_six + timedelta(days=1))] if m == 0 else []
        )
        for m in range(0, 60, 15)
    ]
    assert sum(1 for out in next_day if out) == 1


def test_on_missing_fills_each_missing_partition_once() -> None:
    d = daily("2024-01-01")
    g = graph({"a": []})
    sim = Sim(Evaluator(g, {key("a"): c.on_missing()}, {key("a"): d}), {key("a"): d})
    done = [mat("a", T0, f"2024-01-0{i}") for i in (1, 2, 4)]
    out = sim.tick(T0, done)
    assert out == {"a": [2, 4, 5, 6, 7, 8]}
    assert sim.tick(T0 + timedelta(hours=1)) == {}
    assert sim.tick(T0 + timedelta(hours=2)) == {}
    assert sim.tick(T0 + timedelta(days=1)) == {"a": [9]}  # a new day: only the new partition


def test_condition_semantics_primitives() -> None:
    g = graph({"a": [], "b": ["a"]})
    cond = (c.missing() | c.in_progress()).newly_true()
    sim = Sim(Evaluator(g, {key("b"): cond, key("a"): c.code_version_changed()}))
    assert sim.tick(T0) == {"b": [0]}
    assert sim.tick(T0 + timedelta(minutes=1)) == {}  # still missing, not newly
    trig = c.any_deps_updated().since(c.newly_updated())
    sim2 = Sim(Evaluator(g, {key("b"): trig}))
    sim2.tick(T0)
    assert sim2.tick(T0 + timedelta(minutes=1), [mat("a", T0)]) == {"b": [0]}
    assert sim2.tick(T0 + timedelta(minutes=2)) == {"b": [0]}  # stays true ...
    assert sim2.tick(T0 + timedelta(minutes=3), [mat("b", T0)]) == {}  # ... until reset


@pytest.mark.parametrize("seed", range(6))
def test_incremental_equals_full_on_random_graphs(seed: int) -> None:
    rng = random.Random(seed)
    names = [f"n{i:02d}" for i in range(30)]
    edges = {n: rng.sample(names[:i], k=min(i, rng.randint(0, 3))) for i, n in enumerate(names)}
    g = graph(edges)
    pool = [c.eager(), c.on_missing(), c.on_cron("*/20 * * * *"), c.missing() & ~c.any_deps_missing()]
    conds = {key(n): rng.choice(pool) for n in names if rng.random() < 0.8}
    inc, full = Sim(Evaluator(g, conds)), Sim(Evaluator(g, conds))
    now = T0
    for _ in range(25):
        now += timedelta(minutes=rng.randint(1, 15))
        evs = [mat(n, now) for n in rng.sample(names, k=rng.randint(0, 3))]
        assert inc.tick(now, evs) == full.tick(now, evs, full=True)


def _store_graph() -> AssetGraph:
    return graph({"raw": [], "stg": ["raw"], "mart": ["stg"]})


def test_lease_is_exclusive_and_expires(store_url: str) -> None:
    with Store.open(store_url) as store:
        ttl = timedelta(seconds=60)
        assert store.acquire_lease("automation", "one", now=T0, ttl=ttl)
        assert not store.acquire_lease("automation", "two", now=T0 + timedelta(seconds=30), ttl=ttl)
        assert store.acquire_lease("automation", "one", now=T0 + timedelta(seconds=50), ttl=ttl)  # renew
        assert not store.acquire_lease("automation", "two", now=T0 + timedelta(seconds=100), ttl=ttl)
        assert store.acquire_lease("automation", "two", now=T0 + timedelta(seconds=111), ttl=ttl)
        g = _store_graph()
        a = Automation(g, store, {key("stg"): c.eager()}, holder="one")
        assert a.tick(T0 + timedelta(seconds=112)).skipped


def test_tick_crash_after_recording_launches_each_request_exactly_once(store_url: str) -> None:
    g = _store_graph()
    conds = {key("stg"): c.eager(), key("mart"): c.eager()}
    with Store.open(store_url) as store:
        store.record_events([mat("raw", T0), mat("stg", T0), mat("mart", T0)])
        Automation(g, store, conds, holder="d1").tick(T0)
        store.record_events([mat("raw", T0 + timedelta(minutes=1))])
        # The daemon records the tick, then is killed before its launcher runs.
        crashed = Automation(g, store, conds, holder="d1").tick(T0 + timedelta(minutes=2), launcher=None)
        assert len(crashed.requests) == 1 and crashed.requests[0].assets == (key("mart"), key("stg"))
        fake = FakeAdapter("dbt")
        launcher = Launcher({"dbt": fake})
        # A restarted daemon (same holder after restart, or a new one once the lease expired).
        for minute in (3, 4, 5):
            Automation(g, store, conds, holder="d1").tick(T0 + timedelta(minutes=minute), launcher)
        assert [r.idempotency_key for r in fake.launches] == [crashed.requests[0].idempotency_key]
        queue = store.run_queue()
        assert [q.state for q in queue] == [RunQueueState.RUNNING]
        explained = store.evaluations(key("mart"), limit=5)
        assert explained and explained[-1][2].tree["condition"] == "eager()"


def test_launcher_retries_with_backoff_and_respects_limits(store_url: str) -> None:
    from lockgate.federation.automation.launcher import LaunchPolicy

    g = graph({"a": [], "b": []})
    with Store.open(store_url) as store:
        fake = FakeAdapter("dbt", fail_first=1)
        policy = LaunchPolicy(default_per_adapter=1, backoff=timedelta(seconds=30), max_attempts=2)
        launcher = Launcher({"dbt": fake}, policy)
        auto = Automation(g, store, {key("a"): c.on_missing()}, holder="d")
        result = auto.tick(T0, launcher)
        assert len(result.requests) == 1 and result.launched == ()
        assert launcher.step(store, T0 + timedelta(seconds=10)) == []  # backing off
        handles = launcher.step(store, T0 + timedelta(seconds=31))
        assert len(handles) == 1 and handles[0].run_id.endswith(":attempt2")
        fake.finish[handles[0].run_id] = RunState.SUCCEEDED
        launcher.step(store, T0 + timedelta(seconds=40))
        assert [q.state for q in store.run_queue()] == [RunQueueState.SUCCEEDED]
