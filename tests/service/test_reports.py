"""ReportService: a decision with its usage, spend queries and savings, and their refusals."""

from __future__ import annotations

import pytest

from router.core.clock import ManualClock
from router.core.errors import InvalidRequest, PreconditionFailed, UnknownDecision
from router.core.pricing import TokenCounts, token_cost
from router.core.records import Attribution
from router.core.requests import RouteInput, UsageInput
from router.core.spend import SpendQuery
from router.core.timeunits import HOUR_US
from router.service import Services, build_services
from router.service.reports import INT64_MAX, representable
from router.settings import Settings

TASK = "Draft a polite reply declining the meeting invitation."
KEYS = Attribution(team="growth", agent="mailer")
MODEL = "gpt-4o-mini"
SETTINGS = Settings(decision_lookup_grace_ms=0)


@pytest.fixture
def svc(store, recorder, catalog, classifier, clock) -> Services:
    return build_services(SETTINGS, catalog, classifier, store, recorder, clock)


def fields(exc: InvalidRequest) -> list[str]:
    return [v.field for v in exc.violations]


def query(clock: ManualClock, **kwargs) -> SpendQuery:
    now = clock.now_us()
    return SpendQuery(**{"start_us": now - HOUR_US, "end_us": now + HOUR_US, **kwargs})


def test_a_decision_comes_with_its_usage_oldest_first_and_their_total(svc, clock):
    d = svc.routing.route(RouteInput(task_description=TASK, attribution=KEYS,
                                     allowed_models=(MODEL,))).decision
    late = svc.usage.report(UsageInput(usage_id="u1", decision_id=d.decision_id,
                                       tokens=TokenCounts(input=100, output=50))).usage
    early = svc.usage.report(UsageInput(usage_id="u2", decision_id=d.decision_id,
                                        tokens=TokenCounts(input=9000, output=10),
                                        occurred_us=clock.now_us() - 10_000_000)).usage
    svc.decisions.forget()  # read back from the store, not from memory
    decision, usages, total, _, _ = svc.reports.decision(d.decision_id)
    assert decision == d
    assert [u.usage_id for u in usages] == ["u2", "u1"]  # by time, not by id or arrival
    assert total == early.cost.total + late.cost.total
    assert total != late.cost.total != early.cost.total


def test_a_decision_without_usage_totals_zero(svc):
    d = svc.routing.route(RouteInput(task_description=TASK)).decision
    assert svc.reports.decision(d.decision_id)[1:4] == ([], 0, [])


def test_an_unknown_decision_is_not_found_and_a_bad_id_is_invalid(svc):
    with pytest.raises(UnknownDecision) as unknown:
        svc.reports.decision("d0000000000000000000000000")
    assert unknown.value.decision_id == "d0000000000000000000000000"
    with pytest.raises(InvalidRequest) as empty:
        svc.reports.decision("")
    assert fields(empty.value) == ["decision_id"]
    with pytest.raises(InvalidRequest) as bad:
        svc.reports.decision("d 1")
    assert fields(bad.value) == ["decision_id"]


def test_spend_groups_recorded_usage_and_totals_it(svc, clock):
    a = svc.usage.report(UsageInput(usage_id="u1", attribution=KEYS, model=MODEL,
                                    tokens=TokenCounts(input=1000))).usage
    b = svc.usage.report(UsageInput(usage_id="u2", attribution=Attribution(team="ops"),
                                    model=MODEL, tokens=TokenCounts(output=1000))).usage
    rows, summed = svc.reports.spend(query(clock, group_by=("team",)))
    by_team = {r.keys["team"]: r["cost_total"] for r in rows}
    assert by_team == {"growth": a.cost.total, "ops": b.cost.total}
    assert summed["cost_total"] == a.cost.total + b.cost.total and summed["calls"] == 2


NOW = ManualClock().now_us()


@pytest.mark.parametrize(("q", "field"), [
    (SpendQuery(NOW, NOW), "end_time"),
    (SpendQuery(NOW, NOW - HOUR_US), "end_time"),
    (SpendQuery(NOW, NOW + HOUR_US, group_by=("team", "colour")), "group_by"),
    (SpendQuery(NOW, NOW + HOUR_US, filters={"planet": "mars"}), "group_by"),
    (SpendQuery(NOW, NOW + HOUR_US, timezone="Mars/Olympus_Mons"), "time_zone"),
], ids=["empty-range", "backwards", "unknown-dimension", "unknown-filter", "bad-zone"])
def test_a_bad_spend_query_names_its_field(svc, q, field):
    with pytest.raises(InvalidRequest) as bad:
        svc.reports.spend(q)
    assert fields(bad.value) == [field]


def test_a_spend_query_reports_every_problem_at_once(svc, clock):
    now = clock.now_us()
    with pytest.raises(InvalidRequest) as bad:
        svc.reports.spend(SpendQuery(start_us=now, end_us=now - 1, group_by=("colour",),
                                     timezone="Nowhere/Nothing"))
    assert fields(bad.value) == ["end_time", "group_by", "time_zone"]


def test_savings_reprice_at_the_baseline_and_refuse_an_unknown_one(svc, catalog):
    tokens = TokenCounts(input=1000, output=1000)
    u = svc.usage.report(UsageInput(usage_id="u1", attribution=KEYS, model=MODEL,
                                    tokens=tokens)).usage
    report = svc.reports.savings(None, None, "")
    assert report.baseline == catalog.default_model == "gpt-4o"
    assert report.total.actual == u.cost.total
    assert report.total.counterfactual == token_cost(catalog.get("gpt-4o").prices, tokens)
    assert svc.reports.savings(None, None, "GPT-4O-2024-08-06").baseline == "gpt-4o"
    with pytest.raises(InvalidRequest) as bad:
        svc.reports.savings(None, None, "gpt-99")
    assert fields(bad.value) == ["baseline_model"]
    with pytest.raises(InvalidRequest) as backwards:
        svc.reports.savings(10, 10, "")
    assert fields(backwards.value) == ["end_time"]


def test_representable_refuses_totals_past_int64():
    assert representable(INT64_MAX, "total cost") == INT64_MAX == 2**63 - 1
    assert representable(0, "total cost") == 0
    with pytest.raises(PreconditionFailed, match="total cost"):
        representable(INT64_MAX + 1, "total cost")
    with pytest.raises(PreconditionFailed, match="actual cost"):
        representable(-(2**64), "actual cost")
