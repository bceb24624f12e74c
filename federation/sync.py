"""The sync service: discover and observe every adapter into the store, build the graph from the
store, and launch run requests through the adapters that own the assets.

Pure orchestration over the :class:`~lockgate.federation.adapter.Adapter` protocol and the
:class:`~lockgate.federation.store.Store`; it imports no adapter and no client library.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from lockgate.federation import lineage_out
from lockgate.federation.adapter import Adapter, Discovery, ObserveResult, RunHandle, RunRequest
from lockgate.federation.errors import LaunchError, LockgateError, UnknownAssetError
from lockgate.federation.events import Event, RunRequested
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.mappings import (
    YIELDS_DATASET,
    SelectionMapped,
    resolve_for_adapter,
    yield_shared_datasets,
)
from lockgate.federation.redact import redact

if TYPE_CHECKING:
    from lockgate.federation.partitions.status import Refreshed
    from lockgate.federation.store import Store
    from lockgate.federation.workspace import AdapterEntry, Workspace


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncProgress:
    """One step of a sync, for progress displays. ``stage`` is discover, observe, write, done or
    failed; ``index`` counts adapters from 1 to ``total``."""

    adapter: str
    stage: str
    index: int
    total: int
    message: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AdapterSyncResult:
    adapter: str
    kind: str
    assets: int = 0
    checks: int = 0
    new_events: int = 0
    seconds: float = 0.0
    warnings: tuple[str, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncSummary:
    results: tuple[AdapterSyncResult, ...]
    partitions: Refreshed | None = None
    """The refresh of the stored partition status after the sync (None: not run or failed)."""
    partition_error: str | None = None
    """Why the partition status could not be refreshed (e.g. a bad ``partitions:`` rule)."""

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results) and self.partition_error is None

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1


ProgressCallback = Callable[[SyncProgress], None]


def sync_all(
    workspace: Workspace,
    store: Store,
    adapters: Mapping[str, Adapter] | None = None,
    progress: ProgressCallback | None = None,
    *,
    refresh_partitions: bool = True,
) -> SyncSummary:
    """Discover and observe each adapter of ``workspace`` and record it with ``store.write_sync``.

    ``adapters`` maps workspace names to adapter instances the caller owns; when omitted, each
    adapter is created from the workspace here (a creation error is that adapter's failure) and
    closed afterwards. An adapter raising a :class:`LockgateError` is recorded as a failed sync
    with its redacted message; the others still run.

    Adapters that can map to other adapters' assets (:class:`~lockgate.federation.mappings.
    SelectionMapped`) are synced after the others: their mapping selections are resolved against
    the other adapters' assets first, and their assets flagged ``YIELDS_DATASET`` defer to another
    adapter producing the same dataset. Results keep the workspace order.

    Then (unless ``refresh_partitions`` is false) the stored partition status is brought up to
    the log (:func:`~lockgate.federation.partitions.status.refresh_workspace_partitions`), so the
    portal and the API show it without an automation daemon; a :class:`LockgateError` there is
    the summary's ``partition_error``.
    """
    report = progress or (lambda _: None)
    since = lineage_out.mark(store)
    total = len(workspace.adapters)
    results: dict[int, AdapterSyncResult] = {}
    deferred: list[tuple[int, AdapterEntry, Adapter, bool]] = []
    for index, entry in enumerate(workspace.adapters, start=1):
        owned = adapters is None or entry.name not in adapters
        if not owned:
            adapter: Adapter = adapters[entry.name]  # type: ignore[index]
        else:
            try:
                adapter = entry.create()
            except LockgateError as exc:
                results[index] = _failed(store, entry, index, total, report, exc, time.perf_counter())
                continue
        if isinstance(adapter, SelectionMapped):
            deferred.append((index, entry, adapter, owned))
            continue
        results[index] = _sync_one(store, entry, adapter, owned, index, total, report)
    for index, entry, adapter, owned in deferred:
        results[index] = _sync_one(store, entry, adapter, owned, index, total, report)
    lineage_out.after_sync(workspace, store, since)  # OpenLineage out; never raises
    refreshed, error = None, None
    if refresh_partitions:
        from lockgate.federation.partitions.status import refresh_workspace_partitions

        try:
            refreshed = refresh_workspace_partitions(workspace, store)
        except LockgateError as exc:
            error = redact(str(exc))
    return SyncSummary(
        results=tuple(results[i] for i in sorted(results)), partitions=refreshed, partition_error=error
    )


def _failed(
    store: Store,
    entry: AdapterEntry,
    index: int,
    total: int,
    report: ProgressCallback,
    exc: LockgateError,
    clock: float,
    started_at: datetime | None = None,
) -> AdapterSyncResult:
    message = redact(str(exc))
    store.write_sync(
        adapter=entry.name,
        kind=entry.kind,
        started_at=started_at or datetime.now(UTC),
        discovery=None,
        observed=None,
        error=message,
    )
    report(SyncProgress(adapter=entry.name, stage="failed", index=index, total=total, message=message))
    return AdapterSyncResult(
        adapter=entry.name, kind=entry.kind, seconds=time.perf_counter() - clock, error=message
    )


def _sync_one(
    store: Store,
    entry: AdapterEntry,
    adapter: Adapter,
    owned: bool,
    index: int,
    total: int,
    report: ProgressCallback,
) -> AdapterSyncResult:
    started_at = datetime.now(UTC)
    clock = time.perf_counter()

    def step(stage: str, message: str = "") -> None:
        report(SyncProgress(adapter=entry.name, stage=stage, index=index, total=total, message=message))

    resolved_warnings: tuple[str, ...] = ()
    try:
        step("discover")
        if isinstance(adapter, SelectionMapped):
            selections = adapter.mapping_selections()
            if selections:
                resolved = resolve_for_adapter(store, entry.name, selections)
                adapter.resolve_mappings(resolved.keys)
                resolved_warnings = resolved.warnings
        discovery: Discovery = adapter.discover()
        if any(spec.metadata.get(YIELDS_DATASET) for spec in discovery.assets):
            others = [s for s in store.asset_specs() if s.origin.adapter != entry.name]
            assets, _ = yield_shared_datasets(discovery.assets, others)
            discovery = replace(discovery, assets=assets)
        step("observe", f"{len(discovery.assets)} assets, {len(discovery.checks)} checks")
        observed: ObserveResult = adapter.observe(store.cursor(entry.name))
        step("write", f"{len(observed.events)} events")
        state = store.write_sync(
            adapter=entry.name,
            kind=entry.kind,
            started_at=started_at,
            discovery=discovery,
            observed=observed,
        )
    except LockgateError as exc:
        return _failed(store, entry, index, total, report, exc, clock, started_at)
    finally:
        if owned:
            adapter.close()
    step("done")
    return AdapterSyncResult(
        adapter=entry.name,
        kind=entry.kind,
        assets=state.assets,
        checks=state.checks,
        new_events=state.new_events,
        seconds=time.perf_counter() - clock,
        warnings=tuple(redact(w) for w in (*resolved_warnings, *discovery.warnings)),
    )


def build_graph(store: Store) -> AssetGraph:
    """The asset graph of everything the store knows (removed assets left out)."""
    return AssetGraph.build(store.asset_specs(), store.check_specs())


def select_keys(graph: AssetGraph, selection: str | Iterable[AssetKey]) -> list[AssetKey]:
    """Resolve a selection expression (or pass keys through, checking they exist)."""
    if isinstance(selection, str):
        keys = graph.select(selection)
        if not keys:
            raise UnknownAssetError(
                f"the selection {selection!r} matches no asset",
                where="selection",
                fix="run `lockgate assets` to see the keys, or `lockgate sync` if the store is empty",
            )
        return keys
    keys = list(selection)
    for key in keys:
        if key not in graph:
            raise UnknownAssetError(
                f"no asset has the key {str(key)!r}",
                where="selection",
                fix="run `lockgate assets` to see the keys",
            )
    return keys


def idempotency_key(adapter: str, keys: Iterable[AssetKey], partition: str | None, nonce: str) -> str:
    """Deterministic for (adapter, the set of keys, partition, nonce): a retry finds the same run."""
    payload = json.dumps([adapter, sorted(str(k) for k in keys), partition, nonce], separators=(",", ":"))
    return "lg-" + hashlib.sha256(payload.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True, kw_only=True)
class LaunchOutcome:
    """One adapter's part of a launch: the request, the handle, and the events it streamed."""

    adapter: str
    request: RunRequest
    handle: RunHandle | None
    events: tuple[Event, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.handle is not None and self.handle.state.value != "failed"


def drop_external(graph: AssetGraph, keys: Iterable[AssetKey]) -> list[AssetKey]:
    """``keys`` without external assets; an error if that leaves nothing to build."""
    kept = [k for k in keys if not graph.get(k).external]
    if not kept:
        what = "every selected asset is external, so there is nothing to materialize"
        raise LaunchError(
            what,
            where="selection",
            fix="select assets that lockgate's adapters build, not only sources",
        )
    return kept


def plan_launch(graph: AssetGraph, keys: Sequence[AssetKey]) -> dict[str, list[AssetKey]]:
    """Group ``keys`` by owning adapter; external assets are refused with a clear message."""
    external = [k for k in keys if graph.get(k).external]
    if external:
        shown = ", ".join(str(k) for k in external[:5]) + (" ..." if len(external) > 5 else "")
        raise LaunchError(
            f"{len(external)} selected asset(s) are external and cannot be materialized by lockgate: {shown}",
            where="selection",
            fix="external assets (dbt sources, upstream tables) are observed only; remove them from the"
            " selection (e.g. `orders+` instead of `+orders`) or pass --skip-external",
        )
    groups: dict[str, list[AssetKey]] = {}
    for key in keys:
        groups.setdefault(graph.get(key).origin.adapter, []).append(key)
    return {name: sorted(group) for name, group in sorted(groups.items())}


def launch(
    graph: AssetGraph,
    store: Store,
    adapters: Mapping[str, Adapter],
    selection: str | Iterable[AssetKey],
    *,
    partition: str | None = None,
    nonce: str | None = None,
    reason: str = "manual",
    skip_external: bool = False,
) -> list[LaunchOutcome]:
    """Launch the selected assets in the systems that own them, one request per adapter.

    ``nonce`` (default: the current time) goes into each idempotency key, so the same call with
    the same nonce never starts a second run. Each request is recorded as a ``RunRequested``
    event before the adapter launches it; the adapter's events go to the store as they happen.
    A :class:`LockgateError` from one adapter becomes that outcome's error; others still launch.
    """
    keys = select_keys(graph, selection)
    if skip_external:
        keys = drop_external(graph, keys)
    groups = plan_launch(graph, keys)
    missing = sorted(set(groups) - set(adapters))
    if missing:
        raise LaunchError(
            f"the selection needs the adapter(s) {', '.join(missing)}, which the workspace lacks",
            where="selection",
            fix="add the adapter to lockgate.yaml, or run `lockgate sync` to drop stale assets",
        )
    stamp = nonce if nonce is not None else datetime.now(UTC).isoformat()
    outcomes: list[LaunchOutcome] = []
    for name, group in groups.items():
        request = RunRequest(
            assets=tuple(group),
            idempotency_key=idempotency_key(name, group, partition, stamp),
            partition=partition,
            reason=reason,
        )
        store.record_events(
            [
                RunRequested(
                    event_id=f"lockgate:{request.idempotency_key}:run_requested",
                    adapter=name,
                    timestamp=datetime.now(UTC),
                    partition=partition,
                    run_id=request.idempotency_key,
                    assets=request.assets,
                    reason=reason,
                )
            ]
        )
        streamed: list[Event] = []

        def sink(events: Sequence[Event], into: list[Event] = streamed) -> None:
            store.record_events(events)
            into.extend(events)

        try:
            handle = adapters[name].launch(request, sink)
        except LockgateError as exc:
            outcomes.append(
                LaunchOutcome(
                    adapter=name, request=request, handle=None, events=tuple(streamed), error=redact(str(exc))
                )
            )
            continue
        outcomes.append(LaunchOutcome(adapter=name, request=request, handle=handle, events=tuple(streamed)))
    finished = [e for o in outcomes if not o.handle or o.handle.state.finished for e in o.events]
    lineage_out.publish(store, finished)  # OpenLineage out after the commit; never raises
    return outcomes


def wait(
    outcome: LaunchOutcome,
    adapter: Adapter,
    store: Store,
    *,
    timeout: float = 3600.0,
    interval: float = 1.0,
) -> LaunchOutcome:
    """Poll ``outcome``'s run until it finishes (or ``timeout`` seconds pass)."""
    handle = outcome.handle
    if handle is None or handle.state.finished:
        return outcome
    streamed = list(outcome.events)

    def sink(events: Sequence[Event]) -> None:
        store.record_events(events)
        streamed.extend(events)

    deadline = time.monotonic() + timeout
    while not _finished(handle):
        if time.monotonic() > deadline:
            raise LaunchError(
                f"the run {handle.run_id} did not finish within {timeout:.0f}s",
                where=f"adapter {outcome.adapter}",
                fix="check the run in its origin system; lockgate keeps recording its events on sync",
            )
        time.sleep(interval)
        handle = adapter.poll(handle, sink)
    lineage_out.publish(store, streamed)  # OpenLineage out after the commit; never raises
    return LaunchOutcome(
        adapter=outcome.adapter, request=outcome.request, handle=handle, events=tuple(streamed)
    )


def _finished(handle: RunHandle) -> bool:
    return handle.state.finished
