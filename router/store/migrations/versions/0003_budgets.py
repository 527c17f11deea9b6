"""Budgets: API-managed rules, the ledger (holds, charges), window totals, paused scopes.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _money(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")


def upgrade() -> None:
    op.create_table(
        "budget_rules",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "budget_windows",
        sa.Column("budget_id", sa.String(64), primary_key=True),
        sa.Column("window_key", sa.String(32), primary_key=True),
        _money("spent"), _money("held"), _money("tokens_spent"), _money("tokens_held"),
    )
    op.create_table(
        "budget_holds",
        sa.Column("decision_id", sa.String(40), primary_key=True),
        sa.Column("budget_id", sa.String(64), primary_key=True),
        sa.Column("window_key", sa.String(32), nullable=False),
        _money("amount"), _money("tokens"),
        sa.Column("expires_us", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_budget_holds_expires", "budget_holds", ["expires_us"])
    op.create_table(
        "budget_charges",
        sa.Column("usage_id", sa.String(128), primary_key=True),
        sa.Column("budget_id", sa.String(64), primary_key=True),
        sa.Column("window_key", sa.String(32), nullable=False),
        _money("amount"), _money("tokens"),
        sa.Column("recorded_us", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_budget_charges_window", "budget_charges", ["budget_id", "window_key"])
    op.create_table(
        "paused_scopes",
        sa.Column("scope_key", sa.String(800), primary_key=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("paused_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    for table in ("paused_scopes", "budget_charges", "budget_holds", "budget_windows",
                  "budget_rules"):
        op.drop_table(table)
