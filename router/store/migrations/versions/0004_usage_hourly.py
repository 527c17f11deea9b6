"""Hourly usage rollup for spend reports, backfilled from the usage already recorded.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_KEYS = ("team", "agent", "user_name", "task_type", "model")
_SUMS = ("calls", "input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens",
         "cost_tokens", "cost_tools", "cost_compute", "cost_review", "cost_total",
         "predicted_cost", "predicted_calls", "actual_of_predicted", "failures", "review_calls",
         "review_ms", "tool_calls", "compute_ms")


def upgrade() -> None:
    op.create_table(
        "usage_hourly",
        sa.Column("hour_us", sa.BigInteger(), primary_key=True),
        *(sa.Column(k, sa.String(128), primary_key=True) for k in _KEYS),
        sa.Column("provider", sa.String(64), nullable=False),
        *(sa.Column(c, sa.BigInteger(), nullable=False, server_default="0") for c in _SUMS),
        sa.Column("abs_error_ratio_sum", sa.Float(), nullable=False, server_default="0"),
    )
    op.create_index("ix_usage_hourly_team_hour", "usage_hourly", ["team", "hour_us"])
    hour = "(recorded_us - recorded_us % 3600000000)"
    predicted = "CASE WHEN predicted_cost IS NULL THEN 0 ELSE 1 END"
    op.execute(f"""
        INSERT INTO usage_hourly (hour_us, team, agent, user_name, task_type, model, provider,
            {", ".join(_SUMS)}, abs_error_ratio_sum)
        SELECT {hour}, team, agent, user_name, task_type, model, min(provider),
            count(*), sum(input_tokens), sum(cached_input_tokens), sum(output_tokens),
            sum(reasoning_tokens), sum(cost_tokens), sum(cost_tools), sum(cost_compute),
            sum(cost_review), sum(cost_total), sum(coalesce(predicted_cost, 0)),
            sum({predicted}), sum(CASE WHEN predicted_cost IS NULL THEN 0 ELSE cost_tokens END),
            sum(CASE WHEN outcome = 2 THEN 1 ELSE 0 END),
            sum(CASE WHEN review_ms > 0 THEN 1 ELSE 0 END), sum(review_ms), sum(tool_calls),
            sum(compute_ms),
            sum(CASE WHEN predicted_cost IS NULL OR predicted_cost = 0 THEN 0.0
                ELSE abs(cost_tokens - predicted_cost) * 1.0 / predicted_cost END)
        FROM usages GROUP BY {hour}, team, agent, user_name, task_type, model""")


def downgrade() -> None:
    op.drop_table("usage_hourly")
