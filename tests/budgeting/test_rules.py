"""BudgetBook: the file's rules and the API's merged (the file wins), replicas sharing a store,
pauses, and a budgets file edited while the service runs."""

from __future__ import annotations

import json
import logging
import os
import threading

import pytest
import structlog

from router.budgeting import BudgetBook, Pause, rules
from router.core.budgets import BudgetError, Scope, rule_from_mapping, rule_to_mapping
from router.core.errors import NotFound, PreconditionFailed
from router.core.records import Attribution
from router.store.sql import SqlStore

NOW = 1_767_225_600_000_000
KEYS = Attribution(team="growth", agent="mailer", user="ana")
FILE = """\
schema_version = 1

[[budgets]]
id = "growth-monthly"
scope = { team = "growth" }
limit = "100"
window = "month"

[[budgets]]
id = "mailer-daily"
scope = { agent = "mailer" }
limit_tokens = 100000
window = "day"
"""


@pytest.fixture
def budgets_file(tmp_path):
    path = tmp_path / "budgets.toml"
    path.write_text(FILE)
    return path


def rule(budget_id: str, limit: str = "10", **raw):
    return rule_from_mapping({"id": budget_id, "limit": limit, "window": "day", **raw})


def store_rule(store: SqlStore, r) -> None:
    """A rule written by some other replica's BudgetBook, straight into the store."""
    store.put_budget_rule(r.id, json.dumps(rule_to_mapping(r)), NOW)


def test_file_and_api_rules_merge_and_the_file_wins(store, budgets_file):
    store_rule(store, rule("growth-monthly", "1", scope={"team": "growth"}))  # shadowed
    store_rule(store, rule("zeta-api"))
    store_rule(store, rule("alpha-api"))
    book = BudgetBook(store, str(budgets_file))
    assert [r.id for r in book.rules] == ["growth-monthly", "mailer-daily", "alpha-api",
                                          "zeta-api"]
    assert book.get("growth-monthly").limit == 100 * 10**9  # the file's, not the store's
    assert book.file_ids == {"growth-monthly", "mailer-daily"}
    assert book.is_from_file("growth-monthly") and not book.is_from_file("alpha-api")
    assert book.active


def test_a_file_rule_cannot_be_put_or_deleted_over_the_api(store, budgets_file):
    book = BudgetBook(store, str(budgets_file))
    with pytest.raises(PreconditionFailed, match="budgets file"):
        book.put(rule("mailer-daily"), NOW)
    with pytest.raises(PreconditionFailed, match="budgets file"):
        book.delete("mailer-daily")
    assert store.load_budget_rules() == []


def test_put_get_and_delete_an_api_rule(store):
    book = BudgetBook(store)
    assert not book.active and book.rules == ()
    book.put(rule("growth", scope={"team": "growth"}), NOW)
    assert book.get("growth").scope == Scope(team="growth") and book.active
    book.put(rule("growth", "20", scope={"team": "growth"}), NOW)  # replaced
    assert [r.limit for r in book.rules] == [20 * 10**9]
    assert [budget_id for budget_id, _ in store.load_budget_rules()] == ["growth"]
    book.delete("growth")
    with pytest.raises(NotFound):
        book.get("growth")
    with pytest.raises(NotFound):
        book.delete("growth")


def test_refresh_picks_up_another_replicas_changes(store):
    mine, theirs = BudgetBook(store), BudgetBook(store)
    theirs.put(rule("growth"), NOW)
    theirs.pause(Scope(agent="mailer"), "loop", NOW)
    assert mine.rules == () and mine.pauses() == []
    mine.refresh()
    assert [r.id for r in mine.rules] == ["growth"]
    assert mine.pauses() == [Pause(Scope(agent="mailer"), "loop", NOW)]
    theirs.delete("growth")
    assert theirs.resume(Scope(agent="mailer"))
    mine.refresh()
    assert mine.rules == () and mine.pauses() == [] and not mine.active


class SlowReads:
    """A store whose refresh reads pause between reading and returning, so that a change made
    meanwhile by this replica races the refresh's swap."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self.reading, self.changed = threading.Event(), threading.Event()
        self.armed = False

    def __getattr__(self, name: str):
        return getattr(self._store, name)

    def load_pauses(self):
        rows = self._store.load_pauses()
        if self.armed:
            self.reading.set()
            self.changed.wait(0.3)  # a fixed book makes the change wait for the refresh instead
        return rows


CHANGES = {
    "resume": (lambda b: b.pause(Scope(agent="mailer"), "loop", NOW),
               lambda b: b.resume(Scope(agent="mailer")), lambda b: b.pauses() == []),
    "pause": (lambda b: None, lambda b: b.pause(Scope(agent="mailer"), "loop", NOW),
              lambda b: len(b.pauses()) == 1),
    "put": (lambda b: None, lambda b: b.put(rule("growth"), NOW),
            lambda b: [r.id for r in b.rules] == ["growth"]),
    "delete": (lambda b: b.put(rule("growth"), NOW), lambda b: b.delete("growth"),
               lambda b: b.rules == ()),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_refresh_under_way_does_not_undo_this_replicas_change(store, change):
    """The periodic refresh (the tick's thread) read the store just before an RPC changed a
    budget or pause: its swap must not bring back what was resumed or deleted, nor drop what
    was paused or put (the tenancy matrix saw a resumed pause come back for a refresh)."""
    before, act, holds = CHANGES[change]
    slow = SlowReads(store)
    book = BudgetBook(slow)
    before(book)
    slow.armed = True
    refresher = threading.Thread(target=book.refresh)
    refresher.start()
    assert slow.reading.wait(5)
    act(book)
    slow.changed.set()
    refresher.join(5)
    assert holds(book)
    book.refresh()
    assert holds(book)  # and what the store holds agrees


def test_a_bad_stored_rule_is_skipped_not_fatal(store):
    store.put_budget_rule("broken", json.dumps({"id": "broken", "window": "fortnight"}), NOW)
    store_rule(store, rule("fine"))
    assert [r.id for r in BudgetBook(store).rules] == ["fine"]


def test_pause_and_resume(store):
    book = BudgetBook(store)
    pause = book.pause(Scope(team="growth"), "over budget", NOW)
    assert pause == Pause(Scope(team="growth"), "over budget", NOW)
    assert book.pauses() == [pause] and book.active
    assert book.resume(Scope(team="growth"))
    assert not book.resume(Scope(team="growth"))  # nothing left to resume
    assert book.pauses() == [] and not book.active
    assert store.load_pauses() == []


def test_paused_returns_the_pause_that_matches_the_call(store):
    book = BudgetBook(store)
    pause = book.pause(Scope(team="growth", user="ana"), "", NOW)
    assert book.paused(KEYS) == (pause, frozenset())
    assert book.paused(Attribution(team="growth", user="bob")) == (None, frozenset())
    assert book.paused(Attribution(team="ops", user="ana")) == (None, frozenset())


def test_a_model_scoped_pause_returns_the_paused_models(store):
    book = BudgetBook(store)
    book.pause(Scope(model="gpt-4o"), "incident", NOW)
    book.pause(Scope(team="growth", model="claude-opus-4-5"), "", NOW)
    book.pause(Scope(team="ops", model="o3"), "", NOW)
    assert book.paused(KEYS) == (None, {"gpt-4o", "claude-opus-4-5"})
    assert book.paused(Attribution(team="ops")) == (None, {"gpt-4o", "o3"})


def test_reload_file_keeps_the_old_rules_on_a_bad_edit(store, budgets_file):
    book = BudgetBook(store, str(budgets_file))
    before = book.rules
    budgets_file.write_text(FILE.replace('window = "month"', 'window = "fortnight"'))
    os.utime(budgets_file, ns=(10**18, 10**18))  # a new mtime, whatever the clock's resolution
    assert book.reload_file() is False
    assert book.rules == before
    budgets_file.write_text(FILE.replace('limit = "100"', 'limit = "250"'))
    os.utime(budgets_file, ns=(2 * 10**18, 2 * 10**18))
    assert book.reload_file() is True
    assert book.get("growth-monthly").limit == 250 * 10**9
    assert book.reload_file() is False  # unchanged since: not re-read
    assert book.reload_file(force=True) is True


def test_reload_file_survives_the_file_disappearing(store, budgets_file):
    book = BudgetBook(store, str(budgets_file))
    before = book.rules
    budgets_file.unlink()
    assert book.reload_file(force=True) is False
    assert book.rules == before


def test_a_bad_budgets_file_fails_at_start(store, budgets_file):
    budgets_file.write_text(FILE + '\n[[budgets]]\nid = "growth-monthly"\nlimit = "1"\n'
                            'window = "day"\n')
    with pytest.raises(BudgetError, match="used twice"):
        BudgetBook(store, str(budgets_file))


def test_without_a_file_there_is_nothing_to_reload(store):
    assert BudgetBook(store).reload_file(force=True) is False


def test_loads_and_reloads_log_what_loaded_from_where(store, budgets_file, monkeypatch):
    with structlog.testing.capture_logs() as lines:
        # a fresh logger (the module's is cached with the suite's set-up), at info
        monkeypatch.setattr(rules, "log", structlog.wrap_logger(
            None, wrapper_class=structlog.make_filtering_bound_logger(logging.INFO)))
        book = BudgetBook(store, str(budgets_file))
        book.put(rule_from_mapping({"id": "api-one", "limit": "5", "window": "day"}), NOW)
        BudgetBook(store)  # another replica starting: the store's budgets
        budgets_file.write_text(FILE.replace('limit = "100"', 'limit = "250"'))
        assert book.reload_file(force=True) is True
        budgets_file.write_text("not toml [")
        assert book.reload_file(force=True) is False
    loaded = [(line["event"], line["source"], line["rules"], line["ids"]) for line in lines
              if line["event"] in ("budgets.loaded", "budgets.reloaded")]
    assert loaded == [
        ("budgets.loaded", str(budgets_file), 2, ["growth-monthly", "mailer-daily"]),
        ("budgets.loaded", "store", 1, ["api-one"]),
        ("budgets.reloaded", str(budgets_file), 2, ["growth-monthly", "mailer-daily"]),
    ]
    failed = [line for line in lines if line["event"] == "budgets.reload_failed"]
    assert len(failed) == 1 and failed[0]["log_level"] == "error"
