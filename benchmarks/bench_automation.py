"""Automation evaluation at scale: 10k assets, 1k of them daily-partitioned over 3 years.

~1.1M asset partitions; eager() on the unpartitioned assets, on_missing() on the partitioned ones.
Reports the median of a cold full evaluation (every asset, empty memory) and of an incremental
tick after one upstream materialization (evaluator only, world in memory as the daemon keeps it),
plus the same incremental tick through the store (SQLite): read events, evaluate, record the tick.

With ``--dagster`` it also builds the same graph (same keys, deps, daily partitions, eager() and
on_missing()) in Dagster, in its own venv (``benchmarks/.work/dagster-venv``, ``DAGSTER_PYTHON``
to override), and evaluates it with Dagster's own evaluator (``evaluate_automation_conditions``
on an ephemeral instance) in the same run; lockgate evaluates the same state (nothing
materialized yet, so every partition is missing) and the ratio is reported. ``--scale 0.1``
shrinks both graphs (Dagster needs minutes for 10k assets).

    .venv/bin/python benchmarks/bench_automation.py [--dagster] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
DAGSTER_PYTHON = Path(
    os.environ.get("DAGSTER_PYTHON", Path(__file__).parent / ".work" / "dagster-venv" / "bin" / "python")
)


def build(
    scale: float = 1.0,
) -> tuple[AssetGraph, dict[AssetKey, c.Condition], dict[AssetKey, object], World]:
    global N, PARTITIONED
    N, PARTITIONED = max(100, int(10_000 * scale) // 100 * 100), max(100, int(1_000 * scale) // 100 * 100)
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


DAGSTER_SCRIPT = r"""
import json, sys, time, warnings
from datetime import datetime, timezone
warnings.filterwarnings("ignore")
import dagster as dg

doc = json.load(open(sys.argv[1]))
daily = dg.DailyPartitionsDefinition(start_date="2021-01-01", end_date="2024-01-01")
cond = {"eager": dg.AutomationCondition.eager(), "on_missing": dg.AutomationCondition.on_missing()}

def specs(part):
    return [
        dg.AssetSpec(a["key"], deps=a["deps"], partitions_def=daily if part else None,
                     automation_condition=cond[a["condition"]] if a["condition"] else None)
        for a in doc["assets"] if a["partitioned"] == part
    ]

def body(context):
    for key in context.selected_asset_keys:
        yield dg.MaterializeResult(asset_key=key)

plain = dg.multi_asset(specs=specs(False), can_subset=True, name="plain")(body)
parted = dg.multi_asset(specs=specs(True), can_subset=True, partitions_def=daily, name="parted")(body)
t = time.perf_counter()
defs = dg.Definitions(assets=[plain, parted])
defs.get_repository_def().asset_graph
built = time.perf_counter() - t
instance = dg.DagsterInstance.ephemeral()
now = datetime(2024, 1, 1, 12, tzinfo=timezone.utc)
t = time.perf_counter()
first = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=now)
cold = time.perf_counter() - t
t = time.perf_counter()
second = dg.evaluate_automation_conditions(
    defs=defs, instance=instance, cursor=first.cursor, evaluation_time=now.replace(minute=1)
)
again = time.perf_counter() - t
print(json.dumps({"version": dg.__version__, "build": built, "cold": cold, "second": again,
                  "requested": [first.total_requested, second.total_requested]}))
"""


def dagster_compare(
    graph: AssetGraph, conditions: dict[AssetKey, c.Condition], partitions: dict[AssetKey, object]
) -> None:
    """The same graph, state and conditions in Dagster (its venv) and in lockgate; the ratio."""
    if not DAGSTER_PYTHON.exists():
        print(f"dagster comparison skipped: no {DAGSTER_PYTHON} (set DAGSTER_PYTHON)")
        return
    names = {"eager()": "eager", "on_missing()": "on_missing"}
    assets = [
        {
            "key": str(key).replace("/", "__"),
            "deps": [str(d).replace("/", "__") for d in graph.get(key).deps],
            "partitioned": key in partitions,
            "condition": names[str(conditions[key])] if key in conditions else None,
        }
        for key in graph
    ]
    ev = Evaluator(graph, conditions, partitions)  # type: ignore[arg-type]
    empty = World()  # the state Dagster's empty instance has: nothing materialized
    cold, second = [], []
    for _ in range(3):
        t = time.perf_counter()
        result = ev.evaluate(empty, Changes(), {}, previous=None, now=NOW, full=True)
        cold.append(time.perf_counter() - t)
        later = NOW + timedelta(minutes=1)
        t = time.perf_counter()
        ev.evaluate(empty, Changes(), dict(result.memory), previous=NOW, now=later)
        second.append(time.perf_counter() - t)
    ours_cold, ours_second = statistics.median(cold), statistics.median(second)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "graph.json").write_text(json.dumps({"assets": assets}))
        (Path(tmp) / "dagster_eval.py").write_text(DAGSTER_SCRIPT)
        done = subprocess.run(
            [str(DAGSTER_PYTHON), str(Path(tmp) / "dagster_eval.py"), str(Path(tmp) / "graph.json")],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        print(f"dagster comparison failed:\n{done.stderr[-3000:]}")
        return
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"dagster {theirs['version']} (same graph, nothing materialized): definitions + asset graph "
        f"{theirs['build']:.1f} s; evaluate_automation_conditions cold {theirs['cold'] * 1000:.0f} ms, "
        f"second tick {theirs['second'] * 1000:.0f} ms (requested {theirs['requested']})"
    )
    print(
        f"lockgate on the same state: cold full evaluation {ours_cold * 1000:.1f} ms, second tick "
        f"{ours_second * 1000:.1f} ms (requested {len(result.requested)} assets' partitions)"
    )
    print(
        f"ratio dagster/lockgate: cold {theirs['cold'] / ours_cold:.0f}x, "
        f"second tick {theirs['second'] / ours_second:.0f}x (target >= 20x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dagster", action="store_true", help="also evaluate the same graph in Dagster")
    parser.add_argument("--scale", type=float, default=1.0, help="graph size relative to 10k assets")
    args = parser.parse_args()
    graph, conditions, partitions, world = build(args.scale)
    if args.dagster:
        dagster_compare(graph, conditions, partitions)
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
