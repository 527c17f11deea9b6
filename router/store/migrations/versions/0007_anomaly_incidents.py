"""Anomalies are incidents: a detection continuing a stored incident updates its row (found by
subject and window end), and the row says when it was last detected. Rows stored before keep
their keys; their last detection is their first.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("anomalies") as batch:
        batch.add_column(sa.Column("last_detected_us", sa.BigInteger(), nullable=True))
    op.execute("UPDATE anomalies SET last_detected_us = detected_us")
    with op.batch_alter_table("anomalies") as batch:
        batch.alter_column("last_detected_us", existing_type=sa.BigInteger(), nullable=False)
    op.create_index("ix_anomalies_incident", "anomalies",
                    ["kind", "team", "agent", "task_id", "window_end_us"])


def downgrade() -> None:
    op.drop_index("ix_anomalies_incident", "anomalies")
    with op.batch_alter_table("anomalies") as batch:
        batch.drop_column("last_detected_us")
