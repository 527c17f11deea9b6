"""Scores of calls' answers: a usage's optional quality, and the feedback table (ReportFeedback)
with its call's keys, model and time, so QuerySpend groups scores like spend without a join.
The partial index holds only the usages that carry a quality: reading their scores by time
never walks the ledger.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_SCORED = sa.text("quality IS NOT NULL")


def upgrade() -> None:
    op.add_column("usages", sa.Column("quality", sa.Float(), nullable=True))
    op.create_index("ix_usages_quality_recorded", "usages", ["recorded_us"],
                    sqlite_where=_SCORED, postgresql_where=_SCORED)
    op.create_table(
        "feedback",
        sa.Column("team", sa.String(128), nullable=False),
        sa.Column("agent", sa.String(128), nullable=False),
        sa.Column("task_id", sa.String(128), nullable=False),
        sa.Column("task_type", sa.String(128), nullable=False),
        sa.Column("user_name", sa.String(128), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("feedback_id", sa.String(128), primary_key=True),
        sa.Column("payload_hash", sa.String(64), nullable=False),
        sa.Column("decision_id", sa.String(40), nullable=True),
        sa.Column("usage_id", sa.String(128), nullable=True),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("call_us", sa.BigInteger(), nullable=False),
        sa.Column("recorded_us", sa.BigInteger(), nullable=False),
        sa.Column("occurred_us", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_feedback_decision", "feedback", ["decision_id"])
    op.create_index("ix_feedback_call", "feedback", ["call_us"])
    op.create_index("ix_feedback_team_call", "feedback", ["team", "call_us"])


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_index("ix_usages_quality_recorded", "usages")
    with op.batch_alter_table("usages") as batch:  # SQLite rebuilds the table
        batch.drop_column("quality")
