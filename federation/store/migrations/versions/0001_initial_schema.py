"""Initial schema: specs, the event log, derived status, cursors and syncs.

Revision 0001, the first. Immutable once landed: fix forward with a new revision.
Types are spelled out here (never imported from models.py), so later model changes cannot
rewrite history; tests/federation/store/test_migrations.py checks head == models.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "assets",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("adapter", sa.String(200), nullable=False),
        sa.Column("system", sa.String(100), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("spec", DOCUMENT, nullable=False),
        sa.Column("spec_hash", sa.String(64), nullable=False),
        _time("updated_at", nullable=False),
        _time("removed_at"),
        sa.PrimaryKeyConstraint("id", name="pk_assets"),
        sa.UniqueConstraint("key", name="uq_assets_key"),
    )
    op.create_index("ix_assets_adapter", "assets", ["adapter"])

    op.create_table(
        "checks",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("asset_key", sa.Text(), nullable=False),
        sa.Column("check_name", sa.Text(), nullable=False),
        sa.Column("adapter", sa.String(200), nullable=False),
        sa.Column("spec", DOCUMENT, nullable=False),
        sa.Column("spec_hash", sa.String(64), nullable=False),
        _time("updated_at", nullable=False),
        _time("removed_at"),
        sa.PrimaryKeyConstraint("id", name="pk_checks"),
        sa.UniqueConstraint("asset_key", "check_name", name="uq_checks_asset_key_check_name"),
    )
    op.create_index("ix_checks_adapter", "checks", ["adapter"])

    op.create_table(
        "events",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("adapter", sa.String(200), nullable=False),
        sa.Column("asset_key", sa.Text(), nullable=True),
        sa.Column("check_name", sa.Text(), nullable=True),
        sa.Column("partition", sa.Text(), nullable=True),
        sa.Column("run_id", sa.Text(), nullable=True),
        _time("timestamp", nullable=False),
        sa.Column("payload", DOCUMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("event_id", name="uq_events_event_id"),
    )
    op.create_index("ix_events_asset_key_id", "events", ["asset_key", "id"])
    op.create_index("ix_events_run_id", "events", ["run_id"])
    op.create_index("ix_events_kind", "events", ["kind"])

    op.create_table(
        "asset_status",
        sa.Column("asset_key", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        _time("last_event_at"),
        *_slot("mat"),
        *_slot("fail"),
        sa.Column("fail_message", sa.Text(), nullable=True),
        *_slot("start"),
        *_slot("done"),
        _time("obs_at"),
        sa.Column("obs_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("asset_key", name="pk_asset_status"),
    )

    op.create_table(
        "check_status",
        sa.Column("asset_key", sa.Text(), nullable=False),
        sa.Column("check_name", sa.Text(), nullable=False),
        sa.Column("event_pk", sa.BigInteger(), nullable=False),
        _time("timestamp", nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("failures", sa.BigInteger(), nullable=True),
        sa.Column("partition", sa.Text(), nullable=True),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("asset_key", "check_name", name="pk_check_status"),
    )

    op.create_table(
        "cursors",
        sa.Column("adapter", sa.String(200), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        _time("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("adapter", name="pk_cursors"),
    )

    op.create_table(
        "syncs",
        sa.Column("adapter", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(100), nullable=False),
        _time("started_at", nullable=False),
        _time("finished_at"),
        sa.Column("assets", sa.Integer(), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("new_events", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("adapter", name="pk_syncs"),
    )


def _slot(prefix: str) -> list[sa.Column[object]]:
    """The latest (timestamp, log id, run id) of one event kind in asset_status."""
    return [
        _time(f"{prefix}_at"),
        sa.Column(f"{prefix}_id", sa.BigInteger(), nullable=True),
        sa.Column(f"{prefix}_run_id", sa.Text(), nullable=True),
    ]


def downgrade() -> None:
    for table in ("syncs", "cursors", "check_status", "asset_status", "events", "checks", "assets"):
        op.drop_table(table)
