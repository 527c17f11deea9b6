"""The decisions' time indexes end in decision_id, ListDecisions' tie-break: a page of decisions
(newest first by created time, then id; by team or agent or neither) is read along an index in
that very order, with the keyset cursor as its bound, and never sorted. Replaces the three
indexes (same names) rather than adding three more to the table every Route writes.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_INDEXES = {"ix_decisions_created": ["created_us"],
            "ix_decisions_team_created": ["team", "created_us"],
            "ix_decisions_agent_created": ["agent", "created_us"]}


def upgrade() -> None:
    for name, columns in _INDEXES.items():
        op.drop_index(name, table_name="decisions")
        op.create_index(name, "decisions", [*columns, "decision_id"])


def downgrade() -> None:
    for name, columns in _INDEXES.items():
        op.drop_index(name, table_name="decisions")
        op.create_index(name, "decisions", columns)
