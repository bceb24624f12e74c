"""The OpenLineage outbox: events a transport could not deliver, kept until a retry succeeds.

An event is keyed by a hash of its identity (run id or job/dataset, event type, event time), so
parking the same event twice keeps one row. Delivered rows keep ``sent_at`` (an audit trail the
portal can show); :func:`pending` returns only undelivered rows, oldest first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Index, Integer, Table, Text, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from lockgate.federation.store.models import Base, Document, Id, UTCDateTime


class OutboxRow(Base):
    """One OpenLineage event waiting for (or done with) delivery."""

    __tablename__ = "openlineage_outbox"
    __table_args__ = (Index("ix_openlineage_outbox_sent_at_id", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(Text, unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(Document)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


OUTBOX: Table = OutboxRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxEntry:
    id: int
    payload: dict[str, Any]
    created_at: datetime
    attempts: int
    last_error: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxStatus:
    """What the portal shows: how many events wait, since when, and the last error."""

    pending: int
    delivered: int
    oldest_pending: datetime | None
    last_error: str | None
    last_attempt_at: datetime | None


def event_key(event: Mapping[str, Any]) -> str:
    """Identity of one OpenLineage event: (runId | job | dataset, eventType, eventTime)."""
    run = event.get("run") or {}
    job = event.get("job") or {}
    dataset = event.get("dataset") or {}
    subject = run.get("runId") or (
        f"job:{job.get('namespace')}/{job.get('name')}"
        if job
        else f"dataset:{dataset.get('namespace')}/{dataset.get('name')}"
    )
    text = f"{subject}\x1f{event.get('eventType', '')}\x1f{event.get('eventTime', '')}"
    if not run:  # static events at one time may differ only by content
        text += "\x1f" + hashlib.sha256(orjson.dumps(event, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def park(session: Session, events: Sequence[Mapping[str, Any]], error: str, now: datetime) -> int:
    """Insert undelivered events (one row per event key); returns how many rows are new."""
    rows = {}
    for event in events:
        rows[event_key(event)] = {
            "event_key": event_key(event),
            "payload": dict(event),
            "created_at": now,
            "attempts": 1,
            "last_attempt_at": now,
            "last_error": error,
            "sent_at": None,
        }
    if not rows:
        return 0
    held: set[str] = set(
        session.execute(select(OUTBOX.c.event_key).where(OUTBOX.c.event_key.in_(list(rows)))).scalars()
    )
    new = [row for key, row in rows.items() if key not in held]
    if held:
        session.execute(
            update(OUTBOX)
            .where(OUTBOX.c.event_key.in_(list(held)), OUTBOX.c.sent_at.is_(None))
            .values(attempts=OUTBOX.c.attempts + 1, last_attempt_at=now, last_error=error)
        )
    if new:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(insert(OUTBOX).on_conflict_do_nothing(index_elements=["event_key"]), new)
    return len(new)


def pending(session: Session, limit: int) -> list[OutboxEntry]:
    query = select(OUTBOX).where(OUTBOX.c.sent_at.is_(None)).order_by(OUTBOX.c.id).limit(limit)
    return [
        OutboxEntry(
            id=row.id,
            payload=row.payload,
            created_at=row.created_at,
            attempts=row.attempts,
            last_error=row.last_error,
        )
        for row in session.execute(query)
    ]


def delivered(session: Session, ids: Sequence[int], now: datetime) -> None:
    if ids:
        session.execute(update(OUTBOX).where(OUTBOX.c.id.in_(list(ids))).values(sent_at=now, last_error=None))


def failed(session: Session, ids: Sequence[int], error: str, now: datetime) -> None:
    if ids:
        session.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id.in_(list(ids)))
            .values(attempts=OUTBOX.c.attempts + 1, last_attempt_at=now, last_error=error)
        )


def status(session: Session) -> OutboxStatus:
    waiting = OUTBOX.c.sent_at.is_(None)
    count: int = session.execute(select(func.count()).where(waiting)).scalar_one()
    oldest: datetime | None = session.execute(select(func.min(OUTBOX.c.created_at)).where(waiting)).scalar()
    done: int = session.execute(select(func.count()).where(OUTBOX.c.sent_at.is_not(None))).scalar_one()
    last = session.execute(
        select(OUTBOX.c.last_error, OUTBOX.c.last_attempt_at)
        .where(waiting)
        .order_by(OUTBOX.c.last_attempt_at.desc(), OUTBOX.c.id.desc())
        .limit(1)
    ).first()
    return OutboxStatus(
        pending=count,
        delivered=done,
        oldest_pending=oldest,
        last_error=last[0] if last else None,
        last_attempt_at=last[1] if last else None,
    )
