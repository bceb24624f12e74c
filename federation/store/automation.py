"""The automation daemon's tables: lease, ticks, evaluations, memory, run queue (revision 0002)
and the conditions attached through the API (revision 0004)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from lockgate.federation.adapter import RunRequest
from lockgate.federation.automation.records import AssetMemory, Evaluation, QueuedRun, RunQueueState
from lockgate.federation.keys import AssetKey
from lockgate.federation.partitions.ranges import Ranges
from lockgate.federation.store import codec
from lockgate.federation.store.models import (
    ConditionRow,
    EvaluationRow,
    EventRow,
    LeaseRow,
    MemoryRow,
    RunQueueRow,
    TickRow,
)


def acquire_lease(session: Session, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease unless another holder's lease is still valid. Runs inside a write
    transaction, which both backends serialise, so two daemons cannot both win."""
    row = session.get(LeaseRow, name)
    if row is None:
        session.add(LeaseRow(name=name, holder=holder, acquired_at=now, expires_at=now + ttl))
        return True
    if row.holder != holder and row.expires_at > now:
        return False
    if row.holder != holder:
        row.acquired_at = now
    row.holder, row.expires_at = holder, now + ttl
    return True


def holds_lease(session: Session, name: str, holder: str, now: datetime) -> bool:
    row = session.get(LeaseRow, name)
    return row is not None and row.holder == holder and row.expires_at > now


def release_lease(session: Session, name: str, holder: str) -> None:
    session.execute(delete(LeaseRow).where(LeaseRow.name == name, LeaseRow.holder == holder))


def max_event_id(session: Session) -> int | None:
    found: int | None = session.execute(select(func.max(EventRow.id))).scalar()
    return found


def last_tick(session: Session) -> tuple[int, datetime, int | None] | None:
    row = session.execute(select(TickRow).order_by(TickRow.id.desc()).limit(1)).scalar()
    return None if row is None else (row.id, row.started_at, row.cursor)


def memory_doc(mem: AssetMemory) -> dict[str, Any]:
    return {
        "c": mem.condition,
        "n": {path: [list(s) for s in r.spans] for path, r in mem.nodes.items()},
        "r": [list(s) for s in mem.requested.spans],
        "v": mem.code_version,
        "s": mem.stable,
        "z": mem.size,
    }


def memory_from_doc(doc: Mapping[str, Any]) -> AssetMemory:
    def ranges(spans: Iterable[list[int]]) -> Ranges:
        return Ranges(tuple((int(a), int(b)) for a, b in spans))

    return AssetMemory(
        condition=doc["c"],
        nodes={path: ranges(spans) for path, spans in doc["n"].items()},
        requested=ranges(doc["r"]),
        code_version=doc["v"],
        stable=bool(doc["s"]),
        size=int(doc["z"]),
    )


def read_memory(session: Session) -> dict[AssetKey, AssetMemory]:
    rows = session.execute(select(MemoryRow)).scalars()
    return {codec.key_from_text(row.asset_key): memory_from_doc(row.memory) for row in rows}


def request_doc(request: RunRequest) -> dict[str, Any]:
    return {
        "assets": [codec.key_text(k) for k in request.assets],
        "idempotency_key": request.idempotency_key,
        "partition": request.partition,
        "reason": request.reason,
        "tags": dict(request.tags),
        "after": list(request.after),
    }


def request_from_doc(doc: Mapping[str, Any]) -> RunRequest:
    return RunRequest(
        assets=tuple(codec.key_from_text(k) for k in doc["assets"]),
        idempotency_key=doc["idempotency_key"],
        partition=doc["partition"],
        reason=doc["reason"],
        tags=dict(doc["tags"]),
        after=tuple(doc.get("after") or ()),  # rows queued before it was added have none
    )


def write_tick(
    session: Session,
    *,
    holder: str,
    started_at: datetime,
    cursor: int | None,
    memory: Mapping[AssetKey, AssetMemory],
    evaluations: Sequence[Evaluation],
    queued: Sequence[tuple[RunRequest, str, int]],
) -> int:
    tick = TickRow(
        holder=holder,
        started_at=started_at,
        cursor=cursor,
        evaluated=len(evaluations),
        requested=len(queued),
    )
    session.add(tick)
    session.flush()
    tick_id = tick.id
    if memory:
        keys = [codec.key_text(k) for k in memory]
        for start in range(0, len(keys), 500):
            session.execute(delete(MemoryRow).where(MemoryRow.asset_key.in_(keys[start : start + 500])))
        session.execute(
            insert(MemoryRow),
            [
                {"asset_key": codec.key_text(k), "memory": memory_doc(m), "tick_id": tick_id}
                for k, m in memory.items()
            ],
        )
    if evaluations:
        session.execute(
            insert(EvaluationRow),
            [
                {
                    "tick_id": tick_id,
                    "asset_key": codec.key_text(e.asset),
                    "requested": list(e.requested),
                    "tree": dict(e.tree),
                }
                for e in evaluations
            ],
        )
    enqueue(session, queued, tick_id=tick_id, now=started_at)
    return tick_id


def enqueue(
    session: Session,
    queued: Sequence[tuple[RunRequest, str, int]],
    *,
    tick_id: int | None,
    now: datetime,
) -> int:
    """Insert requests into the run queue, skipping idempotency keys already there; returns how
    many were new."""
    have = set()
    if queued:
        wanted = [r.idempotency_key for r, _, _ in queued]
        have = set(
            session.execute(
                select(RunQueueRow.idempotency_key).where(RunQueueRow.idempotency_key.in_(wanted))
            ).scalars()
        )
    rows = [
        {
            "idempotency_key": request.idempotency_key,
            "tick_id": tick_id,
            "adapter": adapter,
            "request": request_doc(request),
            "priority": priority,
            "state": RunQueueState.QUEUED.value,
            "attempts": 0,
            "not_before": None,
            "launched_at": None,
            "run_id": None,
            "message": "",
            "created_at": now,
            "updated_at": now,
        }
        for request, adapter, priority in queued
        if request.idempotency_key not in have
    ]
    if rows:
        session.execute(insert(RunQueueRow), rows)
    return len(rows)


def read_evaluations(session: Session, asset: AssetKey, limit: int) -> list[tuple[int, datetime, Evaluation]]:
    query = (
        select(EvaluationRow, TickRow.started_at)
        .join(TickRow, TickRow.id == EvaluationRow.tick_id)
        .where(EvaluationRow.asset_key == codec.key_text(asset))
        .order_by(EvaluationRow.tick_id.desc())
        .limit(limit)
    )
    return [
        (row.tick_id, started, Evaluation(asset=asset, requested=tuple(row.requested), tree=row.tree))
        for row, started in session.execute(query)
    ]


def to_queued(row: RunQueueRow) -> QueuedRun:
    return QueuedRun(
        id=row.id,
        request=request_from_doc(row.request),
        adapter=row.adapter,
        priority=row.priority,
        state=RunQueueState(row.state),
        attempts=row.attempts,
        not_before=row.not_before,
        launched_at=row.launched_at,
        run_id=row.run_id,
        message=row.message,
        tick_id=row.tick_id,
    )


def read_queue(session: Session, states: Iterable[RunQueueState]) -> list[QueuedRun]:
    query = (
        select(RunQueueRow)
        .where(RunQueueRow.state.in_([RunQueueState(s).value for s in states]))
        .order_by(RunQueueRow.priority.desc(), RunQueueRow.id)
    )
    return [to_queued(row) for row in session.execute(query).scalars()]


def read_states(session: Session, keys: Sequence[str]) -> dict[str, RunQueueState]:
    """The state of each queued request among ``keys`` (by idempotency key; unknown keys absent)."""
    query = select(RunQueueRow.idempotency_key, RunQueueRow.state).where(
        RunQueueRow.idempotency_key.in_(keys)
    )
    return {key: RunQueueState(state) for key, state in session.execute(query)}


def update_run(session: Session, run_id: int, now: datetime, changes: Mapping[str, Any]) -> None:
    values = {k: (v.value if isinstance(v, RunQueueState) else v) for k, v in changes.items()}
    session.execute(update(RunQueueRow).where(RunQueueRow.id == run_id).values(updated_at=now, **values))


def read_conditions(session: Session) -> dict[AssetKey, str]:
    rows = session.execute(
        select(ConditionRow.asset_key, ConditionRow.condition).order_by(ConditionRow.asset_key)
    )
    return {codec.key_from_text(key): text for key, text in rows}


def set_condition(session: Session, asset: AssetKey, condition: str, now: datetime) -> None:
    session.merge(ConditionRow(asset_key=codec.key_text(asset), condition=condition, updated_at=now))


def delete_condition(session: Session, asset: AssetKey) -> bool:
    found = session.get(ConditionRow, codec.key_text(asset))
    if found is None:
        return False
    session.delete(found)
    return True
