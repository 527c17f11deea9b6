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
