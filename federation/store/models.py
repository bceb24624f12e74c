"""The store's tables as SQLAlchemy 2.0 typed ORM classes. Rows never leave this package.

Changing anything here needs a new Alembic revision in ``migrations/versions``; a test compares
the migrated schema with this metadata and fails on any difference. See docs/adr/0002-store.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from lockgate.federation.store.codec import to_utc


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime, stored in UTC on every backend and read back aware in UTC.

    SQLite has no time zones (SQLAlchemy stores the wall time as text), so values are converted
    to UTC first; text in one zone sorts in time order.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = to_utc(value, where="store")
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Id = BigInteger().with_variant(Integer(), "sqlite")
"""64-bit ids; SQLite needs INTEGER PRIMARY KEY for its rowid autoincrement."""

Document = JSON().with_variant(JSONB(), "postgresql")
"""A JSON document: JSONB on PostgreSQL (queryable), JSON text on SQLite."""


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}
"""Deterministic constraint names, the same on both backends (SQLite batch migrations need them)."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class AssetRow(Base):
    """One asset spec, owned by the adapter that reported it last."""

    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(Text, unique=True)
    adapter: Mapped[str] = mapped_column(String(200), index=True)
    system: Mapped[str] = mapped_column(String(100))
    origin: Mapped[str] = mapped_column(Text)
    spec: Mapped[dict[str, Any]] = mapped_column(Document)
    spec_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CheckRow(Base):
    """One check spec. The key is (asset_key, check_name): the rendered ``a/b:name`` is ambiguous
    when a key part holds ``:``."""

    __tablename__ = "checks"
    __table_args__ = (UniqueConstraint("asset_key", "check_name"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    asset_key: Mapped[str] = mapped_column(Text)
    check_name: Mapped[str] = mapped_column(Text)
    adapter: Mapped[str] = mapped_column(String(200), index=True)
    spec: Mapped[dict[str, Any]] = mapped_column(Document)
    spec_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EventRow(Base):
    """The event log. ``id`` is the log order; ``payload`` is the whole event (the source of
    truth when decoding); the other columns are projections for filtering."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_asset_key_id", "asset_key", "id"),
        Index("ix_events_run_id", "run_id"),
        Index("ix_events_kind", "kind"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    adapter: Mapped[str] = mapped_column(String(200))
    asset_key: Mapped[str | None] = mapped_column(Text)
    check_name: Mapped[str | None] = mapped_column(Text)
    partition: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    payload: Mapped[dict[str, Any]] = mapped_column(Document)


class AssetStatusRow(Base):
    """Derived: the latest event of each status-relevant kind per asset, and the status they give.

    Keeping each kind's latest (timestamp, log id) rather than only the status makes the fold
    order-independent: merging a batch gives the same row as replaying the whole log.
    """

    __tablename__ = "asset_status"

    asset_key: Mapped[str] = mapped_column(Text, primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mat_id: Mapped[int | None] = mapped_column(BigInteger)
    mat_run_id: Mapped[str | None] = mapped_column(Text)
    fail_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fail_id: Mapped[int | None] = mapped_column(BigInteger)
    fail_run_id: Mapped[str | None] = mapped_column(Text)
    fail_message: Mapped[str | None] = mapped_column(Text)
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    start_id: Mapped[int | None] = mapped_column(BigInteger)
    start_run_id: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_id: Mapped[int | None] = mapped_column(BigInteger)
    done_run_id: Mapped[str | None] = mapped_column(Text)
    obs_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    obs_id: Mapped[int | None] = mapped_column(BigInteger)


class CheckStatusRow(Base):
    """Derived: the latest evaluation (by timestamp, then log id) of each check."""

    __tablename__ = "check_status"

    asset_key: Mapped[str] = mapped_column(Text, primary_key=True)
    check_name: Mapped[str] = mapped_column(Text, primary_key=True)
    event_pk: Mapped[int] = mapped_column(BigInteger)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    failures: Mapped[int | None] = mapped_column(BigInteger)
    partition: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(Text)


class CursorRow(Base):
    """Where each adapter's next observe starts."""

    __tablename__ = "cursors"

    adapter: Mapped[str] = mapped_column(String(200), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SyncRow(Base):
    """The last sync of each adapter."""

    __tablename__ = "syncs"

    adapter: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    assets: Mapped[int] = mapped_column(Integer)
    checks: Mapped[int] = mapped_column(Integer)
    new_events: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)


# ------------------------------------------------------------------- revision 0002: partitions and
# automation (federation/store/partitions.py, federation/store/automation.py)


class PartitionRangeRow(Base):
    """Derived: one run of consecutive partitions of one asset in one status, ``lo``..``hi``
    inclusive (keys in the definition's order). A daily asset with no gaps is one row."""

    __tablename__ = "partition_ranges"

    asset_key: Mapped[str] = mapped_column(Text, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    lo: Mapped[str] = mapped_column(Text, primary_key=True)
    hi: Mapped[str] = mapped_column(Text)


class DynamicPartitionRow(Base):
    __tablename__ = "dynamic_partitions"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    partition_key: Mapped[str] = mapped_column(Text, primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LeaseRow(Base):
    """Which daemon may act, until when."""

    __tablename__ = "automation_leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TickRow(Base):
    __tablename__ = "automation_ticks"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    holder: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cursor: Mapped[int | None] = mapped_column(BigInteger)
    evaluated: Mapped[int] = mapped_column(Integer)
    requested: Mapped[int] = mapped_column(Integer)


class EvaluationRow(Base):
    """Why one asset was or was not requested in one tick (only assets evaluated in the tick)."""

    __tablename__ = "automation_evaluations"
    __table_args__ = (Index("ix_automation_evaluations_asset_key_tick_id", "asset_key", "tick_id"),)

    tick_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    asset_key: Mapped[str] = mapped_column(Text, primary_key=True)
    requested: Mapped[list[Any]] = mapped_column(Document)
    tree: Mapped[dict[str, Any]] = mapped_column(Document)


class MemoryRow(Base):
    """What each asset's condition remembers between ticks."""

    __tablename__ = "automation_memory"

    asset_key: Mapped[str] = mapped_column(Text, primary_key=True)
    memory: Mapped[dict[str, Any]] = mapped_column(Document)
    tick_id: Mapped[int] = mapped_column(BigInteger)


class RunQueueRow(Base):
    """The durable run queue: a request is written here before it is launched."""

    __tablename__ = "run_queue"
    __table_args__ = (
        Index("ix_run_queue_state_priority", "state", "priority"),
        Index("ix_run_queue_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(Text, unique=True)
    tick_id: Mapped[int | None] = mapped_column(BigInteger)
    adapter: Mapped[str] = mapped_column(String(200))
    request: Mapped[dict[str, Any]] = mapped_column(Document)
    priority: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    run_id: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConditionRow(Base):
    """An automation condition attached to one asset through the API (``PUT
    /api/v1/assets/<key>/automation``); it overrides the workspace's rules and dbt meta."""

    __tablename__ = "automation_conditions"

    asset_key: Mapped[str] = mapped_column(Text, primary_key=True)
    condition: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
