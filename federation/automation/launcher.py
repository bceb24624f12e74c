"""The launcher: takes requests from the durable run queue and launches them through adapters.

A request reaches the queue in the tick's transaction, before anything is launched. Each step
polls running runs, then launches queued ones, highest priority first, within the concurrency
limits per adapter and per tag. A row is marked ``launching`` in its own transaction before the
adapter is called, and ``running`` with the run id after; a crash between the two leaves it
``launching`` and the next step launches it again with the same idempotency key, which the
adapter resolves to the run it already started. A failed launch or run is retried with
exponential backoff up to ``max_attempts`` (a retry carries ``:attempt<n>`` in its key, because
it must start a new run); a run that outlives ``timeout`` is marked failed. A request with
``after`` keys waits in the queue until those requests succeeded, and fails (is cancelled)
without being launched when one of them failed (was cancelled).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from lockgate.federation.adapter import Adapter, RunHandle, RunRequest, RunState
from lockgate.federation.automation.records import QueuedRun, RunQueueState
from lockgate.federation.errors import AdapterError
from lockgate.federation.events import Event
from lockgate.federation.store.store import Store


@dataclass(frozen=True, slots=True, kw_only=True)
class LaunchPolicy:
    """``per_tag`` limits runs whose request has a tag ``key`` (any value) or ``key=value``."""

    per_adapter: Mapping[str, int] = field(default_factory=dict)
    default_per_adapter: int = 4
    per_tag: Mapping[str, int] = field(default_factory=dict)
    max_attempts: int = 3
    backoff: timedelta = timedelta(seconds=30)
    timeout: timedelta | None = timedelta(hours=6)


def _store_sink(store: Store) -> Callable[[Sequence[Event]], None]:
    def sink(events: Sequence[Event]) -> None:
        store.record_events(events)

    return sink


def _tag_slots(request: RunRequest) -> list[str]:
    return [*request.tags, *(f"{k}={v}" for k, v in request.tags.items())]


class Launcher:
    """Launches queued runs through ``adapters`` (by workspace name), one step at a time."""

    def __init__(
        self,
        adapters: Mapping[str, Adapter],
        policy: LaunchPolicy | None = None,
        sink: Callable[[Sequence[Event]], None] | None = None,
        only: Callable[[QueuedRun], bool] | None = None,
    ) -> None:
        """``only`` restricts which queued runs this launcher polls and launches (a backfill's
        own); the others still count against the concurrency limits."""
        self.adapters = adapters
        self.policy = policy or LaunchPolicy()
        self._sink = sink
        self._only = only

    def step(self, store: Store, now: datetime) -> list[RunHandle]:
        """Poll what runs, launch what may start; returns the handles of runs launched now."""
        sink = self._sink or _store_sink(store)
        active = store.run_queue([RunQueueState.LAUNCHING, RunQueueState.RUNNING])
        running: list[QueuedRun] = []
        launched: list[RunHandle] = []
        for run in active:
            if self._only is not None and not self._only(run):
                running.append(run)
            elif run.state is RunQueueState.LAUNCHING:  # a crash mid-launch: same key again
                handle = self._launch(store, run, now, sink, bump=False)
                if handle is not None:
                    launched.append(handle)
                    running.append(replace(run, state=RunQueueState.RUNNING))
            elif not self._poll(store, run, now, sink):
                running.append(run)
        by_adapter = Counter(r.adapter for r in running)
        by_tag = Counter(slot for r in running for slot in _tag_slots(r.request))
        queued = store.run_queue([RunQueueState.QUEUED])
        upstream = {key for run in queued for key in run.request.after}
        states = store.run_states(upstream) if upstream else {}
        for run in queued:
            if run.not_before is not None and run.not_before > now:
                continue
            if self._only is not None and not self._only(run):
                continue
            if run.request.after and self._waits(store, run, states, now):
                continue
            limit = self.policy.per_adapter.get(run.adapter, self.policy.default_per_adapter)
            slots = _tag_slots(run.request)
            if by_adapter[run.adapter] >= limit or any(
                by_tag[s] >= self.policy.per_tag[s] for s in slots if s in self.policy.per_tag
            ):
                continue
            handle = self._launch(store, run, now, sink, bump=True)
            if handle is not None:
                launched.append(handle)
                by_adapter[run.adapter] += 1
                by_tag.update(slots)
        return launched

    @staticmethod
    def _waits(store: Store, run: QueuedRun, states: Mapping[str, RunQueueState], now: datetime) -> bool:
        """True while a request it comes ``after`` has not succeeded; when one failed or was
        cancelled, this one ends the same way without being launched (and True)."""
        for key in run.request.after:
            state = states.get(key)  # not in the queue (any more): nothing to wait for
            if state in (RunQueueState.FAILED, RunQueueState.CANCELLED):
                store.update_queued_run(
                    run.id,
                    now=now,
                    state=state,
                    message=f"not launched: the upstream run {key} {state.value}",
                )
                return True
        return any(states.get(key) not in (None, RunQueueState.SUCCEEDED) for key in run.request.after)

    def _request(self, run: QueuedRun, attempt: int) -> RunRequest:
        if attempt <= 1:
            return run.request
        return replace(run.request, idempotency_key=f"{run.request.idempotency_key}:attempt{attempt}")

    def _launch(
        self,
        store: Store,
        run: QueuedRun,
        now: datetime,
        sink: Callable[[Sequence[Event]], None],
        *,
        bump: bool,
    ) -> RunHandle | None:
        adapter = self.adapters.get(run.adapter)
        if adapter is None:
            store.update_queued_run(
                run.id,
                now=now,
                state=RunQueueState.FAILED,
                message=f"no adapter named {run.adapter!r} in the workspace; "
                "add it, or remove the asset's automation condition",
            )
            return None
        attempt = run.attempts + 1 if bump else max(run.attempts, 1)
        if bump:
            store.update_queued_run(run.id, now=now, state=RunQueueState.LAUNCHING, attempts=attempt)
        try:
            handle = adapter.launch(self._request(run, attempt), sink)
        except AdapterError as err:
            self._failed(store, run, attempt, now, f"launch failed: {err}")
            return None
        if handle.state.finished:
            store.update_queued_run(run.id, now=now, launched_at=now, run_id=handle.run_id)
            self._finish(store, replace(run, attempts=attempt), handle, now)
        else:
            store.update_queued_run(
                run.id, now=now, state=RunQueueState.RUNNING, launched_at=now, run_id=handle.run_id
            )
        return handle

    def _poll(
        self, store: Store, run: QueuedRun, now: datetime, sink: Callable[[Sequence[Event]], None]
    ) -> bool:
        """Refresh a running run; True when it left the running state."""
        adapter = self.adapters.get(run.adapter)
        if adapter is None or run.run_id is None:
            return False
        try:
            handle = adapter.poll(
                RunHandle(adapter=run.adapter, run_id=run.run_id, state=RunState.RUNNING), sink
            )
        except AdapterError:
            return False  # transient: poll again next step
        if handle.state.finished:
            self._finish(store, run, handle, now)
            return True
        timeout = self.policy.timeout
        if timeout is not None and run.launched_at is not None and now - run.launched_at > timeout:
            self._failed(store, run, run.attempts, now, f"timed out after {timeout}")
            return True
        return False

    def _finish(self, store: Store, run: QueuedRun, handle: RunHandle, now: datetime) -> None:
        if handle.state is RunState.SUCCEEDED:
            store.update_queued_run(run.id, now=now, state=RunQueueState.SUCCEEDED, message=handle.message)
        else:
            self._failed(
                store, run, run.attempts, now, handle.message or f"the run ended {handle.state.value}"
            )

    def _failed(self, store: Store, run: QueuedRun, attempt: int, now: datetime, message: str) -> None:
        if attempt < self.policy.max_attempts:
            delay = self.policy.backoff * (2 ** max(attempt - 1, 0))
            store.update_queued_run(
                run.id, now=now, state=RunQueueState.QUEUED, not_before=now + delay, message=message
            )
        else:
            store.update_queued_run(run.id, now=now, state=RunQueueState.FAILED, message=message)
