"""The OpenLineage outbox: events a transport failed to deliver, retried later.

Revision 0003. Immutable once landed: fix forward with a new revision. Types are spelled out here
(never imported from models.py or outbox.py), so later model changes cannot rewrite history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "openlineage_outbox",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("event_key", sa.Text(), nullable=False),
        sa.Column("payload", DOCUMENT, nullable=False),
        _time("created_at", nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("last_attempt_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        _time("sent_at"),
        sa.PrimaryKeyConstraint("id", name="pk_openlineage_outbox"),
        sa.UniqueConstraint("event_key", name="uq_openlineage_outbox_event_key"),
    )
    op.create_index("ix_openlineage_outbox_sent_at_id", "openlineage_outbox", ["sent_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_openlineage_outbox_sent_at_id", table_name="openlineage_outbox")
    op.drop_table("openlineage_outbox")
