"""The extension point every external system implements, and the values it exchanges.

An adapter discovers specs, observes what happened since a cursor, launches run requests in its
own system and polls them. It is created by an :class:`AdapterPlugin` found through the
``lockgate.adapters`` entry-point group (see :mod:`lockgate.federation.registry`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from lockgate.federation.events import Event
from lockgate.federation.keys import AssetKey
from lockgate.federation.specs import AssetSpec, CheckSpec, Metadata

EventSink = Callable[[Sequence[Event]], None]
"""Receives events as they happen during a launch (e.g. dbt's per-node ``NodeFinished``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Discovery:
    """Everything one adapter knows about its system's assets and checks right now."""

    assets: tuple[AssetSpec, ...]
    checks: tuple[CheckSpec, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ObserveResult:
    """New events since the given cursor, and the cursor to pass next time.

    The store records ``events`` and ``cursor`` in one transaction, so a crash never records the
    events without the cursor, or the cursor without the events.
    """

    events: tuple[Event, ...]
    cursor: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRequest:
    """Build ``assets`` (optionally one ``partition``) in the system that owns them.

    ``idempotency_key`` is derived from the request; an adapter uses it so that a retried or
    repeated launch finds the existing run instead of starting a second one.
    """

    assets: tuple[AssetKey, ...]
    idempotency_key: str
    partition: str | None = None
    reason: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    after: tuple[str, ...] = ()
    """Idempotency keys of queued requests that must succeed before this one is launched (a
    backfill's upstream groups of the same partition). The launcher reads it; adapters ignore it."""


class RunState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def finished(self) -> bool:
        return self in (RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELED)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunHandle:
    """A launched run as its origin system knows it: enough to poll it and link to it."""

    adapter: str
    run_id: str
    state: RunState
    url: str | None = None
    message: str = ""
    metadata: Metadata = field(default_factory=dict)


@runtime_checkable
class Adapter(Protocol):
    """One configured instance of an external system (``name`` is its workspace name)."""

    name: str

    def discover(self) -> Discovery:
        """Read the system's assets and checks. Must not write anything anywhere."""
        ...

    def observe(self, cursor: str | None) -> ObserveResult:
        """Events that happened after ``cursor`` (``None``: everything still available)."""
        ...

    def launch(self, request: RunRequest, sink: EventSink) -> RunHandle:
        """Start building ``request.assets``; stream events to ``sink`` as they happen."""
        ...

    def poll(self, handle: RunHandle, sink: EventSink) -> RunHandle:
        """Refresh a launched run's state, sending any new events to ``sink``."""
        ...

    def close(self) -> None:
        """Release connections and processes. Safe to call twice."""
        ...


class AdapterPlugin(Protocol):
    """What an adapter package registers under the ``lockgate.adapters`` entry-point group.

    ``load_config`` validates the adapter's section of the workspace (``where`` names the file and
    key for error messages; ``base_dir`` resolves relative paths). ``create`` builds the adapter and
    is the only place that imports the system's client library, so ``lockgate --help`` stays fast
    and a missing optional dependency becomes an error naming the extra to install.
    """

    kind: str
    extra: str | None

    def load_config(self, raw: Mapping[str, Any], *, name: str, where: str, base_dir: Path) -> Any: ...

    def create(self, config: Any) -> Adapter: ...
