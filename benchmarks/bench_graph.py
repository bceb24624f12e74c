"""Asset graph and selection at 100k assets / ~300k edges, against a plain-Python baseline.

Run: ``.venv/bin/python benchmarks/bench_graph.py [--assets 100000] [--repeat 25]``.

The synthetic graph looks like a dbt mesh: 50 projects (one ``group`` each) with sources
(Fivetran/Airbyte, external), staging, intermediate and mart layers; marts sometimes read another
project's marts. Every asset has 0-2 tags of ten, a kind and an owner.

Baseline ("the simplest thing that works"): dicts of sets keyed by AssetKey for parents and
children, a ``collections.deque`` BFS with a depth counter for lineage, a list comprehension over
all specs for attribute filters, and a linear scan of all keys for suffix resolution. Both sides
return the same answer (asserted before timing).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import deque
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Result, median_ms, print_table

from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.specs import AssetSpec, Origin

LAYERS = (("source", 0.15), ("staging", 0.25), ("intermediate", 0.35), ("mart", 0.25))


def synthetic_specs(n: int, *, projects: int = 50, seed: int = 7) -> list[AssetSpec]:
    rng = random.Random(seed)
    per = n // projects
    specs: list[AssetSpec] = []
    marts_by_project: list[list[AssetKey]] = []
    for p in range(projects):
        layer_keys: dict[str, list[AssetKey]] = {name: [] for name, _ in LAYERS}
        for name, share in LAYERS:
            for j in range(int(per * share)):
                key = AssetKey((f"p{p}", name, f"{name}_{p}_{j}"))
                deps: list[AssetKey] = []
                if name == "staging":
                    deps = rng.sample(layer_keys["source"], rng.randint(1, 2))
                elif name == "intermediate":
                    pool = layer_keys["staging"] + layer_keys["intermediate"][-200:]
                    deps = rng.sample(pool, rng.randint(3, 5))
                elif name == "mart":
                    deps = rng.sample(layer_keys["intermediate"], rng.randint(4, 8))
                    if p and rng.random() < 0.3:
                        deps.append(rng.choice(marts_by_project[rng.randrange(p)]))
                system = rng.choice(("fivetran", "airbyte")) if name == "source" else "dbt"
                if name == "mart" and rng.random() < 0.2:
                    system = "airflow"
                specs.append(
                    AssetSpec(
                        key=key,
                        origin=Origin(system=system, adapter=f"{system}-{p % 3}", external_id=str(key)),
                        deps=tuple(deps),
                        group=f"g{p}",
                        tags=tuple(f"t{t}" for t in rng.sample(range(10), rng.randint(0, 2))),
                        kinds=("table" if name in ("source", "mart") else "view",),
                        owners=(f"team-{p % 7}",),
                        external=name == "source",
                    )
                )
                layer_keys[name].append(key)
        marts_by_project.append(layer_keys["mart"])
    return specs


class Baseline:
    """Dict-of-sets adjacency and deque BFS: what one writes without thinking about speed."""

    def __init__(self, specs: list[AssetSpec]) -> None:
        self.specs = {s.key: s for s in specs}
        self.parents: dict[AssetKey, set[AssetKey]] = {s.key: set(s.deps) for s in specs}
        self.children: dict[AssetKey, set[AssetKey]] = {s.key: set() for s in specs}
        for s in specs:
            for d in s.deps:
                self.children[d].add(s.key)

    def bfs(self, key: AssetKey, *, up: bool, depth: int | None) -> set[AssetKey]:
        adjacency = self.parents if up else self.children
        seen = {key}
        queue = deque([(key, 0)])
        while queue:
            node, level = queue.popleft()
            if depth is not None and level >= depth:
                continue
            for nxt in adjacency[node]:
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append((nxt, level + 1))
        return seen

    def upstream_of_tag(self, tag: str) -> set[AssetKey]:
        seen = {k for k, s in self.specs.items() if tag in s.tags}
        queue = deque(seen)
        while queue:
            for nxt in self.parents[queue.popleft()]:
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        return seen

    def attributes(self, group: str, system: str, not_tag: str) -> set[AssetKey]:
        return {
            k
            for k, s in self.specs.items()
            if s.group == group and s.origin.system == system and not_tag not in s.tags
        }

    def resolve(self, suffix: str) -> AssetKey:
        parts = tuple(suffix.split("/"))
        found = [k for k in self.specs if k.path[-len(parts) :] == parts]
        assert len(found) == 1
        return found[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=25)
    args = parser.parse_args()

    specs = synthetic_specs(args.assets)
    edges = sum(len(s.deps) for s in specs)
    t0 = time.perf_counter()
    graph = AssetGraph.build(specs)
    first_build = (time.perf_counter() - t0) * 1000
    baseline = Baseline(specs)
    last = len(specs) // 50 * 49
    marts = [s.key for s in specs[last:] if s.key.path[1] == "mart"]
    mart = marts[0]  # a typical mart
    deep = max(marts, key=lambda k: len(graph.upstream([k])))  # the mart with the most lineage
    inter = next(s.key for s in specs[last:] if s.key.path[1] == "intermediate")
    print(f"graph: {len(graph)} assets, {edges} edges; first build {first_build:.0f} ms")

    cases: list[tuple[str, set[AssetKey] | None, Callable[[], set[AssetKey]]]] = [
        (f"3+{mart.name}", graph.upstream([mart], 3), lambda: baseline.bfs(mart, up=True, depth=3)),
        (f"+{mart.name}", graph.upstream([mart]), lambda: baseline.bfs(mart, up=True, depth=None)),
        (f"+{deep.name}", graph.upstream([deep]), lambda: baseline.bfs(deep, up=True, depth=None)),
        (f"{inter.name}+2", graph.downstream([inter], 2), lambda: baseline.bfs(inter, up=False, depth=2)),
        (f"{inter.name}+", graph.downstream([inter]), lambda: baseline.bfs(inter, up=False, depth=None)),
        (
            "group:g49 and system:dbt and not tag:t2",
            None,
            lambda: baseline.attributes("g49", "dbt", "t2"),
        ),
        ("+tag:t1 (stress: a large closure)", None, lambda: baseline.upstream_of_tag("t1")),
    ]
    results: list[Result] = []
    for expression, expected, base_fn in cases:
        expression = expression.split(" (")[0]
        got = set(graph.select(expression))
        assert got == base_fn(), expression
        assert expected is None or got == expected, expression
        ours = median_ms(partial(graph.select, expression), repeat=args.repeat)
        base = median_ms(base_fn, repeat=args.repeat)
        results.append(
            Result(name=f"select({expression})", ours_ms=ours, baseline_ms=base, note=f"{len(got)} keys")
        )
    suffix = "/".join(mart.path[-2:])
    assert graph.resolve(suffix) == baseline.resolve(suffix) == mart
    results.append(
        Result(
            name=f"resolve({suffix})",
            ours_ms=median_ms(lambda: graph.resolve(suffix), repeat=args.repeat),
            baseline_ms=median_ms(lambda: baseline.resolve(suffix), repeat=max(3, args.repeat // 5)),
        )
    )
    results.append(
        Result(
            name="upstream([key]) (key API, full)",
            ours_ms=median_ms(lambda: graph.upstream([mart]), repeat=args.repeat),
            baseline_ms=median_ms(lambda: baseline.bfs(mart, up=True, depth=None), repeat=args.repeat),
        )
    )
    results.append(
        Result(
            name="build (AssetGraph.build / dict-of-sets)",
            ours_ms=median_ms(lambda: AssetGraph.build(specs), repeat=5, warmup=0),
            baseline_ms=median_ms(lambda: Baseline(specs), repeat=5, warmup=0),
            note="includes toposort + cycle check (baseline: none)",
        )
    )
    print_table(
        f"AssetGraph at {len(graph)} assets / {edges} edges (median of {args.repeat} runs)",
        "dict-of-sets adjacency + deque BFS; list comprehension filter; linear suffix scan",
        results,
    )


if __name__ == "__main__":
    main()
