"""Stored partition status: the event log folded into status ranges, from one cursor, by one writer.

:func:`refresh_partition_status` is the only writer of the stored ranges. The automation tick,
``lockgate sync``, ``lockgate materialize`` and ``lockgate backfill`` all call it, so the portal and
the API show partition status (materialized, failed, in progress, stale; missing is the rest)
without a running daemon. It

1. reads the id of the last event already folded (the ``cursors`` row
   :data:`~lockgate.federation.store.partitions.STATUS_CURSOR`; none: fold the whole log);
2. reads the events after it, 5,000 at a time, and loads the stored ranges of only the assets
   those events touch and of their children (staleness flows one level down);
3. folds them with :func:`~lockgate.federation.automation.world.fold_events`, the same fold the
   daemon keeps in memory;
4. writes the changed ranges and the new cursor in ONE transaction that moves the cursor only
   from the value read in step 1 (compare-and-set). When another writer moved it meanwhile, the
   attempt is dropped and redone from the new cursor, so a daemon tick and a concurrent sync
   converge and never regress the stored ranges.

Each partitioned asset also keeps a marker row (status :data:`DEFINITION`) with a digest of the
partitions definition its ranges were folded with. With ``check=True`` (sync, materialize,
backfill, the daemon's first tick) an asset whose definition is new or changed gets its history
folded again from its own and its parents' events, so adding ``partitions:`` to an asset that
already has a history shows that history.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from lockgate.federation.automation.world import STATUSES, AssetFacts, World, fold_events
from lockgate.federation.errors import StoreError
from lockgate.federation.events import Event
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.partitions.definitions import PartitionKeys, PartitionsDefinition, partition_keys
from lockgate.federation.partitions.dependents import Dependents
from lockgate.federation.partitions.mappings import PartitionMapping
from lockgate.federation.partitions.ranges import Ranges
from lockgate.federation.status import AssetStatus
from lockgate.federation.store.store import Store

if TYPE_CHECKING:
    from lockgate.federation.workspace import Workspace

ASSET_STALE = "asset_stale"
"""Status of the one row (``lo`` = ``hi`` = ``""``) that marks an UNPARTITIONED asset stale: an
upstream asset was updated after its last materialization."""
STALE_STATUSES = ("stale", ASSET_STALE)
"""The stored statuses that make an asset stale: a stale partition, or the unpartitioned row."""
DEFINITION = "definition"
"""Status of the marker row of a partitioned asset: ``lo`` = ``hi`` = :func:`definition_digest`."""

PAGE = 5000
FULL_FOLD = 200_000
"""With nothing partitioned, a first refresh folds the log only up to this many events; a longer
log is skipped (unpartitioned staleness is then tracked from the first refresh on)."""
PER_ASSET_LIMIT = 200
"""Rebuilding more assets than this reads the log once instead of once per asset."""

KeyRanges = dict[str, list[tuple[str, str]]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Refreshed:
    """What one refresh did."""

    cursor: int | None
    """The id of the last event folded (None: the log is empty)."""
    events: int = 0
    written: tuple[AssetKey, ...] = ()
    rebuilt: tuple[AssetKey, ...] = ()
    """Assets whose history was folded again (new or changed definition)."""
    attempts: int = 1
    warnings: tuple[str, ...] = ()


def definition_digest(defn: PartitionsDefinition) -> str:
    return hashlib.sha256(repr(defn).encode()).hexdigest()[:16]


def numbering_at(
    partitions: Mapping[AssetKey, PartitionsDefinition],
    now: datetime,
    dynamic: Mapping[str, list[str]] | None,
) -> dict[AssetKey, PartitionKeys]:
    return {key: partition_keys(defn, now, dynamic) for key, defn in partitions.items()}


def key_ranges(facts: AssetFacts, numbering: PartitionKeys) -> KeyRanges:
    """Status -> inclusive key ranges, clipped to the partitions that exist."""
    keys = numbering.keys
    out: KeyRanges = {}
    for status in STATUSES:
        spans = facts.get(status).clip(len(keys)).spans
        if spans:
            out[status] = [(keys[lo], keys[hi - 1]) for lo, hi in spans]
    return out


def facts_of(by_status: Mapping[str, Iterable[tuple[str, str]]], numbering: PartitionKeys) -> AssetFacts:
    """The facts of stored ranges (statuses other than :data:`STATUSES` are left out)."""
    facts = AssetFacts()
    for status, spans in by_status.items():
        if status in STATUSES:
            setattr(facts, status, Ranges.of(numbering.span_of(lo, hi) for lo, hi in spans))
    return facts


def _marker(by_status: Mapping[str, list[tuple[str, str]]]) -> str | None:
    found = by_status.get(DEFINITION)
    return found[0][0] if found else None


class _Refresh:
    """One attempt: fold from the cursor read at its start; write with a compare-and-set."""

    def __init__(
        self,
        store: Store,
        graph: AssetGraph,
        partitions: Mapping[AssetKey, PartitionsDefinition],
        keys: Mapping[AssetKey, PartitionKeys],
        dependents: Dependents,
        page: int,
    ) -> None:
        self.store, self.graph, self.partitions = store, graph, partitions
        self.keys, self.dependents, self.page = keys, dependents, page
        self.world = World()
        self.loaded: set[AssetKey] = set()
        self.markers: dict[AssetKey, str] = {}
        self.pending: set[AssetKey] = set()
        self.written: set[AssetKey] = set()
        self.rebuilt: tuple[AssetKey, ...] = ()
        self.events = 0

    def run(self, *, check: bool) -> Refreshed | None:
        store = self.store
        start = expected = cursor = store.partition_status_cursor()
        if start is None:  # the first refresh: fold the whole log from nothing
            self.loaded.update(self.partitions)
            self.pending.update(self.partitions)
            self.markers = {k: definition_digest(d) for k, d in self.partitions.items()}
        elif check:
            self._check(start)
        while True:
            found = store.events(after_id=cursor, limit=self.page)
            if found:
                self._fold([event for _, event in found])
                cursor = found[-1][0]
                self.events += len(found)
            if cursor is not None and (cursor != expected or self.pending):
                ranges = {k: self._ranges(k) for k in sorted(self.pending)}
                if not store.write_partition_status(ranges, expected=expected, cursor=cursor):
                    return None
                self.written.update(self.pending)
                self.pending.clear()
                expected = cursor
            if len(found) < self.page:
                return Refreshed(
                    cursor=cursor,
                    events=self.events,
                    written=tuple(sorted(self.written)),
                    rebuilt=self.rebuilt,
                    warnings=tuple(self.dependents.warnings),
                )

    def _ranges(self, key: AssetKey) -> KeyRanges:
        if key not in self.keys:  # unpartitioned: only whether it is stale
            facts = self.world.facts.get(key)
            return {ASSET_STALE: [("", "")]} if facts is not None and facts.stale else {}
        out = key_ranges(self.world.facts.get(key) or AssetFacts(), self.keys[key])
        marker = self.markers.get(key)
        if marker is not None:
            out[DEFINITION] = [(marker, marker)]
        return out

    def _check(self, upto: int) -> None:
        """Load every partitioned asset; fold again the history of those whose definition changed."""
        stored = self.store.partition_ranges(self.partitions)
        redo: list[AssetKey] = []
        for key, defn in self.partitions.items():
            by_status = stored.get(key, {})
            marker = _marker(by_status)
            if marker == definition_digest(defn):
                self.world.facts[key] = facts_of(by_status, self.keys[key])
                self.markers[key] = marker
            else:
                redo.append(key)
            self.loaded.add(key)
        if not redo:
            return
        wanted = set(redo)
        scratch = World()
        readers = wanted | {p for k in redo if k in self.graph for p in self.graph.parents(k)}
        fold_events(scratch, self._history(readers, upto), self.keys, self.dependents)
        for key in redo:
            self.world.facts[key] = scratch.facts.get(key) or AssetFacts()
            self.markers[key] = definition_digest(self.partitions[key])
        self.pending.update(redo)
        self.rebuilt = tuple(sorted(redo))

    def _history(self, keys: set[AssetKey], upto: int) -> Iterator[Event]:
        """The events of ``keys`` with ids up to ``upto``, in log order."""
        if len(keys) > PER_ASSET_LIMIT:
            streams: list[Iterator[tuple[int, Event]]] = [self._pages(None, upto, keys)]
        else:
            streams = [self._pages(key, upto, None) for key in sorted(keys)]
        for _, event in heapq.merge(*streams, key=lambda pair: pair[0]):
            yield event

    def _pages(
        self, key: AssetKey | None, upto: int, only: set[AssetKey] | None
    ) -> Iterator[tuple[int, Event]]:
        after: int | None = None
        while True:
            found = self.store.events(asset_key=key, after_id=after, limit=self.page)
            for log_id, event in found:
                if log_id > upto:
                    return
                if only is None or event.asset_key in only:
                    yield log_id, event
            if len(found) < self.page:
                return
            after = found[-1][0]

    def _fold(self, events: list[Event]) -> None:
        affected: set[AssetKey] = set()
        for event in events:
            key = event.asset_key
            if key is not None and key not in affected:
                affected.add(key)
                affected.update(child for child, _ in self.dependents.of(key))
        partitioned = [k for k in affected if k in self.keys]
        plain = [k for k in affected if k not in self.keys and k in self.graph]
        self._load_plain(sorted(k for k in plain if k not in self.loaded))
        new = sorted(k for k in partitioned if k not in self.loaded)
        if new:
            for key, by_status in self.store.partition_ranges(new).items():
                self.world.facts[key] = facts_of(by_status, self.keys[key])
                marker = _marker(by_status)
                if marker is not None:
                    self.markers[key] = marker
            self.loaded.update(new)
        before = {k: (self.world.facts.get(k) or AssetFacts()).status_sets() for k in partitioned}
        was_stale = {k: bool(self.world.of(k).stale) for k in plain}
        fold_events(self.world, events, self.keys, self.dependents)
        self.pending.update(
            k for k in partitioned if (self.world.facts.get(k) or AssetFacts()).status_sets() != before[k]
        )
        self.pending.update(k for k in plain if bool(self.world.of(k).stale) != was_stale[k])

    def _load_plain(self, keys: list[AssetKey]) -> None:
        """Load unpartitioned assets: materialized (from their derived state) and stale (stored)."""
        if not keys:
            return
        states = self.store.asset_states(keys)
        stored = self.store.partition_ranges(keys)
        one = Ranges.span(0, 1)
        for key in keys:
            facts = self.world.of(key)
            state = states.get(key)
            if state is not None and (
                state.status in (AssetStatus.MATERIALIZED, AssetStatus.OBSERVED) or state.last_materialization
            ):
                facts.materialized = facts.materialized | one
            if ASSET_STALE in stored.get(key, {}):
                facts.stale = one
        self.loaded.update(keys)


def refresh_partition_status(
    store: Store,
    graph: AssetGraph,
    partitions: Mapping[AssetKey, PartitionsDefinition],
    mappings: Mapping[tuple[AssetKey, AssetKey], PartitionMapping] | None = None,
    *,
    now: datetime,
    keys: Mapping[AssetKey, PartitionKeys] | None = None,
    dependents: Dependents | None = None,
    check: bool = False,
    page: int = PAGE,
    attempts: int = 20,
) -> Refreshed:
    """Fold the events after the stored cursor into the stored ranges (see the module doc).

    ``keys`` (the numbering of each definition at ``now``) and ``dependents`` may be passed by a
    caller that has them (the tick). Unpartitioned assets are folded too; each stores one
    :data:`ASSET_STALE` row while it is stale. Raises :class:`StoreError` when other
    writers moved the cursor ``attempts`` times in a row.
    """
    if not partitions and store.partition_status_cursor() is None and (store.max_event_id() or 0) > FULL_FOLD:
        skipped = _skip_to_end(store, attempts)  # nothing partitioned and a long log: start at its end
        if skipped is not None:
            return skipped
    if keys is None:
        keys = numbering_at(partitions, now, store.dynamic_partitions()) if partitions else {}
    if dependents is None:
        dependents = Dependents(graph, partitions, mappings)
    for attempt in range(1, attempts + 1):
        done = _Refresh(store, graph, partitions, keys, dependents, page).run(check=check)
        if done is not None:
            return Refreshed(
                cursor=done.cursor,
                events=done.events,
                written=done.written,
                rebuilt=done.rebuilt,
                attempts=attempt,
                warnings=done.warnings,
            )
    raise StoreError(
        f"the partition status cursor moved under {attempts} attempts in a row",
        where=f"store {store.url!r}",
        fix="another process keeps refreshing partition status; run the command again",
    )


def stale_assets(store: Store, keys: Iterable[AssetKey] | None = None) -> set[AssetKey]:
    """The assets (of ``keys``, or all) that are stale as of the last refresh: an unpartitioned
    one materialized before its upstream was, or a partitioned one with a stale partition."""
    return store.assets_with_status(STALE_STATUSES, keys)


def _skip_to_end(store: Store, attempts: int) -> Refreshed | None:
    """Move the cursor to the end of the log without reading it (unpartitioned staleness is then
    tracked from here on); None when other writers kept moving it."""
    for attempt in range(1, attempts + 1):
        expected, cursor = store.partition_status_cursor(), store.max_event_id()
        if cursor is None or cursor == expected:
            return Refreshed(cursor=expected, attempts=attempt)
        if store.write_partition_status({}, expected=expected, cursor=cursor):
            return Refreshed(cursor=cursor, attempts=attempt)
    return None


def refresh_workspace_partitions(
    workspace: Workspace, store: Store, *, now: datetime | None = None, graph: AssetGraph | None = None
) -> Refreshed:
    """:func:`refresh_partition_status` with the definitions the daemon and ``lockgate backfill``
    assemble (the workspace's ``automation:`` rules, dbt ``meta.lockgate.partitions``, Airflow
    schedules), checking for new or changed definitions. ``lockgate sync``, ``materialize`` and
    ``backfill`` call it."""
    from lockgate.federation.automation.assemble import assemble
    from lockgate.federation.automation.config import parse_automation
    from lockgate.federation.automation.daemon import first_partition

    config = parse_automation(dict(workspace.automation), path=workspace.path)
    if graph is None:
        graph = AssetGraph.build(store.asset_specs(), store.check_specs())
    found = assemble(graph, config, first_partition=first_partition(store))
    return refresh_partition_status(
        store, graph, found.partitions, found.mappings, now=now or datetime.now(UTC), check=True
    )
