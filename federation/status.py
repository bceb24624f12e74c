"""Values derived from the event log: asset status, and each adapter's last sync."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from lockgate.federation.keys import AssetKey


class AssetStatus(StrEnum):
    MATERIALIZED = "materialized"
    FAILED = "failed"
    IN_PROGRESS = "in_progress"
    MISSING = "missing"
    OBSERVED = "observed"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetState:
    """The latest known state of one asset, folded from its events."""

    key: AssetKey
    status: AssetStatus
    last_materialization: datetime | None = None
    last_run_id: str | None = None
    last_failure: datetime | None = None
    last_failure_message: str = ""
    last_event_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncState:
    """The last sync of one adapter instance."""

    adapter: str
    kind: str
    started_at: datetime
    finished_at: datetime | None
    assets: int
    checks: int
    new_events: int
    error: str | None = None
