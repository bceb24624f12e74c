"""Values the automation daemon keeps in the store: per-asset memory, tick records, queued runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from lockgate.federation.adapter import RunRequest
from lockgate.federation.keys import AssetKey
from lockgate.federation.partitions.ranges import Ranges


@dataclass(slots=True, kw_only=True)
class AssetMemory:
    """What one asset's condition remembers between ticks (mutable, owned by the evaluator)."""

    condition: str
    nodes: dict[str, Ranges] = field(default_factory=dict)
    requested: Ranges = field(default_factory=Ranges)
    code_version: str | None = None
    stable: bool = True
    size: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Evaluation:
    """One asset's evaluation in one tick: the requested partitions and the explanation tree.

    ``tree`` nodes are ``{"condition": str, "true": int, "of": int, "why": str, "children": [...]}``.
    """

    asset: AssetKey
    requested: tuple[str, ...]
    tree: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class TickRecord:
    """What one tick decided, recorded in one transaction before anything is launched."""

    tick_id: int
    started_at: datetime
    cursor: int | None
    requests: tuple[RunRequest, ...] = ()
    evaluated: int = 0
    holder: str = ""


class RunQueueState(StrEnum):
    QUEUED = "queued"
    LAUNCHING = "launching"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuedRun:
    """One request in the durable run queue."""

    id: int
    request: RunRequest
    adapter: str
    priority: int = 0
    state: RunQueueState = RunQueueState.QUEUED
    attempts: int = 0
    not_before: datetime | None = None
    launched_at: datetime | None = None
    run_id: str | None = None
    message: str = ""
    tick_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Lease:
    name: str
    holder: str
    expires_at: datetime
