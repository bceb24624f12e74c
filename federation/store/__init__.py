"""The store: SQLAlchemy 2.0 typed ORM with Alembic migrations; SQLite (WAL) or PostgreSQL.

ORM rows never leave this package: :class:`Store` takes and returns domain objects.
"""

from lockgate.federation.store.store import Store as Store
