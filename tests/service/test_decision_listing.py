"""ReportService.decisions (ListDecisions): pages by the keyset token without duplicates or gaps
when decisions share a time, filters, refusals naming the field, and what each caller sees."""

from __future__ import annotations

import base64

import pytest

from router.auth.principal import Principal, Role
from router.core.errors import InvalidRequest, PermissionDenied
from router.core.pricing import TokenCounts
from router.core.records import Attribution, DecisionQuery, DecisionSummary, Outcome
from router.core.requests import RouteInput, UsageInput, Violations
from router.core.timeunits import SECOND_US
from router.service import Services, build_services
from router.service.reports import MAX_DECISIONS_PAGE, cursor, page_token
from router.settings import Settings

TASK = "Draft a polite reply declining the meeting invitation."
MODEL = "gpt-4o-mini"
SETTINGS = Settings(decision_lookup_grace_ms=0)
TEAM_KEY = Principal("k-team", Role.TEAM, team="growth")
NARROWED = Principal("k-mailer", Role.TEAM, team="growth", agents=frozenset({"mailer"}))
READER_ALL = Principal("k-reader", Role.READER)
READER_GROWTH = Principal("k-reader-growth", Role.READER, team="growth")


@pytest.fixture
def svc(store, recorder, catalog, classifier, clock) -> Services:
    return build_services(SETTINGS, catalog, classifier, store, recorder, clock)


@pytest.fixture
def routed(svc, recorder, clock) -> dict[str, str]:
    """Nine decisions, committed: six of growth (mailer and planner; three made at one instant)
    and three of ops, one with two usages, one with one. Name -> decision id."""
    made = {}
    plan = [("g0", "growth", "mailer", "ana"), ("g1", "growth", "planner", "bo"),
            ("o0", "ops", "pager", "cy"), ("g2", "growth", "mailer", "ana"),
            ("g3", "growth", "mailer", "bo"), ("g4", "growth", "planner", "ana"),
            ("o1", "ops", "pager", "cy"), ("g5", "growth", "mailer", "ana"),
            ("o2", "ops", "mailer", "di")]
    for i, (name, team, agent, user) in enumerate(plan):
        if i not in (4, 5):  # g3 and g4 are made at g2's instant
            clock.advance(seconds=1)
        made[name] = svc.routing.route(RouteInput(
            task_description=TASK, allowed_models=(MODEL,),
            attribution=Attribution(team=team, agent=agent, user=user,
                                    task_type="reply" if agent == "mailer" else "plan"))
        ).decision.decision_id
    svc.usage.report(UsageInput(usage_id="u1", decision_id=made["g2"],
                                tokens=TokenCounts(input=100, output=50), outcome=1))
    clock.advance(seconds=1)
    svc.usage.report(UsageInput(usage_id="u2", decision_id=made["g2"],
                                tokens=TokenCounts(input=100, output=50), outcome=2))
    svc.usage.report(UsageInput(usage_id="u3", decision_id=made["o1"],
                                tokens=TokenCounts(input=10, output=5), outcome=1))
    recorder.flush()
    return made


def names(made: dict[str, str], page: list[DecisionSummary]) -> list[str]:
    by_id = {v: k for k, v in made.items()}
    return [by_id[d.decision_id] for d in page]


def every(svc: Services, query: DecisionQuery, who: Principal, size: int) -> list[DecisionSummary]:
    """Every page of ``query`` of ``size``, token after token."""
    out: list[DecisionSummary] = []
    token = ""
    for _ in range(20):
        page, token = svc.reports.decisions(
            DecisionQuery(filters=query.filters, limit=size), token, who)
        assert len(page) <= size
        out += page
        if not token:
            return out
    raise AssertionError("no last page")


NEWEST_FIRST = ["o2", "g5", "o1", "g4", "g3", "g2", "o0", "g1", "g0"]


@pytest.mark.parametrize("size", [1, 2, 3, 4, 8, 9, 10])
def test_pages_cover_every_decision_once_newest_first(svc, routed, store, size):
    """g2, g3 and g4 were made at one instant (in the order of their random ids there): whichever
    page boundary falls among them, the token continues exactly after the last one shown."""
    got = names(routed, every(svc, DecisionQuery(), Principal("admin", Role.ADMIN), size))
    made = {n: store.get_decision(d) for n, d in routed.items()}
    assert len({made[n].created_us for n in ("g2", "g3", "g4")}) == 1
    assert got == sorted(routed, key=lambda n: (made[n].created_us, routed[n]), reverse=True)
    assert [n for n in got if n not in ("g2", "g3", "g4")] == [
        n for n in NEWEST_FIRST if n not in ("g2", "g3", "g4")]


def test_a_full_last_page_has_no_next_token_and_the_default_page_is_50(svc, routed):
    page, token = svc.reports.decisions(DecisionQuery(limit=9))
    assert len(page) == 9 and token == ""
    page, token = svc.reports.decisions(DecisionQuery(limit=0))
    assert len(page) == 9 and token == ""
    page, token = svc.reports.decisions(DecisionQuery(limit=8))
    assert len(page) == 8 and token == page_token((page[-1].created_us, page[-1].decision_id))


def test_each_decision_carries_its_usage_cost_and_latest_outcome(svc, routed, store):
    rows = {d.decision_id: d for d in svc.reports.decisions(DecisionQuery())[0]}
    g2 = rows[routed["g2"]]
    costs = [u.cost.total for u in store.usages_for_decision(routed["g2"])]
    assert (g2.usage_count, g2.actual_cost, g2.outcome) == (2, sum(costs), Outcome.FAILURE)
    assert rows[routed["o1"]].usage_count == 1
    assert rows[routed["o1"]].outcome is Outcome.SUCCESS
    g0 = rows[routed["g0"]]
    assert (g0.usage_count, g0.actual_cost, g0.outcome) == (0, 0, None)
    assert g0.model == MODEL and g0.complexity_label and g0.predicted_cost > 0


def test_filters_select_by_keys_model_and_time(svc, routed, clock):
    def listed(**kw) -> list[str]:
        return names(routed, svc.reports.decisions(DecisionQuery(**kw))[0])

    assert listed(filters={"team": "ops"}) == ["o2", "o1", "o0"]
    assert set(listed(filters={"team": "growth", "agent": "mailer"})) == {"g5", "g3", "g2",
                                                                          "g0"}
    assert set(listed(filters={"task_type": "plan"})) == {"g4", "g1", "o1", "o0"}
    assert set(listed(filters={"task_type": "plan", "team": "growth"})) == {"g4", "g1"}
    assert set(listed(filters={"user": "bo"})) == {"g3", "g1"}
    assert listed(filters={"model": "gpt-4o"}) == []
    assert len(listed(filters={"model": MODEL})) == 9
    o1 = svc.reports.decisions(DecisionQuery(filters={"team": "ops"}))[0][1]
    assert listed(start_us=o1.created_us) == ["o2", "g5", "o1"]
    assert listed(end_us=o1.created_us, filters={"team": "ops"}) == ["o0"]
    assert listed(start_us=clock.now_us() + SECOND_US) == []


def test_a_team_key_lists_its_team_and_is_refused_another(svc, routed):
    assert set(names(routed, svc.reports.decisions(DecisionQuery(), "", TEAM_KEY)[0])) == {
        "g0", "g1", "g2", "g3", "g4", "g5"}
    page = svc.reports.decisions(DecisionQuery(), "", READER_GROWTH)[0]
    assert {d.attribution.team for d in page} == {"growth"}
    assert {d.attribution.user for d in page} == {"ana", "bo"}  # within its team's scope
    with pytest.raises(PermissionDenied) as denied:
        svc.reports.decisions(DecisionQuery(filters={"team": "ops"}), "", TEAM_KEY)
    assert "filter.team" in str(denied.value)
    # the team's own name is a filter like any other
    assert len(svc.reports.decisions(DecisionQuery(filters={"team": "growth"}), "",
                                     TEAM_KEY)[0]) == 6


def test_a_team_caller_counts_only_its_teams_usage(svc, routed, store):
    """An admin's usage against growth's decision but attributed to ops: not growth's (as
    GetDecision leaves it out of a team's caller's answer)."""
    svc.usage.report(UsageInput(usage_id="u-ops", decision_id=routed["g0"],
                                attribution=Attribution(team="ops"),
                                tokens=TokenCounts(input=10)))
    assert {u.attribution.team for u in store.usages_for_decision(routed["g0"])} == {"ops"}
    mine = {d.decision_id: d for d in svc.reports.decisions(DecisionQuery(), "", TEAM_KEY)[0]}
    assert mine[routed["g0"]].usage_count == 0
    every_team = {d.decision_id: d for d in svc.reports.decisions(DecisionQuery())[0]}
    assert every_team[routed["g0"]].usage_count == 1


def test_a_key_narrowed_to_agents_lists_those_agents_only(svc, routed):
    page = svc.reports.decisions(DecisionQuery(), "", NARROWED)[0]
    assert set(names(routed, page)) == {"g5", "g3", "g2", "g0"}  # not o2: another team's
    assert len(svc.reports.decisions(DecisionQuery(filters={"agent": "mailer"}), "",
                                     NARROWED)[0]) == 4
    with pytest.raises(PermissionDenied) as denied:
        svc.reports.decisions(DecisionQuery(filters={"agent": "planner"}), "", NARROWED)
    assert "filter.agent" in str(denied.value)


def test_a_reader_of_every_team_sees_no_users_and_may_not_filter_by_one(svc, routed):
    page = svc.reports.decisions(DecisionQuery(), "", READER_ALL)[0]
    assert len(page) == 9 and {d.attribution.user for d in page} == {""}
    assert {d.attribution.team for d in page} == {"growth", "ops"}
    with pytest.raises(PermissionDenied) as denied:
        svc.reports.decisions(DecisionQuery(filters={"user": "ana"}), "", READER_ALL)
    assert "user" in str(denied.value)
    assert {d.attribution.user for d in svc.reports.decisions(DecisionQuery())[0]} == {
        "ana", "bo", "cy", "di"}


def fields(exc: InvalidRequest) -> list[str]:
    return [v.field for v in exc.violations]


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("token", [
    "junk!", "%%%", b64("no-dot"), b64("12.d 1"), b64("-5.d1"), b64("01.d1"),
    b64("12." + "d" * 41), b64("99999999999999999999.d1"), b64("12.d1") + "==", "x" * 101,
    base64.b64encode(b"12.d1?>").decode(), b64("12.") + "", "é"])
def test_a_malformed_page_token_is_invalid_naming_it(svc, token):
    with pytest.raises(InvalidRequest) as bad:
        svc.reports.decisions(DecisionQuery(), token)
    assert fields(bad.value) == ["page_token"]


def test_a_page_token_round_trips():
    at = (1_795_867_200_000_000, "d0198aa7f3c2e4a1b2c3d4e5f6")
    token = page_token(at)
    assert "=" not in token and "+" not in token and "/" not in token
    v = Violations()
    assert cursor(v, token) == at and not v.items


@pytest.mark.parametrize(("query", "field"), [
    (DecisionQuery(limit=-1), "page_size"),
    (DecisionQuery(limit=MAX_DECISIONS_PAGE + 1), "page_size"),
    (DecisionQuery(start_us=10, end_us=10), "end_time"),
    (DecisionQuery(filters={"agent": "a" * 129}), "filter.agent"),
    (DecisionQuery(filters={"task_type": " padded"}), "filter.task_type"),
    (DecisionQuery(filters={"model": "m" * 129}), "model"),
    (DecisionQuery(labels={"env": "a\0b"}), "filter.labels[env]"),
])
def test_a_bad_listing_names_its_field(svc, query, field):
    with pytest.raises(InvalidRequest) as bad:
        svc.reports.decisions(query)
    assert fields(bad.value) == [field]


def test_the_largest_page_is_allowed(svc, routed):
    assert len(svc.reports.decisions(DecisionQuery(limit=MAX_DECISIONS_PAGE))[0]) == 9
