"""The work inside one write transaction: replace specs, append events, update derived status.

Everything here runs in the caller's session and never commits; :class:`Store` wraps each call in
one transaction, so a failure anywhere leaves the store as it was. Rows are written in bulk
(:mod:`lockgate.federation.store.bulk`), never as per-row ORM objects. Writers hold the store's
writer lock (see :mod:`lockgate.federation.store.engine`), which is what lets
:func:`append_events` find the ids it just inserted without ``RETURNING``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Row, Table, delete, exc, func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lockgate.federation.errors import StoreError
from lockgate.federation.events import CheckEvaluated, Event
from lockgate.federation.specs import AssetSpec, CheckSpec
from lockgate.federation.store import codec, derive, engine
from lockgate.federation.store.bulk import Bulk
from lockgate.federation.store.models import (
    AssetRow,
    AssetStatusRow,
    CheckRow,
    CheckStatusRow,
    CursorRow,
    EventRow,
    SyncRow,
    UTCDateTime,
)

CHUNK = 2000
SMALL = 2000
"""Up to this many rows, PostgreSQL writes use one multi-row statement instead of COPY."""
T = TypeVar("T")
ASSETS: Table = AssetRow.__table__  # type: ignore[assignment]
CHECKS: Table = CheckRow.__table__  # type: ignore[assignment]
EVENTS: Table = EventRow.__table__  # type: ignore[assignment]
ASSET_STATUS: Table = AssetStatusRow.__table__  # type: ignore[assignment]
CHECK_STATUS: Table = CheckStatusRow.__table__  # type: ignore[assignment]


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---------------------------------------------------------------------------------------------
# Specs

_SPEC_COLUMNS = {
    "assets": ("key", "adapter", "system", "origin", "spec", "spec_hash", "updated_at", "removed_at"),
    "checks": ("asset_key", "check_name", "adapter", "spec", "spec_hash", "updated_at", "removed_at"),
}


def _replace(
    session: Session,
    table: Table,
    key_columns: tuple[str, ...],
    adapter: str,
    wanted: dict[tuple[str, ...], tuple[Any, ...]],
    now: datetime,
) -> None:
    """Make ``wanted`` (key -> column values up to spec_hash, as in _SPEC_COLUMNS) the adapter's
    rows: new keys inserted, changed or re-appearing ones rewritten, missing ones marked removed."""
    bulk = Bulk(session)
    stamp = bulk.time(now)
    columns = [table.c[name] for name in key_columns]
    fields = [table.c.id, table.c.adapter, table.c.spec_hash, table.c.removed_at]
    held: dict[tuple[str, ...], Row[Any]] = {
        tuple(row[: len(columns)]): row
        for row in session.execute(select(*columns, *fields).where(table.c.adapter == adapter))
    }
    unseen = sorted({key[0] for key in wanted if key not in held})
    for part in chunks(unseen):
        query = select(*columns, *fields).where(columns[0].in_(part), table.c.adapter != adapter)
        for found in session.execute(query):
            key = tuple(found[: len(columns)])
            if key in wanted:
                held[key] = found
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    for key, values in wanted.items():
        row: Row[Any] | None = held.get(key)
        if row is None:
            inserts.append((*values, stamp, None))
            continue
        if row.adapter != adapter and row.removed_at is None:
            shown = ":".join(key)
            raise StoreError(
                f"adapter {adapter!r} reports {shown!r}, which adapter {row.adapter!r} already owns",
                where=f"{table.name} {shown!r}",
                fix="give one adapter's assets another key (e.g. a key prefix in its settings), "
                "or stop reporting it from one of them",
            )
        if row.spec_hash != values[-1] or row.removed_at is not None or row.adapter != adapter:
            updates.append((*values[len(key) :], stamp, None, row.id))
    removals = [
        (stamp, stamp, row.id)
        for key, row in held.items()
        if key not in wanted and row.adapter == adapter and row.removed_at is None
    ]
    names = _SPEC_COLUMNS[table.name]
    bulk.insert(table, names, inserts)
    bulk.update(table, names[len(key_columns) :], ("id",), updates)
    bulk.update(table, ("removed_at", "updated_at"), ("id",), removals)


def replace_assets(session: Session, adapter: str, specs: Iterable[AssetSpec], now: datetime) -> None:
    wanted: dict[tuple[str, ...], tuple[Any, ...]] = {}
    for spec in specs:
        key = codec.key_text(spec.key)
        if (key,) in wanted:
            raise StoreError(
                f"adapter {adapter!r} reported the asset {key!r} twice",
                where=f"asset {key!r}",
                fix="report each asset key once per discovery",
            )
        text = codec.encode(codec.asset_spec_to_doc(spec), where=f"asset {key!r}")
        wanted[(key,)] = (key, adapter, spec.origin.system, str(spec.origin), text, codec.text_hash(text))
    _replace(session, ASSETS, ("key",), adapter, wanted, now)


def replace_checks(session: Session, adapter: str, specs: Iterable[CheckSpec], now: datetime) -> None:
    wanted: dict[tuple[str, ...], tuple[Any, ...]] = {}
    for spec in specs:
        key = (codec.key_text(spec.key.asset), spec.key.name)
        if key in wanted:
            raise StoreError(
                f"adapter {adapter!r} reported the check {spec.key} twice",
                where=f"check {spec.key}",
                fix="report each check key once per discovery",
            )
        text = codec.encode(codec.check_spec_to_doc(spec), where=f"check {spec.key}")
        wanted[key] = (*key, adapter, text, codec.text_hash(text))
    _replace(session, CHECKS, ("asset_key", "check_name"), adapter, wanted, now)


def count_specs(session: Session, model: type[AssetRow] | type[CheckRow], adapter: str) -> int:
    query = select(func.count()).where(model.adapter == adapter, model.removed_at.is_(None))
    return int(session.execute(query).scalar_one())


# ---------------------------------------------------------------------------------------------
# Events and derived status

_EVENT_COLUMNS = (
    "event_id",
    "kind",
    "adapter",
    "asset_key",
    "check_name",
    "partition",
    "run_id",
    "timestamp",
)


def append_events(session: Session, events: Sequence[Event]) -> list[tuple[int, Event]]:
    """Insert events whose ids the log does not hold yet; return them with their log ids, in
    log order. Duplicates within ``events`` keep the first."""
    bulk = Bulk(session)
    rows: list[tuple[Any, ...]] = []
    by_id: dict[str, Event] = {}
    for event in events:
        if event.event_id in by_id:
            continue
        by_id[event.event_id] = event
        doc = codec.event_to_doc(event)
        text = codec.encode(doc, where=f"event {event.event_id!r}")
        check = event.check_name if isinstance(event, CheckEvaluated) else None
        row = (event.event_id, doc["kind"], event.adapter, doc["asset_key"], check, event.partition)
        rows.append((*row, event.run_id, bulk.time(event.timestamp), text))
    if not rows:
        return []
    if bulk.postgres and len(rows) <= SMALL:
        new = bulk.insert_new(EVENTS, (*_EVENT_COLUMNS, "payload"), rows, key="event_id")
        return [(log_id, by_id[event_id]) for log_id, event_id in new]
    # Writers are serialised, so the rows above the current maximum are exactly the new ones.
    before = session.execute(select(func.coalesce(func.max(EventRow.id), 0))).scalar_one()
    bulk.insert(EVENTS, (*_EVENT_COLUMNS, "payload"), rows, skip_conflicts_on=("event_id",))
    return [(log_id, by_id[event_id]) for log_id, event_id in bulk.select_new_events(before)]


def _load(session: Session, table: Table, asset_keys: Sequence[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for part in chunks(asset_keys):
        query = select(table).where(table.c.asset_key.in_(part))
        found.extend(dict(row._mapping) for row in session.execute(query))
    return found


def run_events(session: Session, run_ids: Sequence[str]) -> list[tuple[int, Event]]:
    """Every logged event of the runs ``run_ids``, in log order."""
    found: list[tuple[int, Event]] = []
    for part in chunks(sorted(set(run_ids))):
        query = select(EventRow.id, EventRow.payload).where(EventRow.run_id.in_(part))
        found.extend((row.id, codec.event_from_doc(row.payload)) for row in session.execute(query))
    return sorted(found, key=lambda item: item[0])


def _store(
    session: Session,
    table: Table,
    rows: list[dict[str, Any]],
    held: list[tuple[str, ...]],
    *,
    last: bool = False,
) -> None:
    """Replace derived rows: delete the ``held`` primary keys, insert ``rows`` (a few rows: one
    upsert statement instead). ``last``: the transaction's last write; on PostgreSQL the upsert
    and the COMMIT then share one round trip."""
    bulk = Bulk(session)
    if 0 < len(rows) <= SMALL and len(held) <= len(rows):
        # callers' held keys are a subset of rows' keys
        if last and bulk.postgres:
            bulk.commit_with_upsert(table, bulk.rows(table, rows))
        else:
            bulk.upsert(table, bulk.rows(table, rows))
        return
    key = [table.c[c.name] for c in table.primary_key.columns]
    for part in chunks(held):
        where = tuple_(*key).in_(part) if len(key) > 1 else key[0].in_([k[0] for k in part])
        session.execute(delete(table).where(where))
    bulk.insert(table, [c.name for c in table.columns], bulk.rows(table, rows))


def update_derived(
    session: Session,
    logged: list[tuple[int, Event]],
    preloaded: dict[str, dict[str, Any] | None] | None = None,
    *,
    last: bool = False,
) -> None:
    """Fold newly logged events into asset_status and check_status. ``preloaded`` holds asset_status
    rows already read in this transaction (None: the asset has no row yet). ``last``: nothing is
    written after this in the transaction (PostgreSQL may then commit with the last upsert)."""
    keys = sorted({codec.key_text(e.asset_key) for _, e in logged if e.asset_key is not None})
    if not keys:
        return
    preloaded = preloaded or {}
    assets = {k: row for k in keys if (row := preloaded.get(k)) is not None}
    unread = [k for k in keys if k not in preloaded]
    assets.update((row["asset_key"], row) for row in _load(session, ASSET_STATUS, unread))
    stored = set(assets)
    touched = derive.fold_assets(assets, logged)
    checked = {
        codec.key_text(e.asset_key) for _, e in logged if isinstance(e, CheckEvaluated) and e.asset_key
    }
    held: list[tuple[str, ...]] = [(k,) for k in sorted(touched & stored)]
    _store(session, ASSET_STATUS, [assets[k] for k in sorted(touched)], held, last=last and not checked)
    if not checked:
        return
    checks = {(r["asset_key"], r["check_name"]): r for r in _load(session, CHECK_STATUS, sorted(checked))}
    stored_checks = set(checks)
    changed = derive.fold_checks(checks, logged)
    _store(session, CHECK_STATUS, [checks[k] for k in sorted(changed)], sorted(changed & stored_checks))


def record_events(
    session: Session,
    events: Sequence[Event],
    runs: Sequence[str],
    complete: Callable[[list[tuple[int, Event]]], Sequence[Event]] | None,
    *,
    last: bool = False,
) -> list[tuple[int, Event]]:
    """Append ``events`` plus what ``complete`` derives from the runs' logged events; update
    derived status. Returns the newly logged events. On PostgreSQL the writer lock, the runs'
    events and the asset_status rows of ``events`` are fetched in one pipelined round trip, and
    with ``last`` (nothing else is written in the transaction) the status upsert and the COMMIT
    share one: three round trips per transaction, where there were eight."""
    preloaded: dict[str, dict[str, Any] | None] | None = None
    if session.get_bind().dialect.name == "postgresql":
        keys = sorted({codec.key_text(e.asset_key) for e in events if e.asset_key is not None})
        held, preloaded = _locked_prefetch(session, runs if complete is not None else (), keys)
    else:
        held = run_events(session, runs) if complete is not None else []
    if complete is not None:
        events = [*events, *complete(held)]
    logged = append_events(session, events)
    update_derived(session, logged, preloaded, last=last)
    return logged


_PREFETCH_RUNS = "SELECT id, payload FROM events WHERE run_id = ANY(%s::text[]) ORDER BY id"
_PREFETCH_STATUS = "SELECT * FROM asset_status WHERE asset_key = ANY(%s::text[])"


def _locked_prefetch(
    session: Session, runs: Sequence[str], keys: Sequence[str]
) -> tuple[list[tuple[int, Event]], dict[str, dict[str, Any] | None]]:
    """PostgreSQL, as the transaction's first statements and in one round trip (psycopg
    pipeline): take the writer lock, then read the events of ``runs`` and the asset_status rows
    of ``keys``. The reads follow the lock, so they see every earlier writer's commit."""
    connection = session.connection(execution_options={engine.LOCK_FIRST: True})  # type: ignore[misc]
    raw: Any = connection.connection.dbapi_connection
    times = {c.name for c in ASSET_STATUS.columns if isinstance(c.type, UTCDateTime)}
    try:
        with raw.pipeline(), raw.cursor() as lock, raw.cursor() as found, raw.cursor() as status:
            lock.execute("SELECT pg_advisory_xact_lock(%s)", (engine.WRITER_LOCK,))
            found.execute(_PREFETCH_RUNS, (sorted(set(runs)),))
            status.execute(_PREFETCH_STATUS, (list(keys),))
            held = [(row[0], codec.event_from_doc(row[1])) for row in found.fetchall()]
            names = [column.name for column in status.description or ()]
            rows = [dict(zip(names, row, strict=True)) for row in status.fetchall()]
    except connection.dialect.loaded_dbapi.Error as err:
        raise exc.DBAPIError.instance(
            _PREFETCH_RUNS, None, err, connection.dialect.loaded_dbapi.Error
        ) from err
    preloaded: dict[str, dict[str, Any] | None] = dict.fromkeys(keys)
    for row in rows:
        for name in times:
            if row[name] is not None:
                row[name] = row[name].astimezone(UTC)
        preloaded[row["asset_key"]] = row
    return held, preloaded


def rebuild_derived(session: Session) -> None:
    """Empty the derived tables and replay the whole log into them."""
    session.execute(delete(ASSET_STATUS))
    session.execute(delete(CHECK_STATUS))
    assets: dict[str, derive.Row] = {}
    checks: dict[tuple[str, str], derive.Row] = {}
    query = select(EventRow.id, EventRow.payload).where(EventRow.asset_key.is_not(None)).order_by(EventRow.id)
    batch: list[tuple[int, Event]] = []
    for row in session.execute(query.execution_options(yield_per=5000)):
        batch.append((row.id, codec.event_from_doc(row.payload)))
        if len(batch) >= 5000:
            derive.fold_assets(assets, batch)
            derive.fold_checks(checks, batch)
            batch = []
    derive.fold_assets(assets, batch)
    derive.fold_checks(checks, batch)
    _store(session, ASSET_STATUS, list(assets.values()), [])
    _store(session, CHECK_STATUS, list(checks.values()), [])


def _upsert(session: Session, table: Table, key: str, values: dict[str, Any]) -> None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values)
    changes = {name: statement.excluded[name] for name in values if name != key}
    session.execute(statement.on_conflict_do_update(index_elements=[table.c[key]], set_=changes))


def set_cursor(session: Session, adapter: str, cursor: str | None, now: datetime) -> None:
    table: Table = CursorRow.__table__  # type: ignore[assignment]
    _upsert(session, table, "adapter", {"adapter": adapter, "cursor": cursor, "updated_at": now})


def set_sync(session: Session, values: dict[str, Any]) -> None:
    table: Table = SyncRow.__table__  # type: ignore[assignment]
    _upsert(session, table, "adapter", values)
