"""Online output-token calibration factors.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "output_calibration",
        sa.Column("model", sa.String(128), primary_key=True),
        sa.Column("task_type", sa.String(128), primary_key=True),
        sa.Column("agent", sa.String(128), primary_key=True),
        sa.Column("log_factor", sa.Float(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("output_calibration")
