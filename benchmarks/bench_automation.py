"""Automation evaluation at scale: 10k assets, 1k of them daily-partitioned over 3 years.

~1.1M asset partitions; eager() on the unpartitioned assets, on_missing() on the partitioned ones.
Reports the median of a cold full evaluation (every asset, empty memory) and of an incremental
tick after one upstream materialization (evaluator only, world in memory as the daemon keeps it),
plus the same incremental tick through the store (SQLite): read events, evaluate, record the tick.

    .venv/bin/python benchmarks/bench_automation.py
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

from lockgate.federation.automation import conditions as c
from lockgate.federation.automation.evaluator import Evaluator
from lockgate.federation.automation.records import AssetMemory
from lockgate.federation.automation.tick import Automation
from lockgate.federation.automation.world import Changes, World
from lockgate.federation.events import Materialization
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.partitions import Ranges, daily, partition_keys
from lockgate.federation.specs import AssetSpec, Origin
from lockgate.federation.store.store import Store

N, PARTITIONED = 10_000, 1_000
NOW = datetime(2024, 1, 1, 12, tzinfo=UTC)


def build() -> tuple[AssetGraph, dict[AssetKey, c.Condition], dict[AssetKey, object], World]:
    rng = random.Random(7)
    keys = [AssetKey.of("bench", f"a{i:05d}") for i in range(N)]
    specs = []
    for i, key in enumerate(keys):
        block = i - i % 100  # 100 projects of 100 assets: sources, then layers within the project
        pool = range(max(block, i - 50), i)
        deps = tuple(keys[j] for j in rng.sample(pool, k=min(len(pool), 2))) if i % 100 >= 20 else ()
        specs.append(
            AssetSpec(key=key, origin=Origin(system="dbt", adapter="dbt", external_id=str(i)), deps=deps)
        )
    graph = AssetGraph.build(specs)
    defn = daily("2021-01-01")
    n_parts = len(partition_keys(defn, NOW))
    # Partitioned assets are whole chains of their own (partitioned parents only), ids 9000..9999.
    part_keys = set(keys[N - PARTITIONED :])
    partitions = dict.fromkeys(part_keys, defn)
    specs = [
        s
        if s.key not in part_keys
        else AssetSpec(key=s.key, origin=s.origin, deps=tuple(d for d in s.deps if d in part_keys))
        for s in specs
    ]
    graph = AssetGraph.build(specs)
    conditions = {
        k: (c.on_missing() if k in part_keys else c.eager()) for i, k in enumerate(keys) if i % 100 >= 20
    }
    world = World()
    for k in keys:
        facts = world.of(k)
        if k in part_keys:
            gap = rng.randrange(n_parts)
            facts.materialized = Ranges.span(0, n_parts) - Ranges.span(gap, gap + 1)
        else:
            facts.materialized = Ranges.span(0, 1)
            facts.last_updated = NOW.timestamp() - 3600
    print(
        f"assets {len(graph)}, partitioned {len(part_keys)} x {n_parts}"
        f" = {len(part_keys) * n_parts:,} partitions"
    )
    return graph, conditions, partitions, world  # type: ignore[return-value]


def median(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    graph, conditions, partitions, world = build()
    t = time.perf_counter()
    ev = Evaluator(graph, conditions, partitions)  # type: ignore[arg-type]
    print(f"evaluator build (load-time mapping checks): {(time.perf_counter() - t) * 1000:.0f} ms")
    full: list[float] = []
    memory: dict[AssetKey, AssetMemory] = {}
    for _ in range(5):
        t = time.perf_counter()
        result = ev.evaluate(world, Changes(), {}, previous=None, now=NOW, full=True)
        full.append(time.perf_counter() - t)
        memory = dict(result.memory)
    print(
        f"cold full evaluation: median {median(full):.0f} ms"
        f"  (runs: {', '.join(f'{x * 1000:.0f}' for x in full)})"
    )
    # settle: the tick after the first one resets newly-requested memory
    later = NOW + timedelta(seconds=30)
    memory.update(ev.evaluate(world, Changes(), memory, previous=NOW, now=later).memory)
    for step in (1, 2):
        settle = later + timedelta(seconds=30 * step)
        memory.update(
            ev.evaluate(world, Changes(), memory, previous=settle - timedelta(seconds=30), now=settle).memory
        )
    source = graph.key_of(25)
    inc: list[float] = []
    evaluated = 0
    for i in range(7):
        now = later + timedelta(minutes=i + 1)
        changes = Changes(updated={source: Ranges.span(0, 1)}, touched=frozenset({source}))
        t = time.perf_counter()
        result = ev.evaluate(world, changes, dict(memory), previous=now - timedelta(seconds=30), now=now)
        inc.append(time.perf_counter() - t)
        evaluated = len(result.trees)
    print(
        f"incremental tick after one upstream materialization (evaluator): median {median(inc):.2f} ms, "
        f"{evaluated} assets evaluated"
    )
    store_tick(graph, conditions, partitions)


def store_tick(
    graph: AssetGraph, conditions: dict[AssetKey, c.Condition], partitions: dict[AssetKey, object]
) -> None:
    with tempfile.TemporaryDirectory() as tmp, Store.open(f"sqlite:///{tmp}/bench.db") as store:
        auto = Automation(graph, store, conditions, partitions=partitions, holder="bench")  # type: ignore[arg-type]
        t = time.perf_counter()
        auto.tick(NOW)
        print(
            "store-backed first tick (cold load + full evaluation + record): "
            f"{(time.perf_counter() - t) * 1000:.0f} ms"
        )
        source = graph.key_of(25)
        samples = []
        for i in range(7):
            now = NOW + timedelta(minutes=i + 1)
            auto.tick(now)  # settle
            store.record_events(
                [Materialization(event_id=f"b{i}", adapter="dbt", timestamp=now, asset_key=source)]
            )
            t = time.perf_counter()
            auto.tick(now + timedelta(seconds=30))
            samples.append(time.perf_counter() - t)
        print(
            "store-backed incremental tick on an EMPTY store "
            "(SQLite I/O of a tick: events, evaluate, record): "
            f"median {median(samples):.1f} ms"
        )


if __name__ == "__main__":
    main()
