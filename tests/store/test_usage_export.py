"""The store's read of usage for the FOCUS export, on SQLite and on PostgreSQL: the range and
filters, oldest first, the keyset cursor across pages (rows sharing a timestamp included), and
the plan reading an index in the export's order."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from router.core.records import Attribution, UsageQuery
from router.store.sql import SqlStore
from tests.store.conftest import reads_along
from tests.store.test_sql_store import usage


def fill(store: SqlStore) -> None:
    """u0..u9 at 1000 + 100 i, except u3..u6, which share the time 1400; u8 of another team
    and u9 of another agent."""
    rows = []
    for i in range(10):
        at = 1400 if 3 <= i <= 6 else 1000 + 100 * i
        keys = Attribution(team="legal" if i == 8 else "finance",
                           agent="auditor" if i == 9 else "reconciler")
        rows.append(dataclasses.replace(usage(f"u{i}", did=None), recorded_us=at,
                                        attribution=keys))
    store.write_batch([], rows[::-1])  # arrival order is not the order


def ids(store: SqlStore, query: UsageQuery) -> list[str]:
    return [u.usage_id for u in store.usages_between(query)]


def test_pages_follow_time_then_id_across_ties_and_filters(store: SqlStore):
    fill(store)
    assert ids(store, UsageQuery(0, 10_000)) == [f"u{i}" for i in range(10)]
    assert ids(store, UsageQuery(1100, 1800)) == ["u1", "u2", "u3", "u4", "u5", "u6", "u7"]
    # a page of three, then the next after its last (inside the tie at 1400)
    first = ids(store, UsageQuery(0, 10_000, limit=4))
    assert first == ["u0", "u1", "u2", "u3"]
    assert ids(store, UsageQuery(0, 10_000, after=(1400, "u3"), limit=4)) == [
        "u4", "u5", "u6", "u7"]
    assert ids(store, UsageQuery(0, 10_000, {"team": "legal"})) == ["u8"]
    assert ids(store, UsageQuery(0, 10_000, {"team": "finance"}, agents=("auditor",))) == ["u9"]
    assert ids(store, UsageQuery(0, 10_000, {"model": "gpt-4o"})) == []
    got = store.usages_between(UsageQuery(0, 10_000, {"team": "legal"}))[0]
    assert got == dataclasses.replace(usage("u8", did=None), recorded_us=1800,
                                      attribution=got.attribution)


def test_the_page_is_read_along_an_index_in_its_order(store: SqlStore):
    """No sort of the usage: the index ends in usage_id, so the scan yields the order asked
    and stops at the LIMIT. (PostgreSQL's planner prefers a sort of a table this small: told
    to avoid one, it must still find the index that needs none.)"""
    fill(store)
    for filters, index in (({"team": "finance"}, "ix_usages_team_recorded"),
                           ({}, "ix_usages_recorded")):
        reads_along(store, store._usage_page(
            UsageQuery(0, 10_000, filters, after=(1400, "u5"), limit=3)), index, "using")


def test_migration_0014_adds_usage_id_to_the_time_indexes(store: SqlStore):
    columns = {ix["name"]: ix["column_names"]
               for ix in sa.inspect(store.engine).get_indexes("usages")}
    assert columns["ix_usages_recorded"] == ["recorded_us", "usage_id"]
    assert columns["ix_usages_team_recorded"] == ["team", "recorded_us", "usage_id"]
