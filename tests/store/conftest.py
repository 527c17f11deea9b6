"""The store under test: a migrated SqlStore on each database (``store_url``: SQLite, and
PostgreSQL when CI=true), closed after the test. A module that needs another (the SQL ledger,
a file of its own) defines its own ``store``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from router.store.sql import SqlStore


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    s = SqlStore(store_url, pool_size=4, sqlite_synchronous="NORMAL")
    s.migrate()
    yield s
    s.close()


def reads_along(store: SqlStore, stmt: sa.Select, index: str, scan: str) -> None:
    """``stmt`` reads along ``index`` in the order it asks, never sorting: on SQLite its plan
    names the index and no temporary B-tree; on PostgreSQL, told to avoid scans of the table,
    bitmaps and sorts (its planner prefers a sort of a table this small), it still finds the
    index (``scan``: "Scan Backward using", or "using" for either direction) and no Sort."""
    sql = str(stmt.compile(store.engine, compile_kwargs={"literal_binds": True}))
    with store.engine.connect() as conn:
        if store.dialect == "sqlite":
            plan = " / ".join(r[-1] for r in conn.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}")))
            assert index in plan and "TEMP B-TREE" not in plan, plan
        else:
            for plan_kind in ("seqscan", "bitmapscan", "sort"):
                conn.execute(sa.text(f"SET LOCAL enable_{plan_kind} = off"))
            plan = " / ".join(r[0] for r in conn.execute(sa.text(f"EXPLAIN {sql}")))
            assert f"{scan} {index}" in plan, plan
            assert "Sort" not in plan, plan


@contextlib.contextmanager
def written_as_today(old: SqlStore) -> Iterator[SqlStore]:
    """Let today's writer fill a store migrated only part of the way: the decisions' columns of
    later migrations are there while it writes, and gone again after, so the upgrade that
    follows starts from the old schema."""
    later = [c for c in LATER_DECISION_COLUMNS
             if c not in {col["name"] for col in sa.inspect(old.engine).get_columns("decisions")}]
    with old.engine.begin() as conn:
        for column in later:
            conn.execute(sa.text(f"ALTER TABLE decisions ADD COLUMN {column} FLOAT"))
    yield old
    with old.engine.begin() as conn:
        for column in later:
            conn.execute(sa.text(f"ALTER TABLE decisions DROP COLUMN {column}"))


LATER_DECISION_COLUMNS = ("prior_quality",)  # migration 0012
