"""Automation conditions attached through the API, and an index for the run queue's changes.

Revision 0004. Immutable once landed: fix forward with a new revision. Types are spelled out here
(never imported from models.py), so later model changes cannot rewrite history.

* ``automation_conditions``: one condition string per asset key, set by
  ``PUT /api/v1/assets/<key>/automation``; it overrides the workspace and dbt meta.
* ``ix_run_queue_updated_at``: ``Store.generation()`` reads the newest ``run_queue.updated_at``
  on every portal request, so backfill progress is never served stale; the index keeps that
  one indexed read.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "automation_conditions",
        sa.Column("asset_key", sa.Text(), nullable=False),
        sa.Column("condition", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("asset_key", name="pk_automation_conditions"),
    )
    op.create_index("ix_automation_conditions_updated_at", "automation_conditions", ["updated_at"])
    op.create_index("ix_run_queue_updated_at", "run_queue", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_run_queue_updated_at", table_name="run_queue")
    op.drop_index("ix_automation_conditions_updated_at", table_name="automation_conditions")
    op.drop_table("automation_conditions")
