"""Driver-level ``executemany`` for the hot write paths.

A first sync of a large dbt project writes ~60k rows. SQLAlchemy's per-row parameter processing
(type processors, parameter dictionaries) costs more than the database does at that size, so the
bulk writers hand tuples to the driver's ``executemany`` inside the session's transaction:
sqlite3's native loop, psycopg 3's pipeline mode. Values are prepared the way SQLAlchemy itself
stores them (datetimes as naive UTC ``YYYY-MM-DD HH:MM:SS.ffffff`` text on SQLite, aware on
PostgreSQL; JSON documents as text, cast to JSONB on PostgreSQL), so ORM reads see the same data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Connection, Table, exc
from sqlalchemy.orm import Session

from lockgate.federation.store.models import UTCDateTime

_MAX_PARAMS = 30_000
"""Bound parameters per multi-row statement (PostgreSQL allows 65,535)."""


def _parts(rows: Sequence[tuple[Any, ...]], width: int) -> list[Sequence[tuple[Any, ...]]]:
    size = max(1, _MAX_PARAMS // max(1, width))
    return [rows[i : i + size] for i in range(0, len(rows), size)]


class Bulk:
    """Bulk statements on the session's connection (and so in its transaction)."""

    def __init__(self, session: Session) -> None:
        self._conn: Connection = session.connection()
        self.postgres = self._conn.dialect.name == "postgresql"
        self._quote = self._conn.dialect.identifier_preparer.quote
        self._times: dict[datetime, Any] = {}

    def time(self, value: datetime | None) -> Any:
        """A datetime (aware, already checked) as the driver should receive it."""
        if value is None:
            return None
        held = self._times.get(value)
        if held is None:
            utc = value.astimezone(UTC)
            held = (
                utc if self.postgres else utc.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
            )
            self._times[value] = held
        return held

    def rows(self, table: Table, values: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """Column dicts as tuples in table column order, datetimes prepared for the driver."""
        names = [column.name for column in table.columns]
        times = [i for i, column in enumerate(table.columns) if isinstance(column.type, UTCDateTime)]
        out: list[tuple[Any, ...]] = []
        for row in values:
            items = [row[name] for name in names]
            for i in times:
                if items[i] is not None:
                    items[i] = self.time(items[i])
            out.append(tuple(items))
        return out

    def select_new_events(self, after: int) -> list[tuple[int, str]]:
        """(id, event_id) of the events above log id ``after``, in log order."""
        mark = "%s" if self.postgres else "?"
        statement = f"SELECT id, event_id FROM events WHERE id > {mark} ORDER BY id"
        return [(row[0], row[1]) for row in self._conn.exec_driver_sql(statement, (after,))]

    def _names(self, names: Sequence[str]) -> str:
        return ", ".join(self._quote(name) for name in names)

    def insert(
        self,
        table: Table,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        *,
        skip_conflicts_on: Sequence[str] = (),
    ) -> None:
        """``INSERT`` every row, in order; with ``skip_conflicts_on``, rows clashing on that unique
        key are skipped (``ON CONFLICT DO NOTHING``, on both backends)."""
        if not rows:
            return
        conflict = f" ON CONFLICT ({self._names(skip_conflicts_on)}) DO NOTHING" if skip_conflicts_on else ""
        into = f"INSERT INTO {self._quote(table.name)} ({self._names(columns)})"
        if not self.postgres:
            marks = ", ".join("?" for _ in columns)
            self._conn.exec_driver_sql(f"{into} VALUES ({marks}){conflict}", list(rows))
        elif not skip_conflicts_on:
            self._copy(self._quote(table.name), columns, rows)
        else:
            # COPY cannot skip conflicts: copy into a scratch table, then insert from it in order.
            scratch = self._quote(f"_lockgate_{table.name}")
            names = self._names(columns)
            self._conn.exec_driver_sql(
                f"CREATE TEMP TABLE IF NOT EXISTS {scratch} ON COMMIT DROP AS "
                f"SELECT {names}, 0::BIGINT AS _ord FROM {self._quote(table.name)} WITH NO DATA"
            )
            self._copy(scratch, [*columns, "_ord"], [(*row, i) for i, row in enumerate(rows)])
            self._conn.exec_driver_sql(f"{into} SELECT {names} FROM {scratch} ORDER BY _ord{conflict}")
            self._conn.exec_driver_sql(f"TRUNCATE {scratch}")

    def insert_new(self, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]], *,
                   key: str) -> list[tuple[int, str]]:  # fmt: skip
        """PostgreSQL: ``INSERT`` the rows skipping those whose unique ``key`` is held, in one
        multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` per chunk (one round trip, where
        COPY through a scratch table takes five). Returns (id, key) of the rows inserted, by id."""
        into = f"INSERT INTO {self._quote(table.name)} ({self._names(columns)}) VALUES "
        tail = f" ON CONFLICT ({self._quote(key)}) DO NOTHING RETURNING id, {self._quote(key)}"
        marks = "(" + ", ".join(self._mark(table, name) for name in columns) + ")"
        found: list[tuple[int, str]] = []
        for part in _parts(rows, len(columns)):
            statement = into + ", ".join(marks for _ in part) + tail
            params = [value for row in part for value in row]
            found.extend((row[0], row[1]) for row in self._conn.exec_driver_sql(statement, tuple(params)))
        return sorted(found)

    def upsert(self, table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert-or-replace whole rows (tuples in table column order, from :meth:`rows`) by
        primary key: ``INSERT ... ON CONFLICT (pk) DO UPDATE``, multi-row on PostgreSQL."""
        if not rows:
            return
        if not self.postgres:
            into, marks, tail = self._upsert_parts(table)
            self._conn.exec_driver_sql(into + marks + tail, list(rows))
            return
        for statement, params in self.upsert_statements(table, rows):
            self._conn.exec_driver_sql(statement, params)

    def commit_with_upsert(self, table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
        """PostgreSQL: :meth:`upsert` and ``COMMIT`` in one round trip (psycopg pipeline). Only as
        a transaction's last step: the enclosing commit then finds nothing left to commit."""
        raw: Any = self._conn.connection.dbapi_connection
        try:
            with raw.pipeline():
                for statement, params in self.upsert_statements(table, rows):
                    with raw.cursor() as cursor:
                        cursor.execute(statement, params)
                raw.commit()
        except self._conn.dialect.loaded_dbapi.Error as err:
            statement = "COMMIT"
            raise exc.DBAPIError.instance(
                statement, None, err, self._conn.dialect.loaded_dbapi.Error
            ) from err

    def upsert_statements(
        self, table: Table, rows: Sequence[tuple[Any, ...]]
    ) -> list[tuple[str, tuple[Any, ...]]]:
        """PostgreSQL: the multi-row ``INSERT ... ON CONFLICT (pk) DO UPDATE`` statements of
        :meth:`upsert`, with their parameters."""
        into, marks, tail = self._upsert_parts(table)
        return [
            (into + ", ".join(marks for _ in part) + tail, tuple(value for row in part for value in row))
            for part in _parts(rows, len(table.columns))
        ]

    def _upsert_parts(self, table: Table) -> tuple[str, str, str]:
        """(``INSERT INTO t (...) VALUES ``, one row's placeholders, ``ON CONFLICT (pk) DO UPDATE ...``)."""
        names = [column.name for column in table.columns]
        keys = [column.name for column in table.primary_key.columns]
        changes = ", ".join(f"{self._quote(n)} = excluded.{self._quote(n)}" for n in names if n not in keys)
        into = f"INSERT INTO {self._quote(table.name)} ({self._names(names)}) VALUES "
        tail = f" ON CONFLICT ({self._names(keys)}) DO UPDATE SET {changes}"
        return into, "(" + ", ".join(self._mark(table, name) for name in names) + ")", tail

    def _copy(self, target: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        """PostgreSQL ``COPY ... FROM STDIN`` through psycopg 3 (JSON text is parsed as JSONB)."""
        cursor = self._conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            with cursor.copy(f"COPY {target} ({self._names(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()

    def update(
        self, table: Table, columns: Sequence[str], keys: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        """``UPDATE`` by key: each row holds the ``columns`` values, then the ``keys`` values."""
        if not rows:
            return
        changes = ", ".join(f"{self._quote(name)} = {self._mark(table, name)}" for name in columns)
        match = " AND ".join(f"{self._quote(name)} = {self._mark(table, name)}" for name in keys)
        statement = f"UPDATE {self._quote(table.name)} SET {changes} WHERE {match}"
        self._conn.exec_driver_sql(statement, list(rows))

    def _mark(self, table: Table, name: str) -> str:
        if not self.postgres:
            return "?"
        return "CAST(%s AS JSONB)" if isinstance(table.c[name].type, JSON) else "%s"
