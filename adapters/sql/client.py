"""The only module that talks to a warehouse for SQL checks. Every statement goes through
:meth:`SqlClient._request`: a connect and statement timeout, bounded retries with backoff when the
connection fails (never when the statement does), and errors without the URL's password."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.sql.base import Executable

from lockgate.adapters.sql.config import SqlConfig
from lockgate.federation.errors import AdapterError, TransientError
from lockgate.federation.redact import redact, register_url

BACKOFF = 0.5


class SqlClient:
    """One engine per connection, created on first use; :meth:`close` disposes it."""

    def __init__(self, config: SqlConfig) -> None:
        self.config = config
        register_url(config.url)
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(self.config.url, connect_args=_connect_args(self.config))
        return self._engine

    def scalar(self, statement: Executable) -> int:
        """Execute a statement returning one number (a count) and return it."""
        return self._request(statement)

    def _request(self, statement: Executable) -> int:
        where = f"SQL check connection {self.config.name!r}"
        for attempt in range(self.config.retries + 1):
            try:
                connection = self.engine.connect()
            except SQLAlchemyError as exc:
                if attempt < self.config.retries:
                    time.sleep(BACKOFF * 2**attempt)
                    continue
                raise TransientError(
                    f"cannot connect to the warehouse after {attempt + 1} attempts: {_first_line(exc)}",
                    where=where,
                    fix="check that the database is running and that the URL in the connection's "
                    "url_env variable is right",
                ) from None
            try:
                with connection:
                    value: object = connection.execute(statement).scalar_one()
                    connection.rollback()  # checks only read
                return int(value) if isinstance(value, int | float | str) else 0
            except SQLAlchemyError as exc:
                invalidated = isinstance(exc, DBAPIError) and exc.connection_invalidated
                if invalidated and attempt < self.config.retries:
                    time.sleep(BACKOFF * 2**attempt)
                    continue
                raise AdapterError(
                    f"the check's query failed: {_first_line(exc)}",
                    where=where,
                    fix="check the table, column and `where:` names in the check against the warehouse",
                ) from None
        msg = "unreachable"
        raise AssertionError(msg)  # pragma: no cover

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _connect_args(config: SqlConfig) -> dict[str, Any]:
    backend = make_url(config.url).get_backend_name()
    seconds = config.timeout_seconds
    if backend == "postgresql":
        millis = int(seconds * 1000)
        return {
            "connect_timeout": max(1, int(seconds)),
            "options": f"-c statement_timeout={millis} -c default_transaction_read_only=on",
        }
    if backend == "sqlite":
        return {"timeout": seconds}
    return {}


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    text = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    return redact(text)
