"""API keys (their digests) and the audit trail of administrative acts.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("team", sa.String(128), nullable=False),
        sa.Column("agents", sa.Text(), nullable=False),
        sa.Column("permissions", sa.Text(), nullable=False),
        sa.Column("subject", sa.String(512), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(32), nullable=False),
        sa.Column("expires_us", sa.BigInteger(), nullable=True),
        sa.Column("revoked_us", sa.BigInteger(), nullable=True),
    )
    # a certificate subject authenticates as one key at a time (replicas may race to make two)
    op.create_index("ux_api_keys_subject", "api_keys", ["subject"], unique=True,
                    sqlite_where=sa.text("subject <> '' AND revoked_us IS NULL"),
                    postgresql_where=sa.text("subject <> '' AND revoked_us IS NULL"))
    op.create_table(
        "audit_events",
        # BIGINT on PostgreSQL (an identity), INTEGER on SQLite (its rowid autoincrements)
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("principal", sa.String(32), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target", sa.String(600), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at_us"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_at", "audit_events")
    op.drop_table("audit_events")
    op.drop_index("ux_api_keys_subject", "api_keys")
    op.drop_table("api_keys")
