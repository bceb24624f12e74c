"""PostgreSQL fast path of :meth:`Store.record_events`: two round trips per write, no ORM.

A receiver answering one OpenLineage event per request spends most of its time on what each
write transaction costs, not on the rows, so on PostgreSQL the common case skips the session and
speaks to the pooled psycopg connection directly, in two simple-query round trips:

1. **Before the lock**: the events are encoded (payload text, column values).
2. **Round trip 1**: ``BEGIN``, take the writer lock (:data:`engine.WRITER_LOCK`: writers are
   serialised and hold it until COMMIT, so log ids become visible in commit order and an
   ``after_id`` reader never skips one), then one statement (one snapshot, taken after the
   lock, so it sees every earlier writer's commit) reads the log's highest id, which of the
   events' ids the log holds, the asset_status rows of their assets and the runs' events.
3. **Under the lock, in Python**: the events ``complete`` derives from the runs' events, the new
   events (ids the log does not hold; a duplicate in the input keeps the first), their log ids
   (highest + 1, + 2, ...: nobody else can take them while the lock is held) and the folded
   asset_status rows.
4. **Round trip 2**: one statement inserts the events with those ids, upserts the status rows and
   moves the id sequence past the ids (writers using it stay behind them), then ``COMMIT``.

Parameters are a few JSON strings and integers bound client side; the statements are prepared
once per connection (parsing and planning cost more than running them) and prepared again when
the tables have doubled since, so their cached plans follow the tables' size.

:func:`record` returns None, having written nothing, for what the general path
(:func:`lockgate.federation.store.writes.record_events`) must do: check evaluations
(check_status), more than :data:`MAX_ROWS` events, and the unexpected (an id the dedupe read did
not see makes the INSERT fail on the unique key; the transaction is rolled back).
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Engine, exc

from lockgate.federation.events import CheckEvaluated, Event
from lockgate.federation.store import codec, derive, engine

MAX_ROWS = 2000
"""More events than this in one call go through the general path (COPY)."""
UNIQUE_VIOLATION = "23505"
DUPLICATE_STATEMENT = "42P05"
UNKNOWN_STATEMENT = "26000"
IDLE = 0
"""libpq's PQTRANS_IDLE: no transaction open on the connection."""

_STATUS = {
    "asset_key": "text", "status": "text", "last_event_at": "timestamptz", "mat_at": "timestamptz",
    "mat_id": "bigint", "mat_run_id": "text", "fail_at": "timestamptz", "fail_id": "bigint",
    "fail_run_id": "text", "fail_message": "text", "start_at": "timestamptz", "start_id": "bigint",
    "start_run_id": "text", "done_at": "timestamptz", "done_id": "bigint", "done_run_id": "text",
    "obs_at": "timestamptz", "obs_id": "bigint",
}  # fmt: skip
_TIMES = tuple(name for name, kind in _STATUS.items() if kind == "timestamptz")
_EVENTS = {
    "id": "bigint", "event_id": "text", "kind": "text", "adapter": "text", "asset_key": "text",
    "check_name": "text", "partition": "text", "run_id": "text", "timestamp": "timestamptz",
    "payload": "text",
}  # fmt: skip


def _any(param: str) -> str:
    """``= ANY`` of a JSON array parameter (one string to bind, not a list to adapt)."""
    return f"ANY(ARRAY(SELECT json_array_elements_text({param}::json)))"


def _recordset(columns: dict[str, str], param: str) -> str:
    return f"json_to_recordset({param}::json) AS r({', '.join(f'{n} {k}' for n, k in columns.items())})"


READ = f"""SELECT
  (SELECT coalesce(max(id), 0) FROM events),
  (SELECT coalesce(json_agg(event_id), '[]') FROM events WHERE event_id = {_any("$1")}),
  (SELECT coalesce(json_agg(s), '[]') FROM asset_status s WHERE asset_key = {_any("$2")}),
  (SELECT coalesce(json_agg(json_build_array(id, payload) ORDER BY id), '[]')
     FROM events WHERE run_id = {_any("$3")}),
  pg_relation_size('events') + pg_relation_size('asset_status')"""
"""The log's highest id, which of the ids $1 it holds, the asset_status rows of the keys $2, the
events of the runs $3, and the tables' size (to prepare again when they have grown)."""
WRITE = f"""WITH logged AS (
  INSERT INTO events ({", ".join(_EVENTS)})
  SELECT {", ".join(n if n != "payload" else "payload::jsonb" for n in _EVENTS)}
  FROM {_recordset(_EVENTS, "$1")}
), status AS (
  INSERT INTO asset_status ({", ".join(_STATUS)})
  SELECT {", ".join(_STATUS)} FROM {_recordset(_STATUS, "$2")}
  ON CONFLICT (asset_key) DO UPDATE SET {", ".join(f"{n} = excluded.{n}" for n in list(_STATUS)[1:])}
)
SELECT setval(pg_get_serial_sequence('events', 'id'), $3)"""
"""The new events $1 with their ids, the status rows $2, and the id sequence moved to $3."""
STATUS = f"SELECT coalesce(json_agg(s), '[]') FROM asset_status s WHERE asset_key = {_any('$1')}"
PREPARED = {
    "lockgate_fastlog_read": ("text, text, text", READ),
    "lockgate_fastlog_write": ("text, text, bigint", WRITE),
    "lockgate_fastlog_status": ("text", STATUS),
}
PREPARE = "; ".join(f"PREPARE {name}({types}) AS {sql}" for name, (types, sql) in PREPARED.items())
LOCK_AND_READ = (
    "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(%(lock)s); "
    "EXECUTE lockgate_fastlog_read(%(ids)s, %(keys)s, %(runs)s)"
)
WRITE_AND_COMMIT = "EXECUTE lockgate_fastlog_write(%(events)s, %(status)s, %(last)s); COMMIT"
READ_STATUS = "EXECUTE lockgate_fastlog_status(%s)"

PREPARED_SIZE = "lockgate_fastlog_prepared_size"
"""Connection info key: the tables' size (bytes) when this connection prepared the statements."""
SEEN_SIZE = "lockgate_fastlog_seen_size"
REPLAN_SLACK = 1 << 20
"""Prepare again once the tables are larger than twice their size then plus this many bytes."""

Complete = Callable[[list[tuple[int, Event]]], Sequence[Event]]
Row = dict[str, Any]


class _Fallback(Exception):
    """This write needs the general path; nothing was written."""


def _row(event: Event) -> Row:
    """The events row (without its id) of ``event``; raises :class:`_Fallback` for a check."""
    if isinstance(event, CheckEvaluated):
        raise _Fallback
    doc = codec.event_to_doc(event)
    payload = codec.encode(doc, where=f"event {event.event_id!r}")
    return {"event_id": event.event_id, "kind": doc["kind"], "adapter": event.adapter,
            "asset_key": doc["asset_key"], "partition": event.partition, "run_id": event.run_id,
            "timestamp": doc["timestamp"], "payload": payload}  # fmt: skip


def _status_rows(rows: list[Row]) -> dict[str, Row]:
    for row in rows:
        for name in _TIMES:
            if row[name] is not None:
                row[name] = datetime.fromisoformat(row[name]).astimezone(UTC)
    return {row["asset_key"]: row for row in rows}


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def record(
    db: Engine, events: Sequence[Event], runs: Sequence[str], complete: Complete | None
) -> list[tuple[int, Event]] | None:
    """Append ``events`` plus what ``complete`` derives from the runs' logged events, update
    asset_status, commit. Returns the newly logged events in log order, or None when the general
    path must do this write (nothing was written). Database errors raise SQLAlchemy's
    :class:`~sqlalchemy.exc.DBAPIError`; invalid events :class:`StoreError`, before connecting."""
    if len(events) > MAX_ROWS:
        return None
    rows: dict[str, tuple[Event, Row]] = {}
    try:
        for event in events:
            if event.event_id not in rows:
                rows[event.event_id] = (event, _row(event))
    except _Fallback:
        return None
    from psycopg import ClientCursor  # the driver of PostgreSQL engines (an optional dependency)

    dbapi = db.dialect.loaded_dbapi
    fairy = db.raw_connection()
    conn: Any = fairy.driver_connection
    try:
        conn.autocommit = True  # BEGIN and COMMIT travel with the statements, no round trip of their own
        with ClientCursor(conn) as cursor:
            _prepare(cursor, fairy.info, dbapi.Error)
            return _write(cursor, fairy.info, rows, sorted(set(runs)) if complete else [], complete)
    except _Fallback:
        return None
    except dbapi.Error as err:
        state = getattr(err, "sqlstate", None)
        if state == UNKNOWN_STATEMENT:  # someone deallocated them: prepare again next time
            fairy.info.pop(PREPARED_SIZE, None)
        if state in (UNIQUE_VIOLATION, UNKNOWN_STATEMENT):
            return None  # (unique: an id the dedupe read did not see; the general path skips it)
        statement = "record_events"
        raise exc.DBAPIError.instance(statement, None, err, dbapi.Error) from err
    finally:
        try:  # back to the pool as SQLAlchemy left it: no transaction, not in autocommit
            if conn.info.transaction_status != IDLE:
                conn.rollback()
            conn.autocommit = False
        except dbapi.Error:
            fairy.invalidate()
        fairy.close()


def _prepare(cursor: Any, info: MutableMapping[str, Any], error: type[Exception]) -> None:
    """Prepare the statements on this connection, or again when the tables have doubled since
    (a cached plan chose its scans for the tables' size at the time)."""
    prepared, seen = info.get(PREPARED_SIZE), info.get(SEEN_SIZE, 0)
    if prepared is not None and seen <= 2 * prepared + REPLAN_SLACK:
        return
    if prepared is not None:
        cursor.execute("; ".join(f"DEALLOCATE {name}" for name in PREPARED))
    try:
        cursor.execute(PREPARE)
    except error as err:  # a call that failed right after preparing never recorded it
        if getattr(err, "sqlstate", None) != DUPLICATE_STATEMENT:
            raise
        cursor.execute("; ".join(f"DEALLOCATE {name}" for name in PREPARED))
        cursor.execute(PREPARE)
    info[PREPARED_SIZE] = seen


def _write(
    cursor: Any,
    info: MutableMapping[str, Any],
    rows: dict[str, tuple[Event, Row]],
    runs: list[str],
    complete: Complete | None,
) -> list[tuple[int, Event]]:
    keys = sorted({row["asset_key"] for _, row in rows.values() if row["asset_key"] is not None})
    params = {"lock": engine.WRITER_LOCK, "ids": _json(list(rows)), "keys": _json(keys), "runs": _json(runs)}
    cursor.execute(LOCK_AND_READ, params)
    while cursor.nextset():  # to the last statement's result
        pass
    last, known, found, run_events, info[SEEN_SIZE] = cursor.fetchone()
    status: dict[str, Row | None] = {**dict.fromkeys(keys), **_status_rows(found)}
    held = [(log_id, codec.event_from_doc(doc)) for log_id, doc in run_events]
    held_ids = set(known)
    new = [(event, row) for event_id, (event, row) in rows.items() if event_id not in held_ids]
    if complete is not None:
        seen = {e.event_id for _, e in held} | held_ids | rows.keys()
        for event in complete(held):
            if event.event_id not in seen:
                seen.add(event.event_id)
                new.append((event, _row(event)))
        if len(new) > MAX_ROWS:
            raise _Fallback
    if not new:
        cursor.execute("COMMIT")
        return []
    logged = [(last + i, event) for i, (event, _) in enumerate(new, start=1)]
    unread = sorted({row["asset_key"] for _, row in new if row["asset_key"] is not None} - status.keys())
    if unread:  # assets only completion named
        (found,) = cursor.execute(READ_STATUS, (_json(unread),)).fetchone()
        status |= {**dict.fromkeys(unread), **_status_rows(found)}
    assets = {key: row for key, row in status.items() if row is not None}
    touched = derive.fold_assets(assets, logged)
    inserted = [{"id": log_id, **row} for (log_id, _), (_, row) in zip(logged, new, strict=True)]
    changed = [assets[key] for key in sorted(touched)]
    cursor.execute(
        WRITE_AND_COMMIT, {"events": _json(inserted), "status": _json(changed), "last": logged[-1][0]}
    )
    return logged
