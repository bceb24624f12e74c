"""Alembic environment: run by :func:`lockgate.federation.store.engine.migrate` with an open
connection in ``config.attributes["connection"]``.

For writing a new revision, point Alembic at a scratch database::

    LOCKGATE_STORE_URL=sqlite:///scratch.db alembic -c federation/store/migrations/alembic.ini \\
        revision --autogenerate -m "what changed"
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from lockgate.federation.store.engine import VERSION_TABLE, create
from lockgate.federation.store.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create(os.environ.get("LOCKGATE_STORE_URL", "sqlite:///.lockgate/lockgate.db"))
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


_main()
