"""Shared fixtures: a real PostgreSQL server for the session, and a store URL per backend.

``postgres`` starts the Debian server binaries (``make system-deps`` installs them) in a temp
folder on 127.0.0.1 and a free port, with trust authentication: user ``postgres`` without a
password works over TCP (dbt-postgres profiles use ``host``/``port``/``user`` and any password).
As root the server runs as the ``postgres`` OS user, because initdb and postgres refuse root.

``store_url`` runs a test once on SQLite and once on PostgreSQL (marked ``postgres``; deselect
with ``-m "not postgres"``, which then never starts the server).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql


@dataclass(frozen=True, slots=True, kw_only=True)
class PostgresServer:
    """A running server; every database on it is reachable as ``user`` with no password."""

    host: str
    port: int
    user: str

    def url(self, dbname: str = "postgres") -> str:
        """A SQLAlchemy URL (psycopg 3) to ``dbname``."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def dsn(self, dbname: str = "postgres") -> str:
        """A libpq connection string to ``dbname``."""
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"

    def create_database(self, name: str) -> str:
        """Create the (new, empty) database ``name`` and return its SQLAlchemy URL."""
        with psycopg.connect(self.dsn(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)


def _bin_dir() -> Path:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not found:
        pytest.fail(
            "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin: "
            "run `make system-deps` (installs the Debian package postgresql), then run the tests again",
            pytrace=False,
        )
    return found[-1].parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run(prefix: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(args[:1])} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def _wait_until_ready(server: PostgresServer, log: Path, deadline: float) -> None:
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(server.dsn(), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError as err:
            last = err
            time.sleep(0.1)
    text = log.read_text(errors="replace") if log.exists() else ""
    pytest.fail(f"PostgreSQL did not accept connections within 30 s: {last}\n{text}")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole test session, removed afterwards."""
    bin_dir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="lockgate-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres", group="postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    data, log = root / "data", root / "server.log"
    server = PostgresServer(host="127.0.0.1", port=_free_port(), user="postgres")
    options = (
        f"-h {server.host} -p {server.port} -k {root} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    started = False
    try:
        initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", server.user, "--auth=trust"]
        _run(prefix, *initdb, "--encoding=UTF8", "--locale=C", "--no-sync")
        _run(prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
        started = True
        _wait_until_ready(server, log, time.monotonic() + 30)
        yield server
    finally:
        if started:
            subprocess.run(
                [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                capture_output=True,
                timeout=60,
                check=False,
            )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to a fresh, empty store database: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'lockgate.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    stem = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40]
    return server.create_database(f"t_{stem}_{uuid.uuid4().hex[:8]}")
