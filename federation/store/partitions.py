"""Partition status as ranges, and dynamic partition names (revision 0002).

A range row is ``(asset_key, status, lo, hi)``: the consecutive partitions ``lo``..``hi`` (inclusive,
in the definition's key order) are in ``status``. Reading any range of an asset, however many
partitions it spans, is one read of the primary-key index on ``asset_key``.

The ranges are folded from the event log up to the event id kept in the ``cursors`` table under
the reserved name :data:`STATUS_CURSOR`; :func:`move_status_cursor` moves it only from the value
the writer read (compare-and-set), so concurrent writers never regress the stored ranges.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lockgate.federation.store.models import CursorRow, DynamicPartitionRow, PartitionRangeRow

KeyRange = tuple[str, str]

STATUS_CURSOR = "lockgate:partition-status"
"""The ``cursors`` row holding the id of the last event folded into the partition ranges (no
adapter can have this name: adapter names hold no ``:``)."""


def read_status_cursor(session: Session) -> int | None:
    text = session.execute(select(CursorRow.cursor).where(CursorRow.adapter == STATUS_CURSOR)).scalar()
    return None if text is None else int(text)


def move_status_cursor(session: Session, expected: int | None, cursor: int, now: datetime) -> bool:
    """Set the status cursor to ``cursor`` if it still is ``expected`` (None: no row yet)."""
    if expected is None:
        table: Table = CursorRow.__table__  # type: ignore[assignment]
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(table)
            .values(adapter=STATUS_CURSOR, cursor=str(cursor), updated_at=now)
            .on_conflict_do_nothing(index_elements=[table.c.adapter])
            .returning(table.c.adapter)
        )
    else:
        statement = (
            update(CursorRow)
            .where(CursorRow.adapter == STATUS_CURSOR, CursorRow.cursor == str(expected))
            .values(cursor=str(cursor), updated_at=now)
            .returning(CursorRow.adapter)
        )
    return session.execute(statement).first() is not None  # a row back: this writer moved it


def reset_status(session: Session) -> None:
    """Forget the folded partition status: the next refresh folds the whole log again."""
    session.execute(delete(PartitionRangeRow))
    session.execute(delete(CursorRow).where(CursorRow.adapter == STATUS_CURSOR))


def read_ranges(session: Session, assets: Sequence[str] | None) -> dict[str, dict[str, list[KeyRange]]]:
    query = select(
        PartitionRangeRow.asset_key, PartitionRangeRow.status, PartitionRangeRow.lo, PartitionRangeRow.hi
    )
    if assets is not None:
        query = query.where(PartitionRangeRow.asset_key.in_(assets))
    out: dict[str, dict[str, list[KeyRange]]] = {}
    for asset, status, lo, hi in session.execute(
        query.order_by(PartitionRangeRow.asset_key, PartitionRangeRow.lo)
    ):
        out.setdefault(asset, {}).setdefault(status, []).append((lo, hi))
    return out


def read_assets_with(session: Session, statuses: Sequence[str], assets: Sequence[str] | None) -> set[str]:
    """The assets among ``assets`` (all when None) with at least one range in one of ``statuses``."""
    query = select(PartitionRangeRow.asset_key).where(PartitionRangeRow.status.in_(statuses)).distinct()
    if assets is not None:
        query = query.where(PartitionRangeRow.asset_key.in_(assets))
    return set(session.scalars(query))


def replace_ranges(session: Session, ranges: Mapping[str, Mapping[str, Iterable[KeyRange]]]) -> None:
    """Replace every status range of each asset in ``ranges``."""
    if not ranges:
        return
    assets = list(ranges)
    for start in range(0, len(assets), 500):
        session.execute(
            delete(PartitionRangeRow).where(PartitionRangeRow.asset_key.in_(assets[start : start + 500]))
        )
    rows = [
        {"asset_key": asset, "status": status, "lo": lo, "hi": hi}
        for asset, by_status in ranges.items()
        for status, spans in by_status.items()
        for lo, hi in spans
    ]
    if rows:
        session.execute(insert(PartitionRangeRow), rows)


def add_dynamic(session: Session, name: str, keys: Iterable[str], now: datetime) -> int:
    have = set(
        session.execute(
            select(DynamicPartitionRow.partition_key).where(DynamicPartitionRow.name == name)
        ).scalars()
    )
    new = sorted(set(keys) - have)
    if new:
        session.execute(
            insert(DynamicPartitionRow), [{"name": name, "partition_key": k, "added_at": now} for k in new]
        )
    return len(new)


def remove_dynamic(session: Session, name: str, keys: Iterable[str]) -> int:
    wanted = sorted(set(keys))
    result = session.execute(
        delete(DynamicPartitionRow).where(
            DynamicPartitionRow.name == name, DynamicPartitionRow.partition_key.in_(wanted)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def read_dynamic(session: Session, name: str | None) -> dict[str, list[str]]:
    query = select(DynamicPartitionRow.name, DynamicPartitionRow.partition_key)
    if name is not None:
        query = query.where(DynamicPartitionRow.name == name)
    out: dict[str, list[str]] = {}
    for row_name, key in session.execute(
        query.order_by(DynamicPartitionRow.name, DynamicPartitionRow.partition_key)
    ):
        out.setdefault(row_name, []).append(key)
    return out
