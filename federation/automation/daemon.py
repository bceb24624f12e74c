"""The automation daemon: sync, tick, launch, every ``interval`` seconds, under the store's lease.

:class:`Daemon` keeps one :class:`~lockgate.federation.automation.tick.Automation` between ticks
and rebuilds it (cold, from the store) when the graph or the declared conditions change, e.g.
after a sync discovered new assets or a condition was attached through the API (read from the
store on every tick, so no restart is needed). Only the holder of the ``automation`` lease ticks; the others
skip until it expires. :meth:`Daemon.run` releases the lease when it stops, so a clean shutdown
(Ctrl-C, SIGTERM) hands over at once instead of after the lease's TTL.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from lockgate.federation.adapter import Adapter
from lockgate.federation.automation.assemble import Assembled, assemble
from lockgate.federation.automation.config import AutomationConfig
from lockgate.federation.automation.launcher import Launcher
from lockgate.federation.automation.tick import LEASE, Automation, TickResult
from lockgate.federation.checks.declared import WorkspaceChecks
from lockgate.federation.checks.run import ChecksOutcome, evaluate_checks
from lockgate.federation.checks.sql import SqlRunner
from lockgate.federation.errors import LockgateError
from lockgate.federation.events import EventKind
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.store.store import Store

if TYPE_CHECKING:
    from lockgate.federation.workspace import Workspace

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def first_partition(store: Store) -> Callable[[AssetKey], str | None]:
    """The partition of an asset's first materialization in the log (one indexed read)."""

    def first(key: AssetKey) -> str | None:
        for _, event in store.events(asset_key=key, kinds=[EventKind.MATERIALIZATION], limit=50):
            if event.partition is not None:
                return event.partition
        return None

    return first


def _fingerprint(graph: AssetGraph, found: Assembled) -> str:
    digest = hashlib.sha256()
    for key in sorted(graph, key=str):
        spec = graph.get(key)
        cond = found.conditions.get(key)
        blocking = sorted(ch.key.name for ch in graph.checks.get(key, ()) if ch.blocking)
        digest.update(
            repr(
                (
                    str(key),
                    sorted(map(str, spec.deps)),
                    spec.external,
                    str(cond),
                    found.partitions.get(key),
                    blocking,
                )
            ).encode()
        )
    digest.update(repr(sorted((str(up), str(down), m) for (up, down), m in found.mappings.items())).encode())
    return digest.hexdigest()


class StopSignal(Protocol):
    """What :meth:`Daemon.run` waits on: a ``threading.Event``, a ``multiprocessing`` event, or
    anything else that can say it is set and wait for it."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


class Daemon:
    """One automation daemon. ``graph_of`` returns the current graph (``build_graph(store)``);
    ``sync`` (optional) runs before each tick; ``report`` gets every tick's result.

    ``checks`` (the workspace's ``checks:``) are evaluated on every tick, after the sync and
    before the conditions, by the lease holder only; their outcome is kept in :attr:`checks_outcome`
    and a failing blocking check keeps ``checks_passed()`` (part of ``eager()``, ``on_cron()``
    and ``on_missing()``) false downstream until it passes."""

    def __init__(
        self,
        *,
        store: Store,
        graph_of: Callable[[], AssetGraph],
        config: AutomationConfig,
        adapters: Mapping[str, Adapter],
        holder: str | None = None,
        sync: Callable[[], None] | None = None,
        report: Callable[[TickResult], None] | None = None,
        on_error: Callable[[LockgateError], None] | None = None,
        clock: Clock = utc_now,
        checks: WorkspaceChecks | None = None,
        sql_runner: SqlRunner | None = None,
    ) -> None:
        self.store, self.graph_of, self.config = store, graph_of, config
        self.checks, self.sql_runner = checks, sql_runner
        self.checks_outcome = ChecksOutcome()
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.launcher = Launcher(adapters, config.daemon.policy)
        self.sync, self.report, self.on_error, self.clock = sync, report, on_error, clock
        self.automation: Automation | None = None
        self.assembled = Assembled()
        self._print = ""

    def prepare(self, graph: AssetGraph | None = None) -> Automation:
        """The automation for the current graph: reused while graph and conditions are unchanged."""
        graph = self.graph_of() if graph is None else graph
        found = assemble(
            graph,
            self.config,
            first_partition=first_partition(self.store),
            api_conditions=self.store.api_conditions(),
        )
        stamp = _fingerprint(graph, found)
        if self.automation is None or stamp != self._print:
            self.automation = Automation(
                graph,
                self.store,
                found.conditions,
                partitions=found.partitions,
                mappings=found.mappings,
                holder=self.holder,
                lease_ttl=self.config.daemon.lease_ttl,
            )
            self._print = stamp
        self.assembled = found
        return self.automation

    def tick(self, now: datetime | None = None) -> TickResult:
        """Sync (if configured), evaluate once, record, launch. Errors of a sync are reported and
        the tick goes on with what the store has."""
        if self.sync is not None:
            try:
                self.sync()
            except LockgateError as err:
                if self.on_error is None:
                    raise
                self.on_error(err)
        now = now or self.clock()
        graph = self.graph_of()
        if self.checks is not None and self.checks.checks:
            graph = self.evaluate_checks(graph, now)
        automation = self.prepare(graph)
        result = automation.tick(now, self.launcher)
        if self.report is not None:
            self.report(result)
        return result

    def evaluate_checks(self, graph: AssetGraph, now: datetime) -> AssetGraph:
        """Evaluate the workspace's checks at ``now`` (lease holder only) and return the graph
        again, now with the checks' specs, so the evaluator knows which checks are blocking."""
        assert self.checks is not None
        if not self.store.acquire_lease(LEASE, self.holder, now=now, ttl=self.config.daemon.lease_ttl):
            self.checks_outcome = ChecksOutcome()
            return graph
        self.checks_outcome = evaluate_checks(self.checks, graph, self.store, now, sql_runner=self.sql_runner)
        return self.graph_of()

    def run(self, stop: StopSignal, *, interval: float | None = None) -> int:
        """Tick every ``interval`` seconds until ``stop`` is set; returns the ticks run. A
        :class:`LockgateError` in a tick is reported (``on_error``) and the loop goes on."""
        every = self.config.daemon.interval if interval is None else interval
        ticks = 0
        try:
            while not stop.is_set():
                try:
                    self.tick()
                    ticks += 1
                except LockgateError as err:
                    if self.on_error is None:
                        raise
                    self.on_error(err)
                stop.wait(every)
        finally:
            self.release()
        return ticks

    def release(self) -> None:
        with contextlib.suppress(LockgateError):  # the store is gone: the lease expires on its own
            self.store.release_lease(LEASE, self.holder)


def workspace_daemon(
    workspace: Workspace,
    store: Store,
    adapters: Mapping[str, Adapter],
    *,
    sync: bool | None = None,
    report: Callable[[TickResult], None] | None = None,
    on_error: Callable[[LockgateError], None] | None = None,
    clock: Clock = utc_now,
    sql_runner: SqlRunner | None = None,
    holder: str | None = None,
) -> Daemon:
    """The daemon a workspace declares: its ``automation:`` rules and settings, its adapters (by
    name), its ``checks:`` and, unless ``sync`` says otherwise, a sync of every adapter before
    each tick."""
    from lockgate.federation.automation.config import parse_automation
    from lockgate.federation.checks.declared import parse_checks
    from lockgate.federation.sync import build_graph, sync_all

    config = parse_automation(dict(workspace.automation), path=workspace.path)
    do_sync = config.daemon.sync if sync is None else sync

    def run_sync() -> None:  # the tick that follows refreshes the partition status itself
        sync_all(workspace, store, adapters, refresh_partitions=False)

    return Daemon(
        store=store,
        graph_of=lambda: build_graph(store),
        config=config,
        adapters=adapters,
        sync=run_sync if do_sync else None,
        report=report,
        on_error=on_error,
        clock=clock,
        checks=parse_checks(workspace),
        sql_runner=sql_runner,
        holder=holder,
    )
