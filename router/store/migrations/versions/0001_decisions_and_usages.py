"""Decisions and usage records with their attribution keys.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _keys() -> list[sa.Column]:
    return [
        sa.Column("team", sa.String(128), nullable=False),
        sa.Column("agent", sa.String(128), nullable=False),
        sa.Column("task_id", sa.String(128), nullable=False),
        sa.Column("task_type", sa.String(128), nullable=False),
        sa.Column("user_name", sa.String(128), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "decisions",
        *_keys(),
        sa.Column("decision_id", sa.String(40), primary_key=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("complexity_label", sa.String(16), nullable=False),
        sa.Column("complexity_score", sa.Float(), nullable=False),
        sa.Column("quality_target", sa.Float(), nullable=False),
        sa.Column("predicted_quality", sa.Float(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("predicted_cost", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reason_code", sa.Integer(), nullable=False),
        sa.Column("reason_message", sa.Text(), nullable=False),
        sa.Column("fallbacks", sa.Text(), nullable=False),
        sa.Column("candidates", sa.Text(), nullable=False),
        sa.Column("classifier_version", sa.String(64), nullable=False),
    )
    op.create_index("ix_decisions_request_id", "decisions", ["request_id"], unique=True)
    op.create_index("ix_decisions_created", "decisions", ["created_us"])
    op.create_index("ix_decisions_team_created", "decisions", ["team", "created_us"])
    op.create_index("ix_decisions_agent_created", "decisions", ["agent", "created_us"])

    op.create_table(
        "usages",
        *_keys(),
        sa.Column("usage_id", sa.String(128), primary_key=True),
        sa.Column("payload_hash", sa.String(64), nullable=False),
        sa.Column("decision_id", sa.String(40), nullable=True),
        sa.Column("recorded_us", sa.BigInteger(), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        *[sa.Column(name, sa.BigInteger(), nullable=False) for name in (
            "input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens",
            "tool_calls", "compute_ms", "review_ms")],
        sa.Column("outcome", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.BigInteger(), nullable=False),
        *[sa.Column(name, sa.BigInteger(), nullable=False) for name in (
            "cost_tokens", "cost_tools", "cost_compute", "cost_review", "cost_total")],
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("predicted_cost", sa.BigInteger(), nullable=True),
        sa.Column("predicted_output_tokens", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_usages_decision", "usages", ["decision_id"])
    op.create_index("ix_usages_recorded", "usages", ["recorded_us"])
    op.create_index("ix_usages_team_recorded", "usages", ["team", "recorded_us"])
    op.create_index("ix_usages_agent_recorded", "usages", ["agent", "recorded_us"])


def downgrade() -> None:
    op.drop_table("usages")
    op.drop_table("decisions")
