"""Recording received OpenLineage events in the store, across requests and processes.

:func:`~lockgate.federation.openlineage.ingest.ingest` is pure and sees one request. The
:class:`Receiver` makes the result durable and correct when a run's events arrive in separate
requests, out of order, twice, or at the same time in different server processes:

1. **Events** (fast path): the request's events go to the store with ``record_events`` (one
   transaction; ids are deterministic in (runId, eventType, eventTime, asset), so a duplicate is
   skipped by the store).
2. **Specs** (only when a request names a dataset the graph does not know yet): under the store
   lease ``openlineage-receiver`` (one writer across processes), the *current* specs are re-read,
   the request is ingested against them, and the ingest adapter's specs are written with
   ``write_sync`` together with the events: no lost updates between concurrent requests.
3. **Completion**: inside the same write transaction (under the store's writer lock), every
   earlier event of the request's runIds is read and each run event is applied to the union of
   the run's targets (a COMPLETE with no outputs materializes the outputs its START named,
   whichever came first). Writers are serialised, so of two concurrent requests for one run the
   later one sees both. One transaction per request on the fast path.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from lockgate.federation.adapter import Discovery, ObserveResult
from lockgate.federation.errors import StoreError
from lockgate.federation.events import Event
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.openlineage.envelope import kind_of
from lockgate.federation.openlineage.ingest import (
    SYSTEM,
    KnownIndex,
    RunStep,
    completion,
    ingest,
    step_of,
)
from lockgate.federation.openlineage.runs import Namespaces

if TYPE_CHECKING:
    from lockgate.federation.store import Store

LEASE = "openlineage-receiver"
LEASE_TTL = timedelta(seconds=30)


@dataclass(frozen=True, slots=True, kw_only=True)
class Received:
    """What one request did: events received, lockgate events newly recorded, assets created."""

    received: int
    recorded: int
    new_assets: tuple[AssetKey, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(slots=True, kw_only=True)
class _Job:
    """One request's events waiting for a group commit; ``done`` once a writer handled it."""

    events: tuple[Event, ...]
    steps: dict[str, list[RunStep]]
    done: bool = False
    recorded: int = 0
    error: BaseException | None = None


class _Combiner:
    """Group commit: the requests that arrive while this process is writing share its next
    write transaction (one writer-lock hold, one commit), instead of queueing on the store's
    writer lock one by one. Each request still returns only after its events are committed."""

    def __init__(self, store: Store, adapter: str) -> None:
        self.store = store
        self.adapter = adapter
        self._pending: list[_Job] = []
        self._guard = threading.Lock()
        self._writer = threading.Lock()

    def write(self, job: _Job) -> int:
        with self._guard:
            self._pending.append(job)
        with self._writer:
            if not job.done:
                with self._guard:
                    batch, self._pending = self._pending, []
                self._flush(batch)
        if job.error is not None:
            raise job.error
        return job.recorded

    def _flush(self, batch: list[_Job]) -> None:
        steps: dict[str, list[RunStep]] = {}
        for job in batch:
            for run_id, found in job.steps.items():
                steps.setdefault(run_id, []).extend(found)
        events = [e for job in batch for e in job.events]

        def complete(held: list[tuple[int, Event]]) -> list[Event]:
            stored = [e for _, e in held]
            missing = _missing(stored, events, steps, self.adapter)
            # ids embed the runId, so a job's new events are its own and its runs' missing ones
            # that no stored event and no earlier job of the batch holds
            seen = {e.event_id for e in stored}
            for job in batch:
                own = {e.event_id for e in [*job.events, *missing] if e.run_id in job.steps} - seen
                job.recorded = len(own)
                seen |= own
            return missing

        try:
            self.store.record_events(events, runs=sorted(steps), complete=complete)
        except BaseException as err:
            for job in batch:
                job.error, job.recorded = err, 0
        finally:
            for job in batch:
                job.done = True


class Receiver:
    """Thread-safe; one per process. ``graph`` returns the current graph (the portal passes its
    cached snapshot's graph; the known-spec index is rebuilt only when that object changes)."""

    def __init__(
        self,
        store: Store,
        *,
        graph: Callable[[], AssetGraph] | None = None,
        adapter: str = SYSTEM,
        namespaces: Namespaces | None = None,
        lease_wait: float = 30.0,
    ) -> None:
        self.store = store
        self.adapter = adapter
        self.namespaces = namespaces or Namespaces()
        self.lease_wait = lease_wait
        self._graph = graph or self._fresh_graph
        self._lock = threading.Lock()
        self._cached: tuple[AssetGraph, KnownIndex] | None = None
        self._combiner = _Combiner(store, adapter)

    def _fresh_graph(self) -> AssetGraph:
        from lockgate.federation.sync import build_graph

        return build_graph(self.store)

    def _index(self) -> KnownIndex:
        graph = self._graph()
        with self._lock:
            if self._cached is None or self._cached[0] is not graph:
                self._cached = (graph, KnownIndex(graph.specs.values(), self.namespaces))
            return self._cached[1]

    def receive(self, docs: Sequence[Mapping[str, Any]], *, checked: Sequence[str] | None = None) -> Received:
        """Check every event (:class:`OpenLineageError` before anything is written), record them.
        ``checked``: the caller checked ``docs`` already, with these warnings."""
        result = ingest(docs, self._index(), adapter=self.adapter, checked=checked)
        if result.changed:
            recorded, new_assets = self._write_specs(docs)
            recorded += self._complete(docs)
        else:
            recorded = self._combiner.write(_Job(events=result.events, steps=_steps(docs)))
            new_assets = ()
        return Received(
            received=len(docs), recorded=recorded, new_assets=new_assets, warnings=result.warnings
        )

    def _write_specs(self, docs: Sequence[Mapping[str, Any]]) -> tuple[int, tuple[AssetKey, ...]]:
        holder = uuid.uuid4().hex
        deadline = time.monotonic() + self.lease_wait
        pause = 0.005  # doubled up to 50 ms: each poll is a write transaction competing with the holder's
        while not self.store.acquire_lease(LEASE, holder, now=datetime.now(UTC), ttl=LEASE_TTL):
            if time.monotonic() > deadline:
                raise StoreError(
                    f"another receiver held the lease {LEASE!r} for more than {self.lease_wait:.0f}s",
                    where=f"store {self.store.url!r}",
                    fix="send the events again; if this persists, check for a stuck lockgate process",
                )
            time.sleep(pause)
            pause = min(0.05, pause * 2)
        try:
            started = datetime.now(UTC)
            result = ingest(docs, self.store.asset_specs(), adapter=self.adapter, namespaces=self.namespaces)
            state = self.store.write_sync(
                adapter=self.adapter,
                kind=SYSTEM,
                started_at=started,
                discovery=Discovery(assets=result.specs),
                observed=ObserveResult(events=result.events, cursor=None),
            )
        finally:
            self.store.release_lease(LEASE, holder)
        return state.new_events, result.new_assets

    def _complete(self, docs: Sequence[Mapping[str, Any]]) -> int:
        steps = _steps(docs)

        def complete(held: list[tuple[int, Event]]) -> list[Event]:
            return _missing([e for _, e in held], (), steps, self.adapter)

        return self.store.record_events((), runs=sorted(steps), complete=complete) if steps else 0


def _steps(docs: Sequence[Mapping[str, Any]]) -> dict[str, list[RunStep]]:
    """The run events of ``docs`` by runId."""
    steps: dict[str, list[RunStep]] = {}
    for doc in docs:
        if kind_of(doc) == "RunEvent":
            steps.setdefault(doc["run"]["runId"], []).append(step_of(doc))
    return steps


def _missing(
    held: Sequence[Event], mine: Sequence[Event], steps: Mapping[str, list[RunStep]], adapter: str
) -> list[Event]:
    """Completion of each run of ``steps`` over its stored events and this request's: every run
    event applied to the union of the run's targets (runs are read inside the write, under the
    writer lock, so of two concurrent requests for one run the later one sees both)."""
    by_run: dict[str, list[Event]] = {run_id: [] for run_id in steps}
    for event in [*held, *mine]:
        if event.run_id in by_run:
            by_run[event.run_id].append(event)
    missing: list[Event] = []
    for run_id, events in sorted(by_run.items()):
        missing.extend(completion(events, adapter, steps[run_id]))
    return missing
