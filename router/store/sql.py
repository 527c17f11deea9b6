"""The SQL store: SQLite (embedded default, WAL) and PostgreSQL through one SQLAlchemy Core path.

``SqlStore`` is the one implementation of ``router.store.base.Store``, assembled from one mixin per
concern, each in its own module:

- ``engine``      engines, connections, reachability errors (``SqlBase``)
- ``records_sql`` the group commit's batch (decisions, usage, calibration) and point reads
- ``feedback_sql`` ReportFeedback's scores, each in its own transaction
- ``budgets_sql`` budget holds, window totals, the API's rules and pauses
- ``spend_sql``   the rollups and the reports' GROUP BYs
- ``anomalies_sql`` the detectors' inputs and their findings
- ``access_sql``  API keys (their digests) and the audit trail
- ``learning_sql`` the learner's additive evidence
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from router.store.access_sql import SqlAccess
from router.store.anomalies_sql import SqlAnomalies
from router.store.budgets_sql import SqlBudgets
from router.store.feedback_sql import SqlFeedback
from router.store.learning_sql import SqlLearning
from router.store.records_sql import SqlRecords
from router.store.spend_sql import SqlSpend

_MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 0x726F75746572  # pg advisory lock key: replicas migrate one at a time


class SqlStore(SqlRecords, SqlFeedback, SqlBudgets, SqlSpend, SqlAnomalies, SqlAccess,
               SqlLearning):
    """``router.store.base.Store`` over SQLAlchemy Core.

    ``holds_in_sql`` (default: on PostgreSQL, not on SQLite) says where budget holds live: in this
    database, for a ledger shared by replicas, or in the one process that owns an embedded file.
    """

    def migrate(self, revision: str = "head") -> None:
        """Bring the schema to the current version, or to ``revision`` (replicas take turns on
        PostgreSQL)."""
        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        with self._connect(write=True) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
