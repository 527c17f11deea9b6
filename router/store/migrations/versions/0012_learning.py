"""Learning from outcomes: the learner's additive evidence per (level, scope, model), and the
classifier's own quality of a decision whose quality the learner moved.

``learning_evidence`` holds sums (of every Laplace step's increments of precision and of
precision x mean, and of outcomes): each replica adds its increments with ``INSERT ... ON
CONFLICT DO UPDATE SET precision = precision + excluded.precision, ...``, so what replicas
learned adds up. ``decisions.prior_quality`` is NULL where the learner did not move the quality.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "learning_evidence",
        sa.Column("level", sa.String(16), primary_key=True),
        sa.Column("scope", sa.String(128), primary_key=True),
        sa.Column("model", sa.String(128), primary_key=True),
        # FLOAT: double precision on PostgreSQL (its REAL is 4 bytes, too coarse for sums)
        sa.Column("precision", sa.Float(), nullable=False),
        sa.Column("weighted", sa.Float(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
    )
    op.add_column("decisions", sa.Column("prior_quality", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("decisions", "prior_quality")
    op.drop_table("learning_evidence")
