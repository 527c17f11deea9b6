"""The store's listing of decisions (ListDecisions' read), on SQLite and on PostgreSQL: filters,
newest first, the keyset cursor across pages (rows sharing a timestamp included), the usage
joined in one statement, and the plan reading an index in the listing's order."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from router.core.records import Attribution, DecisionQuery, DecisionSummary, Outcome
from router.store.sql import SqlStore
from tests.store.conftest import reads_along, written_as_today
from tests.store.test_sql_store import decision, usage


def made(did: str, created_us: int, **keys: str) -> object:
    a = Attribution(**{"team": "finance", "agent": "reconciler", "task_type": "match",
                       "user": "ana", **keys})
    return dataclasses.replace(decision(did, request_id=None), created_us=created_us,
                               attribution=a)


def ids(rows: list[DecisionSummary]) -> list[str]:
    return [r.decision_id for r in rows]


def fill(store: SqlStore) -> None:
    """Ten decisions: d0..d9 at 1000 + 100 i, except d3..d6, which share the time 1400."""
    store.write_batch([made(f"d{i}", 1400 if 3 <= i <= 6 else 1000 + 100 * i,
                            agent="reconciler" if i % 2 else "auditor",
                            team="finance" if i < 8 else "legal")
                       for i in range(10)], [])


def test_newest_first_with_ties_broken_by_decision_id(store: SqlStore):
    fill(store)
    rows = store.list_decisions(DecisionQuery(limit=100))
    assert ids(rows) == ["d9", "d8", "d7", "d6", "d5", "d4", "d3", "d2", "d1", "d0"]
    assert [r.created_us for r in rows] == sorted((r.created_us for r in rows), reverse=True)
    first = rows[-1]
    assert (first.model, first.provider, first.complexity_label, first.predicted_cost,
            first.currency) == ("gpt-4o-mini", "openai", "easy", 198_000, "USD")
    assert first.attribution.team == "finance" and first.attribution.user == "ana"
    assert (first.usage_count, first.actual_cost, first.outcome) == (0, 0, None)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 7])
def test_pages_follow_the_keyset_cursor_without_duplicates_or_gaps(store: SqlStore, size: int):
    """Page after page, the cursor the last row of each: every decision exactly once, in
    order, even where a page boundary falls among the four sharing one timestamp."""
    fill(store)
    seen: list[str] = []
    after = None
    while True:
        page = store.list_decisions(DecisionQuery(limit=size, after=after))
        assert len(page) <= size
        if not page:
            break
        seen += ids(page)
        after = (page[-1].created_us, page[-1].decision_id)
    assert seen == ids(store.list_decisions(DecisionQuery(limit=100)))
    assert len(set(seen)) == 10


def test_filters_by_keys_model_labels_agents_and_time(store: SqlStore):
    fill(store)
    store.write_batch([dataclasses.replace(
        made("x1", 5000, task_type="review", user="bo", team="legal"),
        model="gpt-4o", attribution=Attribution(team="legal", agent="auditor",
                                                task_type="review", user="bo",
                                                labels={"env": "dev", "app": "x"}))], [])

    def listed(**kw: object) -> list[str]:
        return ids(store.list_decisions(DecisionQuery(limit=100, **kw)))  # type: ignore[arg-type]

    assert listed(filters={"team": "legal"}) == ["x1", "d9", "d8"]
    assert listed(filters={"team": "finance", "agent": "auditor"}) == ["d6", "d4", "d2", "d0"]
    assert listed(filters={"task_type": "review"}) == ["x1"]
    assert listed(filters={"user": "bo"}) == ["x1"]
    assert listed(filters={"model": "gpt-4o"}) == ["x1"]
    assert listed(labels={"env": "dev"}) == ["x1"]
    assert listed(labels={"env": "dev", "app": "y"}) == []
    assert listed(labels={"env": "prod"}) == []  # made() leaves the labels empty
    assert listed(agents=("reconciler",), filters={"team": "finance"}) == ["d7", "d5", "d3",
                                                                           "d1"]
    assert listed(start_us=1400, end_us=1800) == ["d7", "d6", "d5", "d4", "d3"]
    assert listed(start_us=1800) == ["x1", "d9", "d8"]
    assert listed(end_us=1100) == ["d0"]
    assert listed(filters={"team": "nobody"}) == []


def test_the_usage_is_joined_count_sum_and_the_latest_outcome(store: SqlStore):
    fill(store)
    first = usage("u1", did="d2")
    failed = dataclasses.replace(usage("u2", did="d2"), recorded_us=3_000,
                                 outcome=Outcome.FAILURE)
    other_team = dataclasses.replace(usage("u3", did="d2"), recorded_us=4_000,
                                     outcome=Outcome.RETRY,
                                     attribution=Attribution(team="legal"))
    store.write_batch([], [first, failed, other_team, usage("u4", did="d5")])
    rows = {r.decision_id: r for r in store.list_decisions(DecisionQuery(limit=100))}
    assert len(rows) == 10  # one row per decision, however many usages it has
    d2 = rows["d2"]
    assert d2.usage_count == 3 and d2.outcome is Outcome.RETRY
    assert d2.actual_cost == 3 * first.cost.total
    assert (rows["d5"].usage_count, rows["d5"].outcome) == (1, Outcome.SUCCESS)
    # a team's caller: only its team's usage counts
    mine = {r.decision_id: r for r in store.list_decisions(
        DecisionQuery(limit=100, usage_team="finance"))}
    assert (mine["d2"].usage_count, mine["d2"].outcome) == (2, Outcome.FAILURE)
    assert mine["d2"].actual_cost == 2 * first.cost.total
    # a page of two still holds two decisions, not two joined rows
    assert ids(store.list_decisions(DecisionQuery(limit=2, after=(1300, "d3")))) == ["d2", "d1"]


def test_the_page_is_read_along_an_index_in_its_order(store: SqlStore):
    """No sort of the decisions: the index ends in decision_id, so the scan yields the order
    asked and stops at the LIMIT; the cursor bounds it. (PostgreSQL's planner prefers a sort
    of a table this small: told to avoid one, it must still find the index that needs none.)"""
    fill(store)
    for filters, index in (({"team": "finance"}, "ix_decisions_team_created"),
                           ({"agent": "auditor"}, "ix_decisions_agent_created"),
                           ({}, "ix_decisions_created")):
        reads_along(store, store._decision_page(
            DecisionQuery(filters=filters, after=(1400, "d5"), limit=3)), index,
            "Scan Backward using")


def test_migration_0010_adds_decision_id_to_the_time_indexes(store: SqlStore):
    columns = {ix["name"]: ix["column_names"]
               for ix in sa.inspect(store.engine).get_indexes("decisions")}
    assert columns["ix_decisions_created"] == ["created_us", "decision_id"]
    assert columns["ix_decisions_team_created"] == ["team", "created_us", "decision_id"]
    assert columns["ix_decisions_agent_created"] == ["agent", "created_us", "decision_id"]


def test_upgrading_from_0009_keeps_the_decisions_and_lists_them(store_url: str):
    old = SqlStore(store_url, pool_size=2, sqlite_synchronous="NORMAL")
    try:
        old.migrate("0009")
        with written_as_today(old):
            fill(old)
        old.migrate()
        assert ids(old.list_decisions(DecisionQuery(filters={"team": "legal"}))) == ["d9", "d8"]
    finally:
        old.close()
