"""Evaluate conditions over the graph, incrementally, and explain every decision.

An asset is evaluated in a tick when something it reads may have changed: it or a parent has new
events, a parent is requested in this tick, a cron it uses ticked, its partitions grew, its
condition or code version changed, or its previous evaluation was not a fixed point (an event
operand or ``newly_true`` was true, or it requested something). Every other asset would evaluate
to exactly what it did last time, so it is skipped and its memory carried forward; a test checks
that incremental evaluation equals full evaluation on random graphs and histories.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter

from lockgate.federation.automation import conditions as c
from lockgate.federation.automation.records import AssetMemory
from lockgate.federation.automation.world import AssetFacts, Changes, World
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.partitions.definitions import (
    PartitionKeys,
    PartitionsDefinition,
    TimeWindowPartitions,
    partition_keys,
)
from lockgate.federation.partitions.mappings import PartitionMapping, downstream_of, resolve_mapping
from lockgate.federation.partitions.ranges import EMPTY, Ranges

Tree = dict[str, Any]


@dataclass(slots=True)
class Result:
    requested: dict[AssetKey, Ranges] = field(default_factory=dict)
    trees: dict[AssetKey, Tree] = field(default_factory=dict)
    memory: dict[AssetKey, AssetMemory] = field(default_factory=dict)
    """New memory of every evaluated asset (the others keep theirs)."""
    keys: dict[AssetKey, PartitionKeys] = field(default_factory=dict)


def _crons(cond: c.Condition) -> set[tuple[str, str]]:
    return {(n.cron, n.timezone) for n in cond.walk() if isinstance(n, c.CronCondition)}


class Evaluator:
    """Built once per graph and set of conditions; mismatched partitions fail here (load time)."""

    def __init__(
        self,
        graph: AssetGraph,
        conditions: Mapping[AssetKey, c.Condition],
        partitions: Mapping[AssetKey, PartitionsDefinition] | None = None,
        mappings: Mapping[tuple[AssetKey, AssetKey], PartitionMapping] | None = None,
    ) -> None:
        self.graph = graph
        parts = partitions or {}
        declared = mappings or {}
        n = len(graph)
        self.keys = [graph.key_of(i) for i in range(n)]
        self.defn: list[PartitionsDefinition | None] = [parts.get(k) for k in self.keys]
        self.cond: list[c.Condition | None] = [conditions.get(k) for k in self.keys]
        self.text = [None if x is None else str(x) for x in self.cond]
        self.crons = [set() if x is None else _crons(x) for x in self.cond]
        self.rank = [0] * n
        for r, key in enumerate(graph.toposort()):
            self.rank[graph.id_of(key)] = r
        self.parents: list[list[tuple[int, PartitionMapping]]] = [[] for _ in range(n)]
        self.children: list[list[int]] = [[] for _ in range(n)]
        for i in range(n):
            for p in sorted(graph.walk_ids((i,), up=True, depth=1) - {i}):
                where = f"dependency {self.keys[p]} -> {self.keys[i]}"
                mapping = resolve_mapping(
                    self.defn[p], self.defn[i], declared.get((self.keys[p], self.keys[i])), where=where
                )
                self.parents[i].append((p, mapping))
                self.children[p].append(i)
        specs = graph.specs
        self.external = [specs[k].external for k in self.keys]
        self.code = [specs[k].code_version for k in self.keys]
        self.blocking = [
            frozenset(ch.key.name for ch in graph.checks.get(k, ()) if ch.blocking) for k in self.keys
        ]
        self.with_condition = [i for i in range(n) if self.cond[i] is not None]

    # ------------------------------------------------------------------ the tick

    def evaluate(
        self,
        world: World,
        changes: Changes,
        memory: Mapping[AssetKey, AssetMemory],
        *,
        previous: datetime | None,
        now: datetime,
        full: bool = False,
    ) -> Result:
        result = Result()
        sizes = self._sizes(world, now, result)
        dirty = set(self.with_condition) if full else self._dirty(changes, memory, sizes, previous, now)
        heap = [(self.rank[i], i) for i in dirty]
        heapq.heapify(heap)
        seen: set[int] = set()
        run = _Tick(self, world, changes, memory, result, sizes, previous, now)
        while heap:
            _, i = heapq.heappop(heap)
            if i in seen:
                continue
            seen.add(i)
            if self.cond[i] is None:
                continue
            if run.asset(i):
                for child in self.children[i]:
                    if child not in seen:
                        heapq.heappush(heap, (self.rank[child], child))
        return result

    def _sizes(self, world: World, now: datetime, result: Result) -> list[int]:
        sizes = [1] * len(self.keys)
        cache: dict[PartitionsDefinition, PartitionKeys] = {}
        for i, defn in enumerate(self.defn):
            if defn is not None:
                found = cache.get(defn)
                if found is None:
                    found = cache[defn] = partition_keys(defn, now, world.dynamic)
                result.keys[self.keys[i]] = found
                sizes[i] = len(found)
        return sizes

    def _dirty(
        self,
        changes: Changes,
        memory: Mapping[AssetKey, AssetMemory],
        sizes: list[int],
        previous: datetime | None,
        now: datetime,
    ) -> set[int]:
        graph = self.graph
        touched = {graph.id_of(k) for k in changes.touched if k in graph}
        dirty = set(touched)
        for i in touched:
            dirty.update(self.children[i])
        due = {cron for cron in set().union(*self.crons) if _ticked(cron, previous, now)}
        for i in self.with_condition:
            mem = memory.get(self.keys[i])
            if mem is not None and mem.requested:
                dirty.update(self.children[i])
            if (
                mem is None
                or not mem.stable
                or mem.requested
                or mem.condition != self.text[i]
                or mem.size != sizes[i]
                or mem.code_version != self.code[i]
                or (due and self.crons[i] & due)
                or any(sizes[p] != _size_of(memory, self.keys[p], sizes[p]) for p, _ in self.parents[i])
            ):
                dirty.add(i)
        return dirty


def _size_of(memory: Mapping[AssetKey, AssetMemory], key: AssetKey, default: int) -> int:
    mem = memory.get(key)
    return default if mem is None else mem.size


def _ticked(cron: tuple[str, str], previous: datetime | None, now: datetime) -> bool:
    if previous is None:
        return False
    start = previous.astimezone(ZoneInfo(cron[1]))
    nxt: datetime = croniter(cron[0], start).get_next(datetime)
    return nxt <= now


def _latest_tick(cron: tuple[str, str], now: datetime) -> datetime:
    found: datetime = croniter(cron[0], now.astimezone(ZoneInfo(cron[1]))).get_prev(datetime)
    return found


class _Tick:
    """The evaluation of one tick: walks condition trees for one asset at a time."""

    def __init__(
        self,
        ev: Evaluator,
        world: World,
        changes: Changes,
        memory: Mapping[AssetKey, AssetMemory],
        result: Result,
        sizes: list[int],
        previous: datetime | None,
        now: datetime,
    ) -> None:
        self.ev, self.world, self.changes, self.memory = ev, world, changes, memory
        self.result, self.sizes, self.previous, self.now = result, sizes, previous, now
        self.requested: dict[int, Ranges] = {}
        self.i = 0
        self.universe = EMPTY
        self.old: AssetMemory | None = None
        self.new = AssetMemory(condition="")
        self.stable = True

    def asset(self, i: int) -> bool:
        ev = self.ev
        key = ev.keys[i]
        cond = ev.cond[i]
        assert cond is not None
        self.i, self.universe = i, Ranges.span(0, self.sizes[i])
        old = self.memory.get(key)
        self.old = old if old is not None and old.condition == ev.text[i] else None
        self.new = AssetMemory(condition=ev.text[i] or "", code_version=ev.code[i], size=self.sizes[i])
        self.stable = True
        value, tree = self.node(cond, "r")
        value = value & self.universe
        self.new.requested = value
        self.new.stable = self.stable
        self.result.memory[key] = self.new
        self.result.trees[key] = tree
        if value:
            self.requested[i] = value
            self.result.requested[key] = value
        return bool(value) or bool(old is not None and old.requested)

    def facts(self, i: int) -> AssetFacts:
        return self.world.facts.get(self.ev.keys[i]) or _NOTHING

    def map_up(self, p: int, mapping: PartitionMapping, subset: Ranges) -> Ranges:
        ev, keys = self.ev, self.result.keys
        return downstream_of(
            mapping, ev.defn[p], keys.get(ev.keys[p]), ev.defn[self.i], keys.get(ev.keys[self.i]), subset
        )

    def node(self, cond: c.Condition, path: str) -> tuple[Ranges, Tree]:
        kids: list[Tree] = []
        why = ""
        if isinstance(cond, c.And | c.Or):
            values = []
            for n, part in enumerate(cond.parts):
                v, t = self.node(part, f"{path}.{n}")
                values.append(v)
                kids.append(t)
            value = values[0]
            for v in values[1:]:
                value = value & v if isinstance(cond, c.And) else value | v
        elif isinstance(cond, c.Not):
            v, t = self.node(cond.child, path + ".0")
            kids.append(t)
            value = self.universe - v
        elif isinstance(cond, c.Labeled):
            value, t = self.node(cond.child, path + ".0")
            kids.append(t)
        elif isinstance(cond, c.NewlyTrue):
            v, t = self.node(cond.child, path + ".0")
            kids.append(t)
            before = self.old.nodes.get(path, EMPTY) if self.old else EMPTY
            value = v - before
            if v:
                self.new.nodes[path] = v
        elif isinstance(cond, c.Since):
            v, t = self.node(cond.trigger, path + ".0")
            r, t2 = self.node(cond.reset, path + ".1")
            kids += [t, t2]
            before = self.old.nodes.get(path, EMPTY) if self.old else EMPTY
            value = (before | v) - r
            if value:
                self.new.nodes[path] = value
        else:
            value, why = self.operand(cond)
        value = value & self.universe
        if cond.stateful and value:
            self.stable = False
        tree: Tree = {"condition": cond.label(), "true": len(value), "of": len(self.universe)}
        if why:
            tree["why"] = why
        if kids:
            tree["children"] = kids
        return value, tree

    def operand(self, cond: c.Condition) -> tuple[Ranges, str]:
        ev, i, everything = self.ev, self.i, self.universe
        if isinstance(cond, c.Missing):
            return everything - self.facts(i).materialized, ""
        if isinstance(cond, c.InProgress):
            return self.facts(i).in_progress, ""
        if isinstance(cond, c.ExecutionFailed):
            return self.facts(i).failed, ""
        if isinstance(cond, c.NewlyUpdated):
            return self.changes.updated.get(ev.keys[i], EMPTY), ""
        if isinstance(cond, c.NewlyRequested):
            return (self.old.requested if self.old else EMPTY), ""
        if isinstance(cond, c.InLatestTimeWindow):
            if isinstance(ev.defn[i], TimeWindowPartitions):
                return Ranges.span(self.sizes[i] - 1, self.sizes[i]), ""
            return everything, ""
        if isinstance(cond, c.CodeVersionChanged):
            changed = self.old is not None and self.old.code_version != ev.code[i]
            return (everything if changed else EMPTY), "code version changed" if changed else ""
        if isinstance(cond, c.ChecksPassed):
            failing = sorted(
                f"{ev.keys[j]}:{name}"
                for j in (i, *(p for p, _ in ev.parents[i]))
                for name in self.world.failing_checks.get(ev.keys[j], ())
                if name in ev.blocking[j]
            )
            if failing:
                return EMPTY, "blocking checks failed: " + ", ".join(failing[:5])
            return everything, ""
        if isinstance(cond, c.CronTickPassed):
            ticked = _ticked((cond.cron, cond.timezone), self.previous, self.now)
            return (everything if ticked else EMPTY), ""
        if isinstance(cond, c.AllDepsUpdatedSinceCron):
            since = _latest_tick((cond.cron, cond.timezone), self.now).timestamp()
            stale = [
                str(ev.keys[p])
                for p, _ in ev.parents[i]
                if p not in self.requested and (self.facts(p).last_updated or 0.0) < since
            ]
            return (
                (EMPTY, "not updated since the cron tick: " + ", ".join(stale[:5]))
                if stale
                else (everything, "")
            )
        return self.deps(cond)

    def deps(self, cond: c.Condition) -> tuple[Ranges, str]:
        ev, i = self.ev, self.i
        value = EMPTY
        hits: list[str] = []
        for p, mapping in ev.parents[i]:
            pkey = ev.keys[p]
            now_requested = self.requested.get(p, EMPTY)
            if isinstance(cond, c.AnyDepsUpdated):
                subset = self.changes.updated.get(pkey, EMPTY) | now_requested
            elif isinstance(cond, c.AnyDepsMissing):
                if ev.external[p]:
                    continue
                subset = Ranges.span(0, self.sizes[p]) - self.facts(p).materialized - now_requested
            else:
                subset = self.facts(p).in_progress
            if subset:
                mapped = self.map_up(p, mapping, subset)
                if mapped:
                    value = value | mapped
                    hits.append(str(pkey))
        return value, ", ".join(hits[:5]) + (f" and {len(hits) - 5} more" if len(hits) > 5 else "")


_NOTHING = AssetFacts()
