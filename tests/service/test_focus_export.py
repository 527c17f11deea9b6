"""ReportService.focus: the FOCUS charges of a range, a page at a time, scoped like QuerySpend,
and reconciled with it to the nano."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from router.auth import Principal, Role
from router.core.clock import ManualClock
from router.core.errors import InvalidRequest, PermissionDenied
from router.core.pricing import TokenCounts
from router.core.records import Attribution, UsageQuery
from router.core.requests import ToolInput, UsageInput
from router.core.spend import SpendQuery
from router.core.timeunits import DAY_US, HOUR_US
from router.service import Services, build_services
from router.settings import Settings

NOV = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp()) * 10**6
DEC = int(datetime(2026, 12, 1, tzinfo=UTC).timestamp()) * 10**6
MODELS = ("gpt-4o-mini", "gpt-4o", "claude-sonnet-4", "gemini-2.5-pro")
TEAMS = ("growth", "search", "support")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(DEC + 2 * HOUR_US)


@pytest.fixture
def svc(store, recorder, catalog, classifier, clock) -> Services:
    return build_services(Settings(decision_lookup_grace_ms=0), catalog, classifier, store,
                          recorder, clock)


def seed(svc: Services, n: int = 300, rng_seed: int = 5) -> None:
    """``n`` calls over November (and a few either side of it), of every kind of cost."""
    rng = random.Random(rng_seed)
    for i in range(n):
        team = TEAMS[i % 3]
        at = rng.randrange(NOV - DAY_US, DEC + HOUR_US)
        if i % 50 == 0:
            at = NOV + (i % 7)  # a tie in time, broken by usage_id across pages
        svc.usage.report(UsageInput(
            usage_id=f"u-{i:04d}", model=rng.choice(MODELS), occurred_us=at,
            attribution=Attribution(team=team, agent=f"agent-{i % 5}",
                                    user=f"user{i % 4}@{team}.example", labels={"i": str(i)}),
            tokens=TokenCounts(input=rng.randrange(0, 250_000), output=rng.randrange(0, 3000),
                               cached_input=rng.randrange(0, 5000) * (i % 2),
                               cache_write=rng.randrange(0, 5000) * (i % 3 == 0)),
            tool_calls=(ToolInput("web_search", rng.randrange(1, 4)),) if i % 4 == 0 else (),
            cpu_seconds=rng.random() * 30 if i % 5 == 0 else 0.0,
            memory_gb_seconds=rng.random() * 100 if i % 10 == 0 else 0.0,
            review_seconds=rng.randrange(0, 600) if i % 7 == 0 else 0.0))


def export(svc: Services, who: Principal | None = None, page: int = 37, **filters: str):
    """Every page of November's charges, and the pages' sizes in usages."""
    kwargs = {} if who is None else {"who": who}
    token, charges, sizes = "", [], []
    while True:
        got, token = svc.reports.focus(UsageQuery(NOV, DEC, filters, limit=page), token,
                                       **kwargs)
        charges += got
        sizes.append(len({c.usage_id for c in got}))
        if not token:
            return charges, sizes


def spend_total(svc: Services, who: Principal | None = None, **filters: str) -> int:
    kwargs = {} if who is None else {"who": who}
    _, total = svc.reports.spend(SpendQuery(NOV, DEC, filters=filters), **kwargs)
    return int(total["cost_total"])


def test_a_months_charges_sum_to_query_spends_total_to_the_nano(svc):
    seed(svc)
    charges, sizes = export(svc)
    _, total = svc.reports.spend(SpendQuery(NOV, DEC))
    assert sum(c.cost for c in charges) == int(total["cost_total"]) > 0
    for kind, measure in (("tokens", "cost_tokens"), ("tools", "cost_tools"),
                          ("compute", "cost_compute"), ("human_review", "cost_review")):
        assert sum(c.cost for c in charges if c.cost_kind == kind) == int(total[measure]) > 0
    # one tokens charge per call in the month, each usage once, in order across pages
    tokens = [c for c in charges if c.cost_kind == "tokens"]
    assert len(tokens) == int(total["calls"]) == len({c.usage_id for c in charges})
    order = [(c.occurred_us, c.usage_id) for c in tokens]
    assert order == sorted(order) and all(NOV <= at < DEC for at, _ in order)
    assert sizes[:-1] == [37] * (len(sizes) - 1) and 0 < sizes[-1] <= 37
    assert {(c.billing_start_us, c.billing_end_us) for c in charges} == {(NOV, DEC)}
    # per team as well
    for team in TEAMS:
        mine, _ = export(svc, team=team)
        assert sum(c.cost for c in mine) == spend_total(svc, team=team)


def test_a_teams_caller_gets_its_team_only_and_a_reader_of_all_no_users(svc):
    seed(svc, n=60)
    team_key = Principal(role=Role.TEAM, team="search", key_id="k1")
    mine, _ = export(svc, team_key)
    assert {c.attribution.team for c in mine} == {"search"}
    assert sum(c.cost for c in mine) == spend_total(svc, team_key)
    with pytest.raises(PermissionDenied):
        export(svc, team_key, team="growth")
    reader = Principal(role=Role.READER, key_id="k2")
    seen, _ = export(svc, reader)
    assert {c.attribution.team for c in seen} == set(TEAMS)
    assert {c.attribution.user for c in seen} == {""}
    with pytest.raises(PermissionDenied):
        export(svc, reader, user="user1@search.example")
    narrowed = Principal(role=Role.TEAM, team="growth", agents=frozenset({"agent-0"}), key_id="k3")
    assert {c.attribution.agent for c in export(svc, narrowed)[0]} == {"agent-0"}


@pytest.mark.parametrize(("query", "token", "field"), [
    (UsageQuery(DEC, NOV), "", "end_time"),
    (UsageQuery(NOV, DEC, limit=10_001), "", "page_size"),
    (UsageQuery(NOV, DEC, limit=-1), "", "page_size"),
    (UsageQuery(NOV, DEC), "not-a-token", "page_token"),
    (UsageQuery(NOV, DEC, {"model": "m" * 129}), "", "model"),
    (UsageQuery(NOV, DEC, {"agent": "a" * 129}), "", "filter.agent"),
])
def test_a_bad_export_request_names_its_field(svc, query, token, field):
    with pytest.raises(InvalidRequest) as exc:
        svc.reports.focus(query, token)
    assert field in [v.field for v in exc.value.violations]


def test_an_empty_range_is_one_empty_last_page(svc):
    assert svc.reports.focus(UsageQuery(NOV, DEC)) == ([], "")
