"""Alembic migrations of the store. Immutable once landed: fix forward."""
