"""Partition status as ranges, dynamic partitions, and the automation daemon's tables.

Revision 0002. Immutable once landed: fix forward with a new revision. Types are spelled out
here, never imported from models.py (see 0001).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "partition_ranges",
        sa.Column("asset_key", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("lo", sa.Text(), nullable=False),
        sa.Column("hi", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("asset_key", "status", "lo", name="pk_partition_ranges"),
    )
    op.create_table(
        "dynamic_partitions",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("partition_key", sa.Text(), nullable=False),
        _time("added_at", nullable=False),
        sa.PrimaryKeyConstraint("name", "partition_key", name="pk_dynamic_partitions"),
    )
    op.create_table(
        "automation_leases",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        _time("acquired_at", nullable=False),
        _time("expires_at", nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_automation_leases"),
    )
    op.create_table(
        "automation_ticks",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        _time("started_at", nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=True),
        sa.Column("evaluated", sa.Integer(), nullable=False),
        sa.Column("requested", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_automation_ticks"),
    )
    op.create_table(
        "automation_evaluations",
        sa.Column("tick_id", sa.BigInteger(), nullable=False),
        sa.Column("asset_key", sa.Text(), nullable=False),
        sa.Column("requested", DOCUMENT, nullable=False),
        sa.Column("tree", DOCUMENT, nullable=False),
        sa.PrimaryKeyConstraint("tick_id", "asset_key", name="pk_automation_evaluations"),
    )
    op.create_index(
        "ix_automation_evaluations_asset_key_tick_id", "automation_evaluations", ["asset_key", "tick_id"]
    )
    op.create_table(
        "automation_memory",
        sa.Column("asset_key", sa.Text(), nullable=False),
        sa.Column("memory", DOCUMENT, nullable=False),
        sa.Column("tick_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("asset_key", name="pk_automation_memory"),
    )
    op.create_table(
        "run_queue",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("tick_id", sa.BigInteger(), nullable=True),
        sa.Column("adapter", sa.String(200), nullable=False),
        sa.Column("request", DOCUMENT, nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("not_before"),
        _time("launched_at"),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        _time("created_at", nullable=False),
        _time("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_run_queue"),
        sa.UniqueConstraint("idempotency_key", name="uq_run_queue_idempotency_key"),
    )
    op.create_index("ix_run_queue_state_priority", "run_queue", ["state", "priority"])


def downgrade() -> None:
    op.drop_index("ix_run_queue_state_priority", table_name="run_queue")
    op.drop_table("run_queue")
    op.drop_table("automation_memory")
    op.drop_index("ix_automation_evaluations_asset_key_tick_id", table_name="automation_evaluations")
    op.drop_table("automation_evaluations")
    op.drop_table("automation_ticks")
    op.drop_table("automation_leases")
    op.drop_table("dynamic_partitions")
    op.drop_table("partition_ranges")
