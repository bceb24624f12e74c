"""Opening the store: URL errors say what and how to fix; migrations are idempotent and match the models."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from lockgate.federation.errors import StoreError
from lockgate.federation.store import Store, engine
from lockgate.federation.store.models import Base


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens once the socket is closed


def test_unreachable_postgres_names_the_url_without_password() -> None:
    url = f"postgresql+psycopg://alice:s3cret@127.0.0.1:{_closed_port()}/lockgate"
    with pytest.raises(StoreError) as caught:
        Store.open(url)
    message = str(caught.value)
    assert "s3cret" not in message
    assert "alice:***@127.0.0.1" in message
    assert "database server is running" in message
    assert caught.value.exit_code == 5
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_sqlite_in_a_place_that_cannot_hold_a_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError) as caught:
        Store.open(f"sqlite:///{blocker / 'sub' / 'lockgate.db'}")
    assert str(blocker) in str(caught.value)
    assert "writable folder" in str(caught.value)


def test_sqlite_file_that_is_not_a_database(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError) as caught:
        Store.open(f"sqlite:///{bogus}")
    assert str(bogus) in str(caught.value)
    assert "point store.url" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "does not parse"),
        ("mysql://bob:pw@localhost/db", "not 'mysql'"),
        ("postgresql+psycopg2://bob:pw@localhost/db", "not 'postgresql+psycopg2'"),
    ],
)
def test_bad_urls_are_refused_with_the_fix(url: str, expected: str) -> None:
    with pytest.raises(StoreError) as caught:
        Store.open(url)
    assert expected in str(caught.value)
    assert "sqlite:///" in str(caught.value)  # the fix shows the accepted forms
    assert ":pw@" not in str(caught.value)


def test_redact_also_handles_urls_that_do_not_parse() -> None:
    assert engine.redact("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    assert engine.redact("weird://u:pw@h:x:y") == "weird://u:***@h:x:y"


@pytest.mark.postgres
def test_plain_postgresql_urls_use_psycopg3(postgres: object) -> None:
    url: str = postgres.create_database("plain_scheme")  # type: ignore[attr-defined]
    plain = url.replace("postgresql+psycopg://", "postgres://")
    with Store.open(plain) as store:
        assert store.asset_specs() == []
        assert store._engine.dialect.driver == "psycopg"


def test_sqlite_gets_its_folder_wal_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "lockgate.db"
    with Store.open(f"sqlite:///{path}") as store:
        assert path.exists()
        with store._engine.connect() as conn:  # the pragmas are per connection
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_migrating_twice_is_a_no_op(store_url: str) -> None:
    Store.open(store_url).close()
    db = engine.create(store_url)
    statements: list[str] = []
    sa.event.listen(db, "before_cursor_execute", lambda *args: statements.append(args[2]))
    try:
        engine.migrate(db)
        with db.connect() as conn:
            assert engine.current_revision(conn) == engine.head_revision()
    finally:
        db.dispose()
    changes = [
        s for s in statements if s.split()[0].upper() in ("CREATE", "ALTER", "DROP", "INSERT", "UPDATE")
    ]
    assert changes == []


def test_the_alembic_head_matches_the_models(store_url: str) -> None:
    Store.open(store_url).close()
    db = engine.create(store_url)
    try:
        with db.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "version_table": engine.VERSION_TABLE}
            )
            diff = compare_metadata(context, Base.metadata)
            tables = set(sa.inspect(conn).get_table_names())
    finally:
        db.dispose()
    assert diff == [], "models.py changed without a migration: add a revision in store/migrations/versions"
    assert tables >= {t.name for t in Base.metadata.sorted_tables} | {engine.VERSION_TABLE}


def test_the_comparison_would_notice_a_missing_migration(store_url: str) -> None:
    Store.open(store_url).close()
    metadata = sa.MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(metadata)
    sa.Table("brand_new", metadata, sa.Column("id", sa.Integer, primary_key=True))
    metadata.tables["events"].append_column(sa.Column("extra", sa.Text()))
    db = engine.create(store_url)
    try:
        with db.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"version_table": engine.VERSION_TABLE}), metadata
            )
    finally:
        db.dispose()
    assert {entry[0] for entry in diff} >= {"add_table", "add_column"}
