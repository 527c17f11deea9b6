"""The store under test: a migrated SqlStore on each database (``store_url``: SQLite, and
PostgreSQL when CI=true), closed after the test. A module that needs another (the SQL ledger,
a file of its own) defines its own ``store``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from router.store.sql import SqlStore


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    s = SqlStore(store_url, pool_size=4, sqlite_synchronous="NORMAL")
    s.migrate()
    yield s
    s.close()
