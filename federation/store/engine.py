"""Engines for the two supported backends, and schema migration through Alembic.

- SQLite (``sqlite:///path``, the default ``sqlite:///.lockgate/lockgate.db``): parent folder
  created, WAL journal, foreign keys on, a busy timeout; write transactions start with
  ``BEGIN IMMEDIATE`` so two writers queue instead of failing when one upgrades its lock.
- PostgreSQL through psycopg 3 (``postgresql+psycopg://``; plain ``postgresql://`` and
  ``postgres://`` are read as psycopg 3 too). Write transactions take a transaction-level
  advisory lock, so writers are serialised on both backends. Pooled connections idle for more
  than :data:`PING_AFTER` seconds are pinged before use (not every checkout: under load that
  ping was one of the receiver's round trips per request).

Alembic runs programmatically against the migrations shipped in this package; no alembic.ini
is needed. Its version table is ``lockgate_alembic_version``, so a database shared with another
Alembic project does not clash.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.engine import URL, make_url

from lockgate.federation.errors import StoreError
from lockgate.federation.store.codec import dumps, loads

DEFAULT_URL = "sqlite:///.lockgate/lockgate.db"
VERSION_TABLE = "lockgate_alembic_version"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
WRITE = "lockgate_write"
"""Execution option marking a write transaction (BEGIN IMMEDIATE / advisory lock)."""
LOCK_FIRST = "lockgate_lock_first"
"""Execution option (PostgreSQL): the caller takes :data:`WRITER_LOCK` itself, as the first
statement of the transaction (in one pipelined round trip with its first reads)."""

WRITER_LOCK = 0x6C6F636B67617465 & 0x7FFFFFFFFFFFFFFF  # "lockgate"
_WRITER_LOCK = WRITER_LOCK
PING_AFTER = 2.0
"""A pooled PostgreSQL connection idle for longer than this is pinged before use."""
_IDLE_SINCE = "lockgate_idle_since"
_URL_FIX = (
    "use sqlite:///path/to/lockgate.db or postgresql+psycopg://user:password@host:5432/dbname "
    "(store.url in lockgate.yaml or LOCKGATE__STORE__URL)"
)


def redact(url: str) -> str:
    """The URL with its password replaced by ``***``, also when it does not parse."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def _normalise(url: str) -> URL:
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        what = "the store URL does not parse"
        raise StoreError(what, where=f"store URL {redact(url)!r}", fix=_URL_FIX) from None
    backend = parsed.get_backend_name()
    if backend == "postgres" or parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise StoreError(
            f"the store supports SQLite and PostgreSQL through psycopg 3, not {parsed.drivername!r}",
            where=f"store URL {redact(url)!r}",
            fix=_URL_FIX,
        )
    return parsed


def _prepare_sqlite_path(url: URL, shown: str) -> None:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    path = Path(database)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StoreError(
            f"cannot create the folder {str(path.parent)!r} for the SQLite store ({err.strerror})",
            where=f"store URL {shown!r}",
            fix="point the URL at a writable folder, or create it and give this user write access",
        ) from None


def _sqlite_listeners(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below (pysqlite's own
        # implicit BEGIN does not cover SELECTs and cannot say IMMEDIATE).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA cache_size = -65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _postgres_listeners(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if options.get(WRITE, False) and not options.get(LOCK_FIRST, False):
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WRITER_LOCK})

    # Pessimistic disconnect handling without a round trip per checkout (pool_pre_ping pings
    # every time): a connection that sat idle in the pool is pinged; a busy one is not.
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if dbapi_conn.closed:
            closed = "the pooled connection is closed"
            raise exc.DisconnectionError(closed)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as err:  # any failure: let the pool replace the connection
            raise exc.DisconnectionError(f"the pooled connection failed its ping: {err}") from None


def create(url: str) -> Engine:
    """An engine for ``url`` with the backend's settings; checks the URL, does not connect."""
    parsed = _normalise(url)
    shown = redact(url)
    kwargs: dict[str, Any] = {"json_serializer": dumps, "json_deserializer": loads}
    if parsed.get_backend_name() == "sqlite":
        _prepare_sqlite_path(parsed, shown)
        engine = create_engine(parsed, **kwargs)
        _sqlite_listeners(engine)
        return engine
    try:
        engine = create_engine(parsed, connect_args={"connect_timeout": 10}, **kwargs)
    except ModuleNotFoundError:
        what = "the PostgreSQL driver psycopg 3 is not installed"
        raise StoreError(
            what,
            where=f"store URL {shown!r}",
            fix="pip install 'lockgate[postgres]'",
        ) from None
    _postgres_listeners(engine)
    return engine


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("version_table", VERSION_TABLE)
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest revision, in one write transaction (a no-op when current)."""
    with engine.execution_options(**{WRITE: True}).begin() as connection:
        if current_revision(connection) == head_revision():
            return
        command.upgrade(alembic_config(connection), "head")
