"""The event log's vocabulary. The log is the single source of truth: asset status, check status
and partition status are derived from it and can be rebuilt.

Every event carries an ``event_id`` that is deterministic for what it records (for example
``dbt:<invocation_id>:<unique_id>:materialization``), so observing the same history twice never
records it twice: the store ignores an event whose id it already holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from lockgate.federation.keys import AssetKey
from lockgate.federation.specs import CheckStatus, Metadata, Severity


class EventKind(StrEnum):
    MATERIALIZATION = "materialization"
    OBSERVATION = "observation"
    CHECK_EVALUATED = "check_evaluated"
    RUN_REQUESTED = "run_requested"
    RUN_STARTED = "run_started"
    RUN_SUCCEEDED = "run_succeeded"
    RUN_FAILED = "run_failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Fields every event has. ``run_id`` is the origin system's run id (dbt invocation id,
    Airflow ``dag_run_id``); ``adapter`` is the adapter instance that recorded it."""

    kind: ClassVar[EventKind]
    event_id: str
    adapter: str
    timestamp: datetime
    asset_key: AssetKey | None = None
    partition: str | None = None
    run_id: str | None = None
    metadata: Metadata = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Materialization(Event):
    """The asset (or one partition of it) was written."""

    kind: ClassVar[EventKind] = EventKind.MATERIALIZATION


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation(Event):
    """The asset was seen to have changed, without lockgate knowing who wrote it (e.g. a source)."""

    kind: ClassVar[EventKind] = EventKind.OBSERVATION


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckEvaluated(Event):
    """A check on ``asset_key`` ran. ``check_name`` completes the check key."""

    kind: ClassVar[EventKind] = EventKind.CHECK_EVALUATED
    check_name: str
    status: CheckStatus
    severity: Severity = Severity.ERROR
    message: str = ""
    failures: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRequested(Event):
    """lockgate asked the owning system to build ``assets``; ``reason`` says why."""

    kind: ClassVar[EventKind] = EventKind.RUN_REQUESTED
    assets: tuple[AssetKey, ...] = ()
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStarted(Event):
    """A run started in the origin system (``asset_key`` set when it is one node of a run)."""

    kind: ClassVar[EventKind] = EventKind.RUN_STARTED


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSucceeded(Event):
    kind: ClassVar[EventKind] = EventKind.RUN_SUCCEEDED


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFailed(Event):
    """A run, or one node of it when ``asset_key`` is set, failed. ``message`` says how."""

    kind: ClassVar[EventKind] = EventKind.RUN_FAILED
    message: str = ""


EVENT_TYPES: dict[EventKind, type[Event]] = {
    cls.kind: cls
    for cls in (
        Materialization,
        Observation,
        CheckEvaluated,
        RunRequested,
        RunStarted,
        RunSucceeded,
        RunFailed,
    )
}
