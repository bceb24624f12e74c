"""One automation tick: read new events, evaluate, record, then launch.

The order is what makes a daemon killed mid-tick safe: the cursor, the memory, the explanations
and the run requests are written in ONE store transaction (guarded by the lease) before the
launcher is called. Killed before that commit, nothing happened and the next tick redoes the
work; killed after it, the requests are in the durable queue and the next launcher step launches
each exactly once (see :mod:`lockgate.federation.automation.launcher`).

Requests are grouped by the adapter that owns the assets and by run group: one dbt build for all
dbt nodes of a tick, one Airflow run per DAG and partition (:func:`run_group`).
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from lockgate.federation.adapter import RunHandle, RunRequest
from lockgate.federation.automation.conditions import Condition
from lockgate.federation.automation.evaluator import Evaluator, Result, Tree
from lockgate.federation.automation.launcher import Launcher
from lockgate.federation.automation.records import AssetMemory, Evaluation
from lockgate.federation.automation.world import Changes, World, fold_events
from lockgate.federation.events import Event, RunRequested
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.partitions.definitions import PartitionKeys, PartitionsDefinition, partition_keys
from lockgate.federation.partitions.dependents import Dependents
from lockgate.federation.partitions.mappings import PartitionMapping
from lockgate.federation.partitions.ranges import Ranges
from lockgate.federation.partitions.status import Refreshed, facts_of, refresh_partition_status
from lockgate.federation.specs import AssetSpec
from lockgate.federation.status import AssetStatus
from lockgate.federation.store.store import Store

LEASE = "automation"


def run_group(spec: AssetSpec) -> str:
    """Assets of one adapter in one group become one run: ``metadata["lockgate/run_group"]``, else
    the Airflow DAG id (``airflow:<dag_id>.<task_id>``), else one group per adapter."""
    declared = spec.metadata.get("lockgate/run_group")
    if isinstance(declared, str) and declared:
        return declared
    if spec.origin.system == "airflow":
        return spec.origin.external_id.split(".", 1)[0]
    return spec.origin.adapter


@dataclass(frozen=True, slots=True, kw_only=True)
class TickResult:
    tick_id: int | None
    requests: tuple[RunRequest, ...] = ()
    evaluations: tuple[Evaluation, ...] = ()
    launched: tuple[RunHandle, ...] = ()
    skipped: str = ""
    """Why the tick did nothing (another daemon holds the lease), or empty."""


class Automation:
    """The daemon's state between ticks: the evaluator, the world and every asset's memory.

    Built cold from the store on the first tick; later ticks read only the events after the cursor.
    """

    def __init__(
        self,
        graph: AssetGraph,
        store: Store,
        conditions: Mapping[AssetKey, Condition],
        *,
        partitions: Mapping[AssetKey, PartitionsDefinition] | None = None,
        mappings: Mapping[tuple[AssetKey, AssetKey], PartitionMapping] | None = None,
        holder: str | None = None,
        lease_ttl: timedelta = timedelta(minutes=2),
    ) -> None:
        self.graph, self.store = graph, store
        self.partitions = dict(partitions or {})
        self.evaluator = Evaluator(graph, conditions, self.partitions, mappings)
        self.dependents = Dependents(graph, self.partitions, mappings)
        self.refreshed: Refreshed | None = None
        """The last refresh of the stored partition status."""
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}"
        self.lease_ttl = lease_ttl
        self.world: World | None = None
        self.memory: dict[AssetKey, AssetMemory] = {}
        self.cursor: int | None = None
        self.previous: datetime | None = None
        self.tick_id = 0

    def keys_at(self, now: datetime, world: World) -> dict[AssetKey, PartitionKeys]:
        return {key: partition_keys(defn, now, world.dynamic) for key, defn in self.partitions.items()}

    def refresh(self, now: datetime, keys: Mapping[AssetKey, PartitionKeys], *, check: bool = False) -> None:
        """Bring the stored partition status up to the log (the one shared writer)."""
        self.refreshed = refresh_partition_status(
            self.store,
            self.graph,
            self.partitions,
            now=now,
            keys=keys,
            dependents=self.dependents,
            check=check,
        )

    def load(self, now: datetime) -> None:
        store = self.store
        world = World(dynamic=store.dynamic_partitions())
        keys = self.keys_at(now, world)
        # the stored ranges at (or past) the tick's cursor: replaying events folds to the same state
        self.refresh(now, keys, check=True)
        for key, state in store.asset_states().items():
            if key in keys:
                continue
            facts = world.of(key)
            one = Ranges.span(0, 1)
            if state.status in (AssetStatus.MATERIALIZED, AssetStatus.OBSERVED) or state.last_materialization:
                facts.materialized = one
            if state.status is AssetStatus.IN_PROGRESS:
                facts.in_progress = one
            if state.status is AssetStatus.FAILED:
                facts.failed = one
            stamp = state.last_materialization or (
                state.last_event_at if state.status is AssetStatus.OBSERVED else None
            )
            facts.last_updated = None if stamp is None else stamp.timestamp()
        for key, by_status in store.partition_ranges(keys).items():
            world.facts[key] = facts_of(by_status, keys[key])
        for result in store.latest_check_results().values():
            if not result.passed and result.status.value != "skipped":
                world.failing_checks.setdefault(result.key.asset, set()).add(result.key.name)
        self.world = world
        self.memory = store.automation_memory()
        last = store.last_tick()
        if last is not None:
            self.tick_id, self.previous, self.cursor = last

    def _new_events(self) -> list[Event]:
        found: list[Event] = []
        while True:
            page = self.store.events(after_id=self.cursor, limit=5000)
            if not page:
                return found
            found.extend(event for _, event in page)
            self.cursor = page[-1][0]

    def tick(self, now: datetime, launcher: Launcher | None = None, *, full: bool = False) -> TickResult:
        store = self.store
        if not store.acquire_lease(LEASE, self.holder, now=now, ttl=self.lease_ttl):
            return TickResult(tick_id=None, skipped="another daemon holds the automation lease")
        if self.world is None:
            self.load(now)
        assert self.world is not None
        world, start_cursor = self.world, self.cursor
        keys = self.keys_at(now, world)
        if self.cursor is None and self.previous is None:
            self.cursor = store.max_event_id()  # the first tick: history is not "new"
            changes = Changes()
        else:
            changes = fold_events(world, self._new_events(), keys, self.dependents)
        result = self.evaluator.evaluate(
            world, changes, self.memory, previous=self.previous, now=now, full=full
        )
        requests = self._requests(result, start_cursor)
        evaluations = tuple(self._explain(result))
        events = [
            RunRequested(
                event_id=f"lockgate:automation:{r.idempotency_key}",
                adapter="lockgate",
                timestamp=now,
                partition=r.partition,
                assets=r.assets,
                reason=r.reason,
            )
            for r, _, _ in requests
        ]
        tick_id = store.record_tick(
            lease=(LEASE, self.holder),
            started_at=now,
            cursor=self.cursor,
            memory=result.memory,
            evaluations=evaluations,
            queued=requests,
            events=events,
        )
        if tick_id is None:  # the lease expired mid-tick: forget everything, reload next time
            self.world, self.cursor, self.previous = None, None, None
            return TickResult(tick_id=None, skipped="the automation lease expired during the tick")
        self.memory.update(result.memory)
        self.previous, self.tick_id = now, tick_id
        self.refresh(now, keys)
        launched = tuple(launcher.step(store, now)) if launcher is not None else ()
        return TickResult(
            tick_id=tick_id,
            requests=tuple(r for r, _, _ in requests),
            evaluations=evaluations,
            launched=launched,
        )

    def _requests(self, result: Result, cursor: int | None) -> list[tuple[RunRequest, str, int]]:
        buckets: dict[tuple[str, str, str | None], list[AssetKey]] = {}
        reasons: dict[tuple[str, str, str | None], str] = {}
        for key, subset in result.requested.items():
            spec = self.graph.specs[key]
            if spec.external:
                continue
            numbering = result.keys.get(key)
            parts: list[str | None] = [None] if numbering is None else [numbering.keys[i] for i in subset]
            for part in parts:
                bucket = (spec.origin.adapter, run_group(spec), part)
                buckets.setdefault(bucket, []).append(key)
                reasons.setdefault(bucket, f"{key}: {_reason(result.trees[key])}")
        out: list[tuple[RunRequest, str, int]] = []
        for (adapter, group, part), assets in sorted(
            buckets.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")
        ):
            assets.sort()
            digest = hashlib.sha256(
                "\x1f".join(
                    [str(self.tick_id + 1), str(cursor), adapter, group, part or "", *map(str, assets)]
                ).encode()
            ).hexdigest()[:24]
            request = RunRequest(
                assets=tuple(assets),
                idempotency_key=f"lockgate-auto-{digest}",
                partition=part,
                reason=reasons[(adapter, group, part)],
                tags={"lockgate/run_group": group, "lockgate/source": "automation"},
            )
            out.append((request, adapter, 0))
        return out

    def _explain(self, result: Result) -> list[Evaluation]:
        out = []
        for key, tree in result.trees.items():
            subset = result.requested.get(key)
            numbering = result.keys.get(key)
            if not subset:
                requested: tuple[str, ...] = ()
            elif numbering is None:
                requested = ("",)
            else:
                requested = tuple(numbering.keys[i] for i in list(subset)[:1000])
            out.append(Evaluation(asset=key, requested=requested, tree=tree))
        return out


def _reason(tree: Tree) -> str:
    whys: list[str] = []

    def walk(node: Tree) -> None:
        if node.get("true") and node.get("why"):
            whys.append(f"{node['condition']} ({node['why']})")
        for child in node.get("children", ()):
            walk(child)

    walk(tree)
    return str(tree["condition"]) + (": " + "; ".join(whys[:3]) if whys else "")


def tick(
    graph: AssetGraph,
    store: Store,
    conditions: Mapping[AssetKey, Condition],
    now: datetime,
    launcher: Launcher | None = None,
    *,
    partitions: Mapping[AssetKey, PartitionsDefinition] | None = None,
    mappings: Mapping[tuple[AssetKey, AssetKey], PartitionMapping] | None = None,
    holder: str | None = None,
) -> TickResult:
    """One cold tick (``lockgate automation tick``): load from the store, evaluate, record, launch."""
    automation = Automation(graph, store, conditions, partitions=partitions, mappings=mappings, holder=holder)
    return automation.tick(now, launcher)
