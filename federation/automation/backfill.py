"""Backfills: every partition of a selection between two keys, through the durable run queue.

A backfill is a set of run-queue rows tagged ``lockgate/backfill=<id>``: one request per owning
adapter, run group and partition (one dbt build of all the selected dbt nodes for a partition, one
Airflow run per DAG and partition). Within a partition, a request waits for the requests of its
upstream groups that were queued before it (``RunRequest.after``): the Airflow run that loads a
day's table finishes before the dbt build of that day starts, and when it fails the build is not
launched. Partitions are independent, so a failed partition blocks no other. The launcher bounds
concurrency per adapter (system) and per tag; idempotency keys make a relaunch after a crash find
the run it already started. Cancelling marks the rows not yet launched ``cancelled`` (runs already
started in their system finish there); resuming queues them again.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from lockgate.federation.adapter import RunRequest
from lockgate.federation.automation.launcher import Launcher
from lockgate.federation.automation.records import QueuedRun, RunQueueState
from lockgate.federation.automation.tick import run_group
from lockgate.federation.errors import ConfigError, UnknownAssetError
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.partitions.definitions import PartitionsDefinition, partition_keys
from lockgate.federation.store.store import Store

TAG = "lockgate/backfill"
ACTIVE = (RunQueueState.QUEUED, RunQueueState.LAUNCHING, RunQueueState.RUNNING)
Queued = tuple[RunRequest, str, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    backfill: str
    counts: Mapping[str, int]
    total: int
    failures: tuple[tuple[str, str], ...] = ()
    """(partition, message) of each failed request."""

    @property
    def done(self) -> int:
        return sum(self.counts.get(s.value, 0) for s in (RunQueueState.SUCCEEDED, RunQueueState.FAILED))

    @property
    def active(self) -> int:
        return sum(self.counts.get(s.value, 0) for s in ACTIVE)


def backfill_id(selection: str, lo: str, hi: str, now: datetime) -> str:
    text = "\x1f".join([selection, lo, hi, now.isoformat()])
    return "bf-" + hashlib.sha256(text.encode()).hexdigest()[:10]


def plan_backfill(
    graph: AssetGraph,
    partitions: Mapping[AssetKey, PartitionsDefinition],
    keys: Sequence[AssetKey],
    lo: str,
    hi: str,
    *,
    backfill: str,
    now: datetime,
    dynamic: Mapping[str, Sequence[str]] | None = None,
) -> list[Queued]:
    """The requests of a backfill of ``keys`` from partition ``lo`` to ``hi`` (inclusive), in
    partition order and, within a partition, upstream groups first."""
    if lo > hi:
        raise ConfigError(
            f"--from {lo!r} is after --to {hi!r}", where="backfill range", fix="swap --from and --to"
        )
    rank = {key: i for i, key in enumerate(graph.toposort())}
    buckets: dict[tuple[str, str, str], list[AssetKey]] = {}
    for key in keys:
        spec = graph.get(key)
        if spec.external:
            continue
        defn = partitions.get(key)
        if defn is None:
            raise UnknownAssetError(
                f"{key} has no partitions, so it cannot be backfilled by partition",
                where="backfill selection",
                fix="declare partitions for it (workspace automation rule, dbt meta.lockgate.partitions) "
                "or leave it out of the selection",
            )
        numbering = partition_keys(defn, now, dynamic)
        i, j = numbering.span_of(lo, hi)
        for part in list(numbering.keys[i:j]):
            buckets.setdefault((part, spec.origin.adapter, run_group(spec)), []).append(key)
    if not buckets:
        raise ConfigError(
            f"no partition of the selection lies between {lo!r} and {hi!r}",
            where="backfill range",
            fix="check --from/--to against the partition keys (`lockgate assets` shows them)",
        )
    out: list[Queued] = []
    ordered = sorted(buckets.items(), key=lambda kv: (kv[0][0], min(rank[k] for k in kv[1]), kv[0][1:]))
    upstream = _upstream_groups(graph, buckets)
    made: dict[tuple[str, str, str], str] = {}  # (partition, adapter, group) -> idempotency key
    for (part, adapter, group), assets in ordered:
        assets.sort(key=lambda k: rank[k])
        digest = hashlib.sha256("\x1f".join([backfill, adapter, group, part]).encode()).hexdigest()[:16]
        made[(part, adapter, group)] = idempotency = f"lockgate-{backfill}-{digest}"
        request = RunRequest(
            assets=tuple(assets),
            idempotency_key=idempotency,
            partition=part,
            reason=f"backfill {backfill} of {lo}..{hi}",
            tags={TAG: backfill, "lockgate/source": "backfill", "lockgate/run_group": group},
            # the same partition's upstream groups queued before this one: wait for them
            after=tuple(made[(part, *up)] for up in upstream[(adapter, group)] if (part, *up) in made),
        )
        out.append((request, adapter, 0))
    return out


def _upstream_groups(
    graph: AssetGraph, buckets: Mapping[tuple[str, str, str], list[AssetKey]]
) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(adapter, group) -> the other groups of the backfill with an asset upstream of one of its
    assets (at any depth), in a stable order. One graph walk per group, not per asset."""
    members: dict[tuple[str, str], set[AssetKey]] = {}
    for (_, adapter, group), assets in buckets.items():
        members.setdefault((adapter, group), set()).update(assets)
    group_of = {key: name for name, keys in members.items() for key in keys}
    found: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for name, keys in members.items():
        above = graph.upstream(keys, include_self=False)
        found[name] = sorted({group_of[k] for k in above if k in group_of} - {name})
    return found


def runs_of(
    store: Store, backfill: str, states: Sequence[RunQueueState] = tuple(RunQueueState)
) -> list[QueuedRun]:
    return [r for r in store.run_queue(states) if r.request.tags.get(TAG) == backfill]


def progress(store: Store, backfill: str) -> Progress:
    runs = runs_of(store, backfill)
    if not runs:
        raise UnknownAssetError(
            f"there is no backfill {backfill!r}",
            where="backfill id",
            fix="use the id `lockgate backfill` printed (`lockgate backfill list` shows them)",
        )
    counts = Counter(r.state.value for r in runs)
    failures = tuple((r.request.partition or "", r.message) for r in runs if r.state is RunQueueState.FAILED)
    return Progress(backfill=backfill, counts=dict(counts), total=len(runs), failures=failures)


def backfills(store: Store) -> dict[str, Progress]:
    """Every backfill in the run queue, by id."""
    runs: dict[str, list[QueuedRun]] = {}
    for run in store.run_queue():
        found = run.request.tags.get(TAG)
        if found:
            runs.setdefault(found, []).append(run)
    return {
        name: Progress(backfill=name, counts=dict(Counter(r.state.value for r in rows)), total=len(rows))
        for name, rows in runs.items()
    }


def cancel(store: Store, backfill: str, *, now: datetime) -> int:
    """Cancel the requests not yet launched; returns how many."""
    progress(store, backfill)  # unknown id: error
    found = runs_of(store, backfill, [RunQueueState.QUEUED])
    for run in found:
        store.update_queued_run(
            run.id, now=now, state=RunQueueState.CANCELLED, message="cancelled by `lockgate backfill cancel`"
        )
    return len(found)


def resume(store: Store, backfill: str, *, now: datetime, retry_failed: bool = False) -> int:
    """Queue the cancelled requests again (and the failed ones with ``retry_failed``)."""
    progress(store, backfill)
    states = [RunQueueState.CANCELLED, *([RunQueueState.FAILED] if retry_failed else [])]
    found = runs_of(store, backfill, states)
    for run in found:
        store.update_queued_run(
            run.id, now=now, state=RunQueueState.QUEUED, attempts=0, not_before=None, message=""
        )
    return len(found)


def drive(
    store: Store,
    launcher: Launcher,
    backfill: str,
    *,
    clock: Callable[[], datetime],
    stop: threading.Event,
    poll: float = 1.0,
    on_progress: Callable[[Progress], None] | None = None,
) -> Progress:
    """Launch and poll the backfill's requests until none is active or ``stop`` is set."""
    only = Launcher(launcher.adapters, launcher.policy, only=lambda r: r.request.tags.get(TAG) == backfill)
    while True:
        only.step(store, clock())
        state = progress(store, backfill)
        if on_progress is not None:
            on_progress(state)
        if not state.active or stop.is_set():
            return state
        stop.wait(poll)
