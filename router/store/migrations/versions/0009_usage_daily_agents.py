"""A daily rollup by the hourly one's keys (team, agent, model): month reports and the
dashboard's month panels read some 24x fewer rows than from the hourly rollup. Backfilled from
the hourly rollup, whose sums compose exactly into days.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_SUMS = ("calls", "input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens",
         "cost_tokens", "cost_tools", "cost_compute", "cost_review", "cost_total",
         "predicted_cost", "predicted_calls", "actual_of_predicted", "failures", "review_calls",
         "review_ms", "tool_calls", "compute_ms", "abs_error_ratio_sum")
_KEYS = ("team", "agent", "model")
_DAY_US = 86_400_000_000

# INSERT ... SELECT from the hourly rollup (also run by the spend benchmark after its bulk load)
BACKFILL_SQL = f"""
    INSERT INTO usage_daily_agents (day_us, {", ".join(_KEYS)}, provider, {", ".join(_SUMS)})
    SELECT hour_us - hour_us % {_DAY_US}, {", ".join(_KEYS)}, min(provider),
        {", ".join(f"sum({c})" for c in _SUMS)}
    FROM usage_hourly GROUP BY hour_us - hour_us % {_DAY_US}, {", ".join(_KEYS)}"""


def upgrade() -> None:
    op.create_table(
        "usage_daily_agents",
        sa.Column("day_us", sa.BigInteger(), primary_key=True),
        *(sa.Column(k, sa.String(128), primary_key=True) for k in _KEYS),
        sa.Column("provider", sa.String(64), nullable=False),
        *(sa.Column(c, sa.BigInteger(), nullable=False, server_default="0")
          for c in _SUMS[:-1]),
        sa.Column("abs_error_ratio_sum", sa.Float(), nullable=False, server_default="0"),
    )
    op.create_index("ix_usage_daily_agents_team_day", "usage_daily_agents", ["team", "day_us"])
    op.execute(BACKFILL_SQL)


def downgrade() -> None:
    op.drop_table("usage_daily_agents")
