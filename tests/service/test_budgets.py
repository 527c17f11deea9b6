"""BudgetService: model scopes under catalog ids, status after spend, hold expiry on tick, and
budgets declared in the file that the API cannot change."""

from __future__ import annotations

import json

import pytest

from router.budgeting import BudgetBook, LocalLedger
from router.core.budgets import rule_from_mapping
from router.core.errors import InvalidRequest, NotFound, PreconditionFailed
from router.core.pricing import TokenCounts
from router.core.records import Attribution
from router.core.requests import RouteInput, UsageInput
from router.service import Services, build_services
from router.settings import Settings

TASK = "Draft a polite reply declining the meeting invitation."
KEYS = Attribution(team="growth", agent="mailer")
SETTINGS = Settings(decision_lookup_grace_ms=0, hold_abandon_s=1)  # the rules' TTLs govern
BUDGETS_FILE = """\
schema_version = 1

[[budgets]]
id = "growth-monthly"
scope = { team = "growth" }
limit = "100"
window = "month"
"""


@pytest.fixture
def ledger(store):
    return LocalLedger(store, abandon_s=SETTINGS.hold_abandon_s)


@pytest.fixture
def svc(store, recorder, catalog, classifier, clock, ledger) -> Services:
    return build_services(SETTINGS, catalog, classifier, store, recorder, clock, ledger=ledger)


def rule(**raw):
    return rule_from_mapping({"window": "day", "limit": "10", **raw})


@pytest.mark.parametrize("name", ["gpt-4o-2024-08-06", "GPT-4O", "Gpt-4o-2024-11-20"])
def test_a_model_scoped_budget_is_stored_under_the_catalog_id(svc, store, name):
    stored = svc.budgets.set(rule(id="premium", scope={"model": name}))
    assert stored.scope.model == "gpt-4o"
    assert svc.budgets.get("premium").scope.model == "gpt-4o"
    [(budget_id, spec)] = store.load_budget_rules()
    assert budget_id == "premium" and json.loads(spec)["scope"] == {"model": "gpt-4o"}


def test_a_budget_for_an_unknown_model_is_invalid(svc, store):
    with pytest.raises(InvalidRequest) as bad:
        svc.budgets.set(rule(id="premium", scope={"model": "gpt-99"}))
    assert [v.field for v in bad.value.violations] == ["budget.scope.model"]
    assert store.load_budget_rules() == []
    with pytest.raises(NotFound):
        svc.budgets.get("premium")


def test_status_reflects_the_spend_of_a_reported_usage(svc, clock):
    svc.budgets.set(rule(id="growth", scope={"team": "growth"}))
    assert svc.budgets.status("growth").totals.spent == 0
    d = svc.routing.route(RouteInput(task_description=TASK, attribution=KEYS)).decision
    held = svc.budgets.status("growth").totals
    assert held.held == d.predicted_cost and held.spent == 0
    usage = svc.usage.report(UsageInput(usage_id="u1", decision_id=d.decision_id,
                                        tokens=TokenCounts(input=1000, output=2000))).usage
    status = svc.budgets.status("growth")
    assert status.totals.spent == usage.cost.total > 0
    assert status.totals.held == 0  # settling the usage released the Route's hold
    assert status.totals.tokens_spent == 3000
    assert status.remaining == 10 * 10**9 - usage.cost.total
    # another team's usage is not charged here
    svc.usage.report(UsageInput(usage_id="u2", attribution=Attribution(team="ops"),
                                model="gpt-4o", tokens=TokenCounts(input=1000)))
    assert svc.budgets.status("growth").totals.spent == usage.cost.total


def test_tick_releases_expired_holds_and_counts_them(svc, clock, ledger):
    svc.budgets.set(rule(id="growth", scope={"team": "growth"}, hold_ttl_seconds=60))
    svc.budgets.set(rule(id="mailer", scope={"agent": "mailer"}, hold_ttl_seconds=600))
    svc.routing.route(RouteInput(task_description=TASK, attribution=KEYS))
    assert ledger.open_holds() == 2
    clock.advance(seconds=59)
    assert svc.budgets.tick() == 0
    clock.advance(seconds=1)  # the team budget's TTL has passed, the agent's not
    assert svc.budgets.tick() == 1
    assert ledger.open_holds() == 1
    assert svc.budgets.status("growth").totals.held == 0
    assert svc.budgets.status("mailer").totals.held > 0
    clock.advance(seconds=600)
    assert svc.budgets.tick() == 1
    assert svc.budgets.tick() == 0
    assert ledger.open_holds() == 0


def test_a_budget_declared_in_the_file_cannot_be_changed_over_the_api(
        tmp_path, store, recorder, catalog, classifier, clock):
    path = tmp_path / "budgets.toml"
    path.write_text(BUDGETS_FILE)
    book = BudgetBook(store, str(path))
    svc = build_services(SETTINGS, catalog, classifier, store, recorder, clock, budgets=book)
    assert svc.budgets.is_from_file("growth-monthly")
    with pytest.raises(PreconditionFailed, match="budgets file"):
        svc.budgets.set(rule(id="growth-monthly", scope={"team": "growth"}, limit="1"))
    with pytest.raises(PreconditionFailed, match="budgets file"):
        svc.budgets.delete("growth-monthly")
    assert svc.budgets.get("growth-monthly").limit == 100 * 10**9
    assert store.load_budget_rules() == []
    # an API budget beside it is fine, and can be deleted
    svc.budgets.set(rule(id="growth-daily", scope={"team": "growth"}))
    assert not svc.budgets.is_from_file("growth-daily")
    rules, pauses = svc.budgets.list()
    assert [r.id for r in rules] == ["growth-monthly", "growth-daily"] and pauses == []
    svc.budgets.delete("growth-daily")
    with pytest.raises(NotFound):
        svc.budgets.delete("growth-daily")
