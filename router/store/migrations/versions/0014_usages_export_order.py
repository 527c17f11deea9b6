"""The usages' time indexes end in usage_id, the FOCUS export's tie-break: a page of usage
(oldest first by recorded time, then id; of one team or of all) is read along an index in that
very order, with the keyset cursor as its bound, and never sorted. Replaces the two indexes
(same names) rather than adding two more to the table every ReportUsage writes.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_INDEXES = {"ix_usages_recorded": ["recorded_us"],
            "ix_usages_team_recorded": ["team", "recorded_us"]}


def upgrade() -> None:
    for name, columns in _INDEXES.items():
        op.drop_index(name, table_name="usages")
        op.create_index(name, "usages", [*columns, "usage_id"])


def downgrade() -> None:
    for name, columns in _INDEXES.items():
        op.drop_index(name, table_name="usages")
        op.create_index(name, "usages", columns)
