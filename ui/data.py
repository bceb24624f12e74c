"""The portal's service layer: one cached view of the store for every page and API resource.

The graph is built from the store once and rebuilt only when the adapters' sync state changes
(checked at most every ``refresh_seconds``). Asset status and check results are read live for the
handful of keys a page shows; the full status table (for overview counts and the status filter)
is cached for ``refresh_seconds``. Launches run on one background thread so a request never waits
for a dbt build; each one is recorded as a ``RunRequested`` event before the request returns.
"""

from __future__ import annotations

import gc
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from lockgate.federation.adapter import Adapter
from lockgate.federation.errors import LaunchError, LockgateError
from lockgate.federation.events import Event, EventKind, RunFailed, RunRequested, RunStarted, RunSucceeded
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey, CheckKey
from lockgate.federation.partitions.status import ASSET_STALE, stale_assets
from lockgate.federation.redact import redact
from lockgate.federation.specs import CheckResult
from lockgate.federation.status import AssetState, AssetStatus, SyncState
from lockgate.federation.store import Store
from lockgate.federation.sync import build_graph, idempotency_key, launch, plan_launch, select_keys, wait
from lockgate.ui.partitions import Definitions, PartitionHealth, PartitionIndex, health

RUN_KINDS = (EventKind.RUN_REQUESTED, EventKind.RUN_STARTED, EventKind.RUN_SUCCEEDED, EventKind.RUN_FAILED)
_PAGE = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """The graph and the indexes the catalog needs, built once per sync state."""

    graph: AssetGraph
    keys: tuple[AssetKey, ...]
    search_text: Mapping[AssetKey, str]
    facets: Mapping[str, tuple[tuple[str, int], ...]]
    syncs: tuple[SyncState, ...]
    loaded_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class RunView:
    """One run as the Runs page shows it, folded from its run events."""

    run_id: str
    adapter: str
    status: str
    assets: tuple[AssetKey, ...]
    reason: str
    started_at: datetime
    updated_at: datetime
    message: str = ""
    url: str | None = None
    origin_run_id: str | None = None
    launched: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class LaunchTicket:
    """What a launch request returns at once: the run id lockgate files it under."""

    run_id: str
    adapter: str
    assets: tuple[AssetKey, ...]
    partition: str | None = None


AdapterFactory = Callable[[str], Adapter]


@dataclass(kw_only=True)
class _Cache:
    snapshot: Snapshot | None = None
    checked_at: float = 0.0
    states: dict[AssetKey, AssetState] = field(default_factory=dict)
    states_at: float = -1e9


class PortalData:
    """Reads for the portal and the API. Thread-safe; one per app."""

    def __init__(
        self,
        store: Store,
        *,
        adapter_factory: AdapterFactory | None = None,
        refresh_seconds: float = 1.0,
        owns_store: bool = False,
        partitions: Definitions | None = None,
    ) -> None:
        self.store = store
        self.partitions = PartitionIndex(partitions)
        """Partitions definitions per asset of the current graph (see lockgate.ui.partitions)."""
        self._owns_store = owns_store
        self._factory = adapter_factory
        self._refresh = refresh_seconds
        self._cache = _Cache()
        self._lock = threading.Lock()
        self._adapters: dict[str, Adapter] = {}
        self._launcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lockgate-launch")

    # -- the graph -----------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        now = time.monotonic()
        cache = self._cache
        if cache.snapshot is not None and now - cache.checked_at < self._refresh:
            return cache.snapshot
        with self._lock:
            if cache.snapshot is not None and time.monotonic() - cache.checked_at < self._refresh:
                return cache.snapshot
            syncs = tuple(self.store.sync_states())
            if cache.snapshot is None or _fingerprint(cache.snapshot.syncs) != _fingerprint(syncs):
                cache.snapshot = _build_snapshot(build_graph(self.store), syncs)
                cache.states_at = -1e9
                self.partitions.of(cache.snapshot.graph)  # here, not in the first asset page
                # the graph lives until the next sync: keep the collector from re-walking its
                # millions of objects (full collections stalled requests for 100s of ms at 100k)
                gc.freeze()
            cache.checked_at = time.monotonic()
            return cache.snapshot

    def state_tag(self) -> tuple[object, ...]:
        """What a rendered page depends on: the store's generation and the identity of the cached
        graph snapshot and status table. Response caches compare it per request."""
        snap = self.snapshot()
        return (self.store.generation(), id(snap), snap.loaded_at, self._cache.states_at)

    def invalidate(self) -> None:
        """Forget every cached value (tests and writes that change specs call this)."""
        with self._lock:
            self._cache = _Cache()

    # -- live state ----------------------------------------------------------------------------
    def states(self, keys: Iterable[AssetKey]) -> dict[AssetKey, AssetState]:
        wanted = list(keys)
        return self.store.asset_states(wanted) if wanted else {}

    def all_states(self) -> dict[AssetKey, AssetState]:
        cache = self._cache
        if time.monotonic() - cache.states_at >= self._refresh:
            cache.states = self.store.asset_states()
            cache.states_at = time.monotonic()
        return cache.states

    def status_of(self, key: AssetKey, states: Mapping[AssetKey, AssetState]) -> AssetStatus:
        state = states.get(key)
        return state.status if state is not None else AssetStatus.MISSING

    def check_results(self, keys: Iterable[CheckKey]) -> dict[CheckKey, CheckResult]:
        wanted = list(keys)
        return self.store.latest_check_results(wanted) if wanted else {}

    def failing_checks(self) -> list[CheckResult]:
        results = self.store.latest_check_results()
        failing = [r for r in results.values() if not r.passed and r.status.value != "skipped"]
        return sorted(failing, key=lambda r: r.timestamp, reverse=True)

    def tail(
        self, *, asset_key: AssetKey | None = None, kinds: Iterable[EventKind], keep: int = 200
    ) -> list[tuple[int, Event]]:
        """The newest ``keep`` events matching, oldest first: read backward from the newest
        (``Store.events(newest_first=True)``), so the cost follows ``keep``, not the log's size."""
        found: list[tuple[int, Event]] = []
        before: int | None = None
        wanted = tuple(kinds)
        while len(found) < keep:
            size = min(_PAGE, keep - len(found))
            page = self.store.events(
                asset_key=asset_key, kinds=wanted, before_id=before, limit=size, newest_first=True
            )
            found.extend(page)
            if len(page) < size:
                break
            before = page[-1][0]
        found.reverse()
        return found

    def stale(self, keys: Iterable[AssetKey]) -> set[AssetKey]:
        """Which of ``keys`` are stale (see :func:`stale_assets`): one indexed read."""
        wanted = list(keys)
        return stale_assets(self.store, wanted) if wanted else set()

    def partition_health(self, key: AssetKey) -> PartitionHealth:
        """Status counts and bar segments of ``key`` from the stored ranges (one indexed read)."""
        defn = self.partitions.of(self.snapshot().graph).get(key)
        ranges = self.store.partition_ranges([key]).get(key, {})
        if defn is None and not ranges:
            return PartitionHealth(total=None)
        found = health(ranges, defn, dynamic=self.store.dynamic_partitions() if defn is not None else None)
        return replace(found, asset_stale=True) if defn is None and ASSET_STALE in ranges else found

    # -- runs ----------------------------------------------------------------------------------
    def runs(self, *, keep: int = 5000) -> list[RunView]:
        """Runs lockgate launched or observed, newest first."""
        folded: dict[str, RunView] = {}
        for _, event in self.tail(kinds=RUN_KINDS, keep=keep):
            if event.run_id is None:
                continue
            folded[event.run_id] = _fold_run(folded.get(event.run_id), event)
        return sorted(folded.values(), key=lambda r: r.updated_at, reverse=True)

    # -- launching -----------------------------------------------------------------------------
    def launch(
        self, selection: str, *, partition: str | None = None, reason: str = "portal"
    ) -> list[LaunchTicket]:
        """Check the selection and the owning adapters now; launch in the background."""
        graph = self.snapshot().graph
        keys = select_keys(graph, selection)
        groups = plan_launch(graph, keys)
        adapters = {name: self._adapter(name) for name in groups}
        nonce = uuid.uuid4().hex
        tickets: list[LaunchTicket] = []
        now = datetime.now(UTC)
        for name, group in groups.items():
            run_id = idempotency_key(name, group, partition, nonce)
            tickets.append(
                LaunchTicket(run_id=run_id, adapter=name, assets=tuple(group), partition=partition)
            )
            self.store.record_events(
                [
                    RunRequested(
                        event_id=f"lockgate:{run_id}:run_requested",
                        adapter=name,
                        timestamp=now,
                        partition=partition,
                        run_id=run_id,
                        assets=tuple(group),
                        reason=reason,
                    )
                ]
            )
        self._launcher.submit(self._run, graph, adapters, keys, partition, nonce, reason)
        return tickets

    def _adapter(self, name: str) -> Adapter:
        if self._factory is None:
            raise LaunchError(
                f"the portal has no adapter instances, so it cannot launch runs for {name!r}",
                where="portal",
                fix="start the portal with `lockgate serve` from a workspace that configures the adapter",
            )
        with self._lock:
            if name not in self._adapters:
                self._adapters[name] = self._factory(name)
            return self._adapters[name]

    def _run(
        self,
        graph: AssetGraph,
        adapters: Mapping[str, Adapter],
        keys: list[AssetKey],
        partition: str | None,
        nonce: str,
        reason: str,
    ) -> None:
        try:
            outcomes = launch(
                graph, self.store, adapters, keys, partition=partition, nonce=nonce, reason=reason
            )
        except LockgateError as exc:  # recorded against every request of this launch
            for name, group in plan_launch(graph, keys).items():
                run_id = idempotency_key(name, group, partition, nonce)
                self._record_end(name, run_id, ok=False, message=redact(str(exc)))
            return
        for outcome in outcomes:
            run_id = outcome.request.idempotency_key
            if outcome.handle is None:
                self._record_end(outcome.adapter, run_id, ok=False, message=outcome.error or "launch failed")
                continue
            handle = outcome.handle
            self.store.record_events(
                [
                    RunStarted(
                        event_id=f"lockgate:{run_id}:handle",
                        adapter=outcome.adapter,
                        timestamp=datetime.now(UTC),
                        run_id=run_id,
                        metadata={"origin_run_id": handle.run_id, "url": handle.url},
                    )
                ]
            )
            try:
                final = wait(outcome, adapters[outcome.adapter], self.store, timeout=6 * 3600)
            except LockgateError as exc:
                self._record_end(outcome.adapter, run_id, ok=False, message=redact(str(exc)))
                continue
            state = final.handle.state.value if final.handle else "failed"
            self._record_end(outcome.adapter, run_id, ok=state == "succeeded", message=final.error or "")

    def _record_end(self, adapter: str, run_id: str, *, ok: bool, message: str) -> None:
        now = datetime.now(UTC)
        event: Event
        if ok:
            event = RunSucceeded(
                event_id=f"lockgate:{run_id}:end", adapter=adapter, timestamp=now, run_id=run_id
            )
        else:
            event = RunFailed(
                event_id=f"lockgate:{run_id}:end",
                adapter=adapter,
                timestamp=now,
                run_id=run_id,
                message=message,
            )
        self.store.record_events([event])

    def drain(self, timeout: float = 60.0) -> None:
        """Wait for launches submitted so far (tests use this)."""
        self._launcher.submit(lambda: None).result(timeout=timeout)

    def close(self) -> None:
        self._launcher.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            adapters, self._adapters = self._adapters, {}
        for adapter in adapters.values():
            adapter.close()
        if self._owns_store:
            self._owns_store = False
            self.store.close()


def _fingerprint(syncs: Iterable[SyncState]) -> tuple[tuple[str, str, str, str | None], ...]:
    return tuple(sorted((s.adapter, s.started_at.isoformat(), str(s.finished_at), s.error) for s in syncs))


def _build_snapshot(graph: AssetGraph, syncs: tuple[SyncState, ...]) -> Snapshot:
    texts: dict[AssetKey, str] = {}
    counters: dict[str, Counter[str]] = {name: Counter() for name in ("system", "group", "owner", "tag")}
    for key, spec in graph.specs.items():
        texts[key] = f"{key}\n{spec.description}".lower()
        counters["system"][spec.system] += 1
        if spec.group:
            counters["group"][spec.group] += 1
        counters["owner"].update(spec.owners)
        counters["tag"].update(spec.tags)
    facets = {name: tuple(sorted(c.items())) for name, c in counters.items()}
    return Snapshot(
        graph=graph,
        keys=tuple(sorted(graph.specs)),
        search_text=texts,
        facets=facets,
        syncs=syncs,
        loaded_at=datetime.now(UTC),
    )


_STATUS = {
    EventKind.RUN_REQUESTED: "requested",
    EventKind.RUN_STARTED: "running",
    EventKind.RUN_SUCCEEDED: "succeeded",
    EventKind.RUN_FAILED: "failed",
}


def _fold_run(previous: RunView | None, event: Event) -> RunView:
    assert event.run_id is not None
    status = _STATUS.get(event.kind, "running")
    if previous is not None and event.asset_key is not None:
        # one node of a run: a failing node fails the run; others only show it is running
        if isinstance(event, RunFailed):
            status = "failed"
        elif previous.status in ("succeeded", "failed"):
            status = previous.status
        else:
            status = "running"
    assets: tuple[AssetKey, ...] = previous.assets if previous else ()
    if isinstance(event, RunRequested):
        assets = event.assets
    elif event.asset_key is not None and event.asset_key not in assets:
        assets = (*assets, event.asset_key)
    reason = event.reason if isinstance(event, RunRequested) else (previous.reason if previous else "")
    message = event.message if isinstance(event, RunFailed) else (previous.message if previous else "")
    url = event.metadata.get("url")
    origin = event.metadata.get("origin_run_id")
    return RunView(
        run_id=event.run_id,
        adapter=event.adapter,
        status=status,
        assets=assets,
        reason=reason,
        started_at=previous.started_at if previous else event.timestamp,
        updated_at=event.timestamp,
        message=message,
        url=url if isinstance(url, str) else (previous.url if previous else None),
        origin_run_id=origin if isinstance(origin, str) else (previous.origin_run_id if previous else None),
        launched=isinstance(event, RunRequested) or bool(previous and previous.launched),
    )
