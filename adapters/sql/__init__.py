"""SQL checks against a warehouse through SQLAlchemy: row count bounds, not null, unique,
accepted values and custom SQL returning failing rows, optionally scoped to a partition.

Registered under the entry point group ``lockgate.check_runners`` as ``sql``; the core finds it
through :func:`lockgate.federation.checks.sql.load_runner` and never imports this package.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from lockgate.adapters.sql.client import SqlClient
from lockgate.adapters.sql.config import SqlConfig, load_config
from lockgate.adapters.sql.statements import statement
from lockgate.adapters.sql.translator import SqlTranslator
from lockgate.federation.checks.sql import SqlTarget
from lockgate.federation.errors import LockgateError
from lockgate.federation.events import CheckEvaluated


class SqlCheckRunner:
    """Runs SQL check targets; one client (engine) per connection, reused until :meth:`close`.
    A check that cannot run (bad table, unreachable database) is recorded as ``errored``."""

    def __init__(
        self, connections: Mapping[str, str | Mapping[str, object]], translator: SqlTranslator | None = None
    ) -> None:
        self._configs: dict[str, SqlConfig] = {}
        for name, value in connections.items():
            raw: dict[str, object] = {"url": value} if isinstance(value, str) else dict(value)
            self._configs[name] = load_config(raw, name=name, where=f"connections.{name}")
        self._clients: dict[str, SqlClient] = {}
        self.translator = translator or SqlTranslator()

    def _client(self, target: SqlTarget) -> SqlClient:
        name = target.check.connection
        if name not in self._clients:
            config = self._configs.get(name) or SqlConfig(name=name, url=target.url)
            self._clients[name] = SqlClient(config)
        return self._clients[name]

    def run(self, targets: Sequence[SqlTarget], now: datetime) -> list[CheckEvaluated]:
        out: list[CheckEvaluated] = []
        for target in targets:
            try:
                value = self._client(target).scalar(statement(target))
            except LockgateError as exc:
                out.append(self.translator.error(target, str(exc), now))
                continue
            out.append(self.translator.result(target, value, now))
        return out

    def close(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()


def runner(connections: Mapping[str, str]) -> SqlCheckRunner:
    """The ``lockgate.check_runners: sql`` entry point."""
    return SqlCheckRunner(connections)


__all__ = ["SqlCheckRunner", "SqlConfig", "SqlTranslator", "runner"]
