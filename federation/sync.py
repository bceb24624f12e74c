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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from lockgate.federation.adapter import Adapter, Discovery, ObserveResult, RunHandle, RunRequest
from lockgate.federation.errors import LaunchError, LockgateError, UnknownAssetError
from lockgate.federation.events import Event, RunRequested
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.redact import redact

if TYPE_CHECKING:
    from lockgate.federation.store import Store
    from lockgate.federation.workspace import Workspace


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

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1


ProgressCallback = Callable[[SyncProgress], None]


def sync_all(
    workspace: Workspace,
    store: Store,
    adapters: Mapping[str, Adapter] | None = None,
    progress: ProgressCallback | None = None,
) -> SyncSummary:
    """Discover and observe each adapter of ``workspace`` and record it with ``store.write_sync``.

    ``adapters`` maps workspace names to adapter instances the caller owns; when omitted, each
    adapter is created from the workspace here (a creation error is that adapter's failure) and
    closed afterwards. An adapter raising a :class:`LockgateError` is recorded as a failed sync
    with its redacted message; the others still run.
    """
    report = progress or (lambda _: None)
    total = len(workspace.adapters)
    results: list[AdapterSyncResult] = []
    for index, entry in enumerate(workspace.adapters, start=1):
        started_at = datetime.now(UTC)
        clock = time.perf_counter()

        def step(stage: str, message: str = "", name: str = entry.name, i: int = index) -> None:
            report(SyncProgress(adapter=name, stage=stage, index=i, total=total, message=message))

        owned = adapters is None or entry.name not in adapters
        adapter: Adapter | None = None
        try:
            step("discover")
            adapter = entry.create() if owned else adapters[entry.name]  # type: ignore[index]
            discovery: Discovery = adapter.discover()
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
            message = redact(str(exc))
            store.write_sync(
                adapter=entry.name,
                kind=entry.kind,
                started_at=started_at,
                discovery=None,
                observed=None,
                error=message,
            )
            step("failed", message)
            results.append(
                AdapterSyncResult(
                    adapter=entry.name, kind=entry.kind, seconds=time.perf_counter() - clock, error=message
                )
            )
            continue
        finally:
            if owned and adapter is not None:
                adapter.close()
        step("done")
        results.append(
            AdapterSyncResult(
                adapter=entry.name,
                kind=entry.kind,
                assets=state.assets,
                checks=state.checks,
                new_events=state.new_events,
                seconds=time.perf_counter() - clock,
                warnings=tuple(redact(w) for w in discovery.warnings),
            )
        )
    return SyncSummary(results=tuple(results))


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
    return LaunchOutcome(
        adapter=outcome.adapter, request=outcome.request, handle=handle, events=tuple(streamed)
    )


def _finished(handle: RunHandle) -> bool:
    return handle.state.finished
