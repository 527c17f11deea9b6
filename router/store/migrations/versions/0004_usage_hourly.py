"""Usage rollups for spend reports (hourly by team/agent/model, daily by every key but task_id),
backfilled from the usage already recorded.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SUMS = ("calls", "input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens",
         "cost_tokens", "cost_tools", "cost_compute", "cost_review", "cost_total",
         "predicted_cost", "predicted_calls", "actual_of_predicted", "failures", "review_calls",
         "review_ms", "tool_calls", "compute_ms")
_ROLLUPS = {
    "usage_hourly": ("hour_us", 3_600_000_000, ("team", "agent", "model")),
    "usage_daily": ("day_us", 86_400_000_000, ("team", "agent", "user_name", "task_type",
                                               "model")),
}


def backfill_sql(table: str) -> str:
    """INSERT ... SELECT that fills rollup ``table`` from the ledger (also used by the spend
    benchmark, which bulk-loads usage rows)."""
    time_key, step, keys = _ROLLUPS[table]
    bucket = f"(recorded_us - recorded_us % {step})"
    return f"""
        INSERT INTO {table} ({time_key}, {", ".join(keys)}, provider,
            {", ".join(_SUMS)}, abs_error_ratio_sum)
        SELECT {bucket}, {", ".join(keys)}, min(provider),
            count(*), sum(input_tokens), sum(cached_input_tokens), sum(output_tokens),
            sum(reasoning_tokens), sum(cost_tokens), sum(cost_tools), sum(cost_compute),
            sum(cost_review), sum(cost_total), sum(coalesce(predicted_cost, 0)),
            sum(CASE WHEN predicted_cost IS NULL THEN 0 ELSE 1 END),
            sum(CASE WHEN predicted_cost IS NULL THEN 0 ELSE cost_tokens END),
            sum(CASE WHEN outcome = 2 THEN 1 ELSE 0 END),
            sum(CASE WHEN review_ms > 0 THEN 1 ELSE 0 END), sum(review_ms), sum(tool_calls),
            sum(compute_ms),
            sum(CASE WHEN predicted_cost IS NULL OR predicted_cost = 0 THEN 0.0
                ELSE abs(cost_tokens - predicted_cost) * 1.0 / predicted_cost END)
        FROM usages GROUP BY {bucket}, {", ".join(keys)}"""


def upgrade() -> None:
    for table, (time_key, _, keys) in _ROLLUPS.items():
        op.create_table(
            table,
            sa.Column(time_key, sa.BigInteger(), primary_key=True),
            *(sa.Column(k, sa.String(128), primary_key=True) for k in keys),
            sa.Column("provider", sa.String(64), nullable=False),
            *(sa.Column(c, sa.BigInteger(), nullable=False, server_default="0") for c in _SUMS),
            sa.Column("abs_error_ratio_sum", sa.Float(), nullable=False, server_default="0"),
        )
        op.execute(backfill_sql(table))
    op.create_index("ix_usage_hourly_team_hour", "usage_hourly", ["team", "hour_us"])


def downgrade() -> None:
    op.drop_table("usage_daily")
    op.drop_table("usage_hourly")
