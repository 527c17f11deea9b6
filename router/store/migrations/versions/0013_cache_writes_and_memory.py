"""Cache-write tokens and memory: what a usage wrote to the provider's prompt cache (its own
price) and the memory it held (GB-milliseconds, priced per GB-second), with the rollups summing
cache writes so QuerySpend's token totals include them. Rows written before stay 0.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_ROLLUPS = ("usage_hourly", "usage_daily", "usage_daily_agents")


def _zero(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")


def upgrade() -> None:
    op.add_column("usages", _zero("cache_write_tokens"))
    op.add_column("usages", _zero("memory_gb_ms"))
    for table in _ROLLUPS:
        op.add_column(table, _zero("cache_write_tokens"))


def downgrade() -> None:
    for table in _ROLLUPS:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("cache_write_tokens")
    with op.batch_alter_table("usages") as batch:
        batch.drop_column("memory_gb_ms")
        batch.drop_column("cache_write_tokens")
