"""What the evaluator knows about every asset: partition status as ranges, checks, new events.

:func:`fold_events` applies events from the log to :class:`AssetFacts` in log order. It is the ONE
fold of partition status: the daemon keeps the facts in memory between ticks, and
:func:`lockgate.federation.partitions.status.refresh_partition_status` (run by the tick, ``lockgate
sync``, ``materialize`` and ``backfill``) folds the same way into the ranges the store keeps
(federation/store/partitions.py), so a restart does not replay the log.

Stale: a materialized partition ``p`` of ``D`` is stale when an upstream asset materialized a
partition that maps to ``p`` after ``p`` was last materialized (see
:class:`~lockgate.federation.partitions.dependents.Dependents`). Re-materializing ``p`` clears it.
Stale is a subset of materialized; shown as one status, in_progress > failed > stale >
materialized > missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from lockgate.federation.events import (
    CheckEvaluated,
    Event,
    Materialization,
    Observation,
    RunFailed,
    RunStarted,
    RunSucceeded,
)
from lockgate.federation.keys import AssetKey
from lockgate.federation.partitions.definitions import PartitionKeys
from lockgate.federation.partitions.dependents import Dependents
from lockgate.federation.partitions.ranges import EMPTY, Ranges
from lockgate.federation.specs import CheckStatus

STATUSES = ("materialized", "failed", "in_progress", "stale")
"""The statuses kept as ranges; ``missing`` is the complement of ``materialized``."""


@dataclass(slots=True)
class AssetFacts:
    """Partition status of one asset (index 0 for an unpartitioned asset)."""

    materialized: Ranges = EMPTY
    failed: Ranges = EMPTY
    in_progress: Ranges = EMPTY
    last_updated: float | None = None
    """Epoch seconds of the latest materialization or observation."""
    stale: Ranges = EMPTY
    """Materialized partitions an upstream update reached after their last materialization."""

    def get(self, status: str) -> Ranges:
        return {
            "materialized": self.materialized,
            "failed": self.failed,
            "in_progress": self.in_progress,
            "stale": self.stale,
        }[status]

    def status_sets(self) -> tuple[Ranges, Ranges, Ranges, Ranges]:
        """The four stored sets, in :data:`STATUSES` order (to compare before and after a fold)."""
        return (self.materialized, self.failed, self.in_progress, self.stale)


@dataclass(slots=True)
class World:
    facts: dict[AssetKey, AssetFacts] = field(default_factory=dict)
    failing_checks: dict[AssetKey, set[str]] = field(default_factory=dict)
    """Checks whose latest evaluation failed or errored (blocking or not; the evaluator filters)."""
    dynamic: dict[str, list[str]] = field(default_factory=dict)

    def of(self, key: AssetKey) -> AssetFacts:
        found = self.facts.get(key)
        if found is None:
            found = self.facts[key] = AssetFacts()
        return found


@dataclass(frozen=True, slots=True, kw_only=True)
class Changes:
    """What the events since the cursor changed: updated partitions, and every asset touched."""

    updated: Mapping[AssetKey, Ranges] = field(default_factory=dict)
    touched: frozenset[AssetKey] = frozenset()
    stale: frozenset[AssetKey] = frozenset()
    """Assets that gained stale partitions (children of updated assets)."""


def fold_events(
    world: World,
    events: Iterable[Event],
    keys: Mapping[AssetKey, PartitionKeys],
    dependents: Dependents | None = None,
) -> Changes:
    """Apply ``events`` (in log order) to ``world``; ``keys`` numbers the partitioned assets.

    With ``dependents``, an update (materialization or observation) marks the materialized
    partitions of each child that depend on it stale; without, staleness is not tracked. An event
    for a partition the definition does not (yet) have is ignored for status.
    """
    updated: dict[AssetKey, set[int]] = {}
    touched: set[AssetKey] = set()
    restaled: set[AssetKey] = set()
    for event in events:
        key = event.asset_key
        if key is None:
            continue
        touched.add(key)
        if isinstance(event, CheckEvaluated):
            failing = world.failing_checks.setdefault(key, set())
            if event.status in (CheckStatus.FAILED, CheckStatus.ERRORED):
                failing.add(event.check_name)
            else:
                failing.discard(event.check_name)
            continue
        numbering = keys.get(key)
        if numbering is None:
            index: int | None = 0 if event.partition is None else None
        else:
            index = None if event.partition is None else numbering.index_of(event.partition)
        if index is None:
            continue
        one = Ranges.span(index, index + 1)
        facts = world.of(key)
        if isinstance(event, Materialization | Observation):
            facts.materialized = facts.materialized | one
            facts.failed = facts.failed - one
            facts.in_progress = facts.in_progress - one
            if facts.stale:
                facts.stale = facts.stale - one
            stamp = _stamp(event.timestamp)
            facts.last_updated = stamp if facts.last_updated is None else max(facts.last_updated, stamp)
            updated.setdefault(key, set()).add(index)
            if dependents is not None:
                for child, reached in dependents.reached(key, one, keys):
                    down = world.facts.get(child)
                    hit = EMPTY if down is None else reached & down.materialized
                    if down is not None and hit:
                        down.stale = down.stale | hit
                        restaled.add(child)
        elif isinstance(event, RunStarted):
            facts.in_progress = facts.in_progress | one
        elif isinstance(event, RunFailed):
            facts.in_progress = facts.in_progress - one
            facts.failed = facts.failed | one
        elif isinstance(event, RunSucceeded):
            facts.in_progress = facts.in_progress - one
    return Changes(
        updated={key: Ranges.from_ints(found) for key, found in updated.items()},
        touched=frozenset(touched),
        stale=frozenset(restaled),
    )


def _stamp(moment: datetime) -> float:
    return moment.timestamp()
