"""Tenancy, table-driven: every RPC of the Router service under every kind of caller.

The callers: no key, a garbage credential, a revoked key, an expired key (on the injected
clock), another team's key (team-b, with the budgets permission), the team's key (team-a, with
and without the budgets permission), a reader of team-a, a reader of every team, an admin key,
the bootstrap admin token and, over mTLS, a client certificate mapped to a team-a key. Each
case targets team-a's data; the table says which callers succeed (everyone else is refused:
UNAUTHENTICATED without a valid credential, PERMISSION_DENIED outside the key's scope), and
checks what a successful read shows (only the caller's team's rows; no users' identifiers for
a reader of every team). A refused call must change nothing: decisions, usage and spend,
budget charges, budgets, pauses, keys.

The whole table runs on SQLite and PostgreSQL, each over plain text, TLS and mTLS (about 2 s
a combination on SQLite, 3-4 s on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message

from router import v1 as pb
from router.api.grpc import SERVICE
from tests.api.tenancy import (
    ALIAS,
    KEYED,
    LIMIT,
    TASK,
    UNAUTHENTICATED,
    USERS,
    VISIBLE,
    A,
    B,
    World,
    open_world,
    ts,
)
from tests.certs import Material

OK, DENIED = grpc.StatusCode.OK, grpc.StatusCode.PERMISSION_DENIED
EVERYONE = frozenset(KEYED)
SPENDERS_A = frozenset({"team_a", "team_a_plain", "admin", "bootstrap"})
SPENDERS = SPENDERS_A | {"team_b"}
BUDGETERS_A = frozenset({"team_a", "admin", "bootstrap"})
SEERS_A = EVERYONE - {"team_b"}
ADMINS = frozenset({"admin", "bootstrap"})
Check = Callable[[World, str, Any], None]


@dataclass(frozen=True)
class Case:
    rpc: str
    name: str
    request: Callable[[World], Message]  # may prepare what the call needs (as the admin)
    ok: frozenset[str]  # who succeeds; every other caller is refused
    check: Check | None = None  # of a successful call's response


def team_of(principal: str) -> str:
    """The team a caller's spend is attributed to when it leaves the team empty."""
    p = ALIAS.get(principal, principal)
    return A if p.startswith("team_a") else B if p == "team_b" else ""


# -- checks of what a successful call shows ----------------------------------------------------

def shown(p: str, teams: set[str]) -> bool:
    """Are ``teams`` exactly those ``p`` may see? (A caller of every team also sees the spend
    that the admins' cases recorded without a team.)"""
    return (teams - {""} if len(VISIBLE[p]) > 1 else teams) == VISIBLE[p]


def routed_as_a(w: World, p: str, r: pb.RouteResponse) -> None:
    assert w.decision_of(r.decision_id).attribution.team == A


def routed_as_own_team(w: World, p: str, r: pb.RouteResponse) -> None:
    assert w.decision_of(r.decision_id).attribution.team == team_of(p)


def reported_as_a(w: World, p: str, r: pb.ReportUsageResponse) -> None:
    assert r.decision_id == w.decisions[A]
    assert w.usage_team(r.usage_id) == A


def reported_as_own_team(w: World, p: str, r: pb.ReportUsageResponse) -> None:
    assert w.usage_team(r.usage_id) == team_of(p)


def scored_a(w: World, p: str, r: pb.ReportFeedbackResponse) -> None:
    assert r.decision_id == w.decisions[A] and not r.replayed
    assert w.feedback_team(r.feedback_id) == A


def models(w: World, p: str, r: pb.ListModelsResponse) -> None:
    assert r.models and r.currency_code == "USD"


def decision_a(w: World, p: str, r: pb.GetDecisionResponse) -> None:
    assert r.decision_id == w.decisions[A] and r.attribution.team == A
    # users' identifiers within the team's scope and to admins, not to a reader of every team
    assert r.attribution.user == ("" if p == "reader_all" else USERS[A])
    assert [u.usage_id for u in r.usages][:1] == [w.usage_ids[A]]


def decisions_listed(w: World, p: str, r: pb.ListDecisionsResponse) -> None:
    # each seeded decision the caller may see (and what the table's other cases routed), only
    # those, newest first, each with the usage reported against it
    assert shown(p, {d.attribution.team for d in r.decisions}), r.decisions
    listed = {d.decision_id: d for d in r.decisions}
    seeded = {t: listed.get(w.decisions[t]) for t in (A, B)}
    assert {t for t, d in seeded.items() if d is not None} == VISIBLE[p]
    for team in VISIBLE[p]:
        d = seeded[team]
        assert d is not None and d.usage_count >= 1 and d.actual_cost.nanos > 0
        assert d.attribution.user == ("" if p == "reader_all" else USERS[team])
    times = [(d.created_at.ToMicroseconds(), d.decision_id) for d in r.decisions]
    assert times == sorted(times, reverse=True)


def decisions_by_user(w: World, p: str, r: pb.ListDecisionsResponse) -> None:
    # team-a's user: her decision to those who see team-a, nothing to team-b's key
    assert [d.decision_id for d in r.decisions] == [w.decisions[A]] * (A in VISIBLE[p])
    assert {d.attribution.user for d in r.decisions} <= {USERS[A]}


def decisions_of_b(w: World, p: str, r: pb.ListDecisionsResponse) -> None:
    assert {d.attribution.team for d in r.decisions} == {B}
    assert w.decisions[B] in {d.decision_id for d in r.decisions}


def savings(w: World, p: str, r: pb.GetSavingsResponse) -> None:
    assert shown(p, {line.team for line in r.by_team}), r.by_team
    assert shown(p, {line.team for line in r.by_agent}), r.by_agent
    assert r.total.calls == sum(line.calls for line in r.by_team)


def budget_set_in_a(w: World, p: str, r: pb.Budget) -> None:
    assert r.id == "a-set" and r.scope.team == A


def budget_a(w: World, p: str, r: pb.Budget) -> None:
    assert r.id == "a-day" and r.scope.team == A


def budgets(w: World, p: str, r: pb.ListBudgetsResponse) -> None:
    # a budget over every team ("everyone") shows every team's spend: not to a team's callers
    every = {""} if len(VISIBLE[p]) > 1 else set()
    assert {b.scope.team for b in r.budgets} == VISIBLE[p] | every, [b.id for b in r.budgets]
    assert {s.scope.team for s in r.paused} == VISIBLE[p]


def status_a(w: World, p: str, r: pb.BudgetStatus) -> None:
    assert r.budget_id == "a-day" and r.limit.nanos == LIMIT.nanos
    assert r.forecast.budget_id == "a-day" and r.forecast.window_key == r.window_key


def forecast_a(w: World, p: str, r: pb.BudgetForecast) -> None:
    assert r.budget_id == "a-day" and r.window_key and r.HasField("as_of")
    assert r.method != pb.FORECAST_METHOD_UNSPECIFIED


def spend_by_team(w: World, p: str, r: pb.QuerySpendResponse) -> None:
    assert shown(p, {row.team for row in r.rows}), r.rows
    assert r.total.calls == sum(row.calls for row in r.rows)


def spend_by_user(w: World, p: str, r: pb.QuerySpendResponse) -> None:
    assert {row.user for row in r.rows} - {""} == {USERS[t] for t in VISIBLE[p]}


def spend_of_b(w: World, p: str, r: pb.QuerySpendResponse) -> None:
    assert {row.team for row in r.rows} == {B}


def focus_charges(w: World, p: str, r: pb.ListFocusChargesResponse) -> None:
    # the seeded usage of each team the caller may see, only theirs, users where visible
    assert shown(p, {c.attribution.team for c in r.charges}), r.charges
    listed = {c.usage_id for c in r.charges}
    assert {t for t in (A, B) if w.usage_ids[t] in listed} == VISIBLE[p]
    users = {c.attribution.user for c in r.charges} - {""}
    assert users == (set() if p == "reader_all" else {USERS[t] for t in VISIBLE[p]})
    assert r.focus_version == "1.2"


def focus_of_b(w: World, p: str, r: pb.ListFocusChargesResponse) -> None:
    assert {c.attribution.team for c in r.charges} == {B}


def anomalies(w: World, p: str, r: pb.ListAnomaliesResponse) -> None:
    assert {a.team for a in r.anomalies} == VISIBLE[p]
    assert len(r.anomalies) == 2 * len(VISIBLE[p])


def watched(w: World, p: str, r: list[pb.Anomaly]) -> None:
    assert [a.team for a in r] == [t for t in (A, B, A, B) if t in VISIBLE[p]]


def detected(w: World, p: str, r: pb.DetectAnomaliesResponse) -> None:
    assert all(a.id for a in r.anomalies)


def key_made(w: World, p: str, r: pb.CreateApiKeyResponse) -> None:
    assert r.secret.startswith(r.key.key_id + "_") and r.key.team == A


def keys_listed(w: World, p: str, r: pb.ListApiKeysResponse) -> None:
    assert {k.key_id for k in r.keys} >= {w.key_ids["team_a"], w.key_ids["team_b"]}


def key_revoked(w: World, p: str, r: pb.RevokeApiKeyResponse) -> None:
    assert r.was_active and r.key.HasField("revoke_time")


def audited(w: World, p: str, r: pb.ListAuditEventsResponse) -> None:
    assert {"key.create", "key.revoke", "budget.set", "scope.pause"} <= {
        e.action for e in r.events}


# -- requests (each targets team-a) -------------------------------------------------------------

def route_as_a(w: World) -> pb.RouteRequest:
    return pb.RouteRequest(request_id=w.fresh("route"), task_description=TASK,
                           attribution=pb.Attribution(team=A, agent="bot"))


def route_unattributed(w: World) -> pb.RouteRequest:
    return pb.RouteRequest(task_description=TASK, attribution=pb.Attribution(agent="bot"))


def report_against_a(w: World) -> pb.ReportUsageRequest:
    return pb.ReportUsageRequest(usage_id=w.fresh("use"), decision_id=w.decisions[A],
                                 tokens=pb.TokenUsage(input=100, output=20))


def report_unattributed(w: World) -> pb.ReportUsageRequest:
    return pb.ReportUsageRequest(usage_id=w.fresh("use"), model="gpt-4o-mini",
                                 attribution=pb.Attribution(agent="bot"),
                                 tokens=pb.TokenUsage(input=100, output=20))


def feedback_on_a(w: World) -> pb.ReportFeedbackRequest:
    return pb.ReportFeedbackRequest(feedback_id=w.fresh("fb"), decision_id=w.decisions[A],
                                    score=0.5, source="user")


def feedback_on_a_usage(w: World) -> pb.ReportFeedbackRequest:
    return pb.ReportFeedbackRequest(feedback_id=w.fresh("fb"), usage_id=w.usage_ids[A],
                                    score=0.25, source="evaluator:judge", comment="meh")


def disposable_budget(w: World) -> pb.DeleteBudgetRequest:
    budget_id = w.fresh("a-del")
    w.admin.SetBudget(pb.SetBudgetRequest(budget=pb.Budget(
        id=budget_id, scope=pb.BudgetScope(team=A, agent="bot"), limit=LIMIT,
        window=pb.BUDGET_WINDOW_DAY)))
    return pb.DeleteBudgetRequest(id=budget_id)


def disposable_key(w: World) -> pb.RevokeApiKeyRequest:
    made = w.admin.CreateApiKey(pb.CreateApiKeyRequest(key=pb.ApiKey(role=pb.ROLE_READER,
                                                                     team=A)))
    return pb.RevokeApiKeyRequest(key_id=made.key.key_id)


def spend(w: World, *group_by: int, team: str = "") -> pb.QuerySpendRequest:
    return pb.QuerySpendRequest(start_time=ts(w.now_s - 86_400), end_time=ts(w.now_s + 3600),
                                group_by=list(group_by), filter=pb.Attribution(team=team))


def focus(w: World, **keys: str) -> pb.ListFocusChargesRequest:
    return pb.ListFocusChargesRequest(start_time=ts(w.now_s - 86_400),
                                      end_time=ts(w.now_s + 3600),
                                      filter=pb.Attribution(**keys), page_size=10_000)


def decisions(w: World, **keys: str) -> pb.ListDecisionsRequest:
    return pb.ListDecisionsRequest(filter=pb.Attribution(**keys), page_size=500,
                                   start_time=ts(w.now_s - 86_400), end_time=ts(w.now_s + 3600))


PAUSE = pb.BudgetScope(team=A, agent="paused-bot")

CASES = [
    Case("Route", "as team-a", route_as_a, SPENDERS_A, routed_as_a),
    Case("Route", "team left empty (filled from the key)", route_unattributed, SPENDERS,
         routed_as_own_team),
    Case("ReportUsage", "against team-a's decision", report_against_a, SPENDERS_A,
         reported_as_a),
    Case("ReportUsage", "team left empty (filled from the key)", report_unattributed, SPENDERS,
         reported_as_own_team),
    Case("ReportFeedback", "on team-a's decision", feedback_on_a, SPENDERS_A, scored_a),
    Case("ReportFeedback", "on team-a's usage", feedback_on_a_usage, SPENDERS_A, scored_a),
    Case("ListModels", "", lambda w: pb.ListModelsRequest(), EVERYONE, models),
    Case("GetDecision", "team-a's decision",
         lambda w: pb.GetDecisionRequest(decision_id=w.decisions[A]), SEERS_A, decision_a),
    Case("ListDecisions", "", lambda w: decisions(w), EVERYONE, decisions_listed),
    Case("ListDecisions", "by user", lambda w: decisions(w, user=USERS[A]),
         EVERYONE - {"reader_all"}, decisions_by_user),
    Case("ListDecisions", "filtered to team-b", lambda w: decisions(w, team=B),
         EVERYONE - {"team_a", "team_a_plain", "reader_a"}, decisions_of_b),
    Case("GetSavings", "",
         lambda w: pb.GetSavingsRequest(start_time=ts(w.now_s - 86_400),
                                        end_time=ts(w.now_s + 3600)), EVERYONE, savings),
    Case("SetBudget", "in team-a",
         lambda w: pb.SetBudgetRequest(budget=pb.Budget(
             id="a-set", scope=pb.BudgetScope(team=A, agent="bot"), limit=LIMIT,
             window=pb.BUDGET_WINDOW_WEEK)), BUDGETERS_A, budget_set_in_a),
    Case("GetBudget", "team-a's", lambda w: pb.GetBudgetRequest(id="a-day"), SEERS_A,
         budget_a),
    Case("ListBudgets", "", lambda w: pb.ListBudgetsRequest(), EVERYONE, budgets),
    Case("DeleteBudget", "team-a's", disposable_budget, BUDGETERS_A),
    Case("GetBudgetStatus", "team-a's", lambda w: pb.GetBudgetStatusRequest(id="a-day"),
         SEERS_A, status_a),
    Case("ForecastBudget", "team-a's", lambda w: pb.ForecastBudgetRequest(budget_id="a-day"),
         SEERS_A, forecast_a),
    Case("PauseScope", "in team-a", lambda w: pb.PauseScopeRequest(scope=PAUSE, reason="t"),
         BUDGETERS_A),
    Case("ResumeScope", "in team-a", lambda w: pb.ResumeScopeRequest(scope=PAUSE),
         BUDGETERS_A),
    Case("QuerySpend", "by team", lambda w: spend(w, pb.SPEND_DIMENSION_TEAM), EVERYONE,
         spend_by_team),
    Case("QuerySpend", "by user", lambda w: spend(w, pb.SPEND_DIMENSION_USER),
         EVERYONE - {"reader_all"}, spend_by_user),
    Case("QuerySpend", "filtered to team-b", lambda w: spend(w, pb.SPEND_DIMENSION_TEAM, team=B),
         EVERYONE - {"team_a", "team_a_plain", "reader_a"}, spend_of_b),
    Case("ListFocusCharges", "", lambda w: focus(w), EVERYONE, focus_charges),
    Case("ListFocusCharges", "by user", lambda w: focus(w, user=USERS[A]),
         EVERYONE - {"reader_all"}),
    Case("ListFocusCharges", "filtered to team-b", lambda w: focus(w, team=B),
         EVERYONE - {"team_a", "team_a_plain", "reader_a"}, focus_of_b),
    Case("ListAnomalies", "", lambda w: pb.ListAnomaliesRequest(), EVERYONE, anomalies),
    Case("WatchAnomalies", "replay since a day",
         lambda w: pb.WatchAnomaliesRequest(since=ts(w.now_s - 86_400)), EVERYONE, watched),
    Case("DetectAnomalies", "", lambda w: pb.DetectAnomaliesRequest(), ADMINS, detected),
    Case("CreateApiKey", "a reader of team-a",
         lambda w: pb.CreateApiKeyRequest(key=pb.ApiKey(role=pb.ROLE_READER, team=A)), ADMINS,
         key_made),
    Case("ListApiKeys", "", lambda w: pb.ListApiKeysRequest(include_revoked=True), ADMINS,
         keys_listed),
    Case("RevokeApiKey", "a reader's key", disposable_key, ADMINS, key_revoked),
    Case("ListAuditEvents", "", lambda w: pb.ListAuditEventsRequest(), ADMINS, audited),
]


def test_the_table_covers_every_rpc_of_the_service():
    assert {c.rpc for c in CASES} == {m.name for m in SERVICE.methods}
    assert {m.name for m in SERVICE.methods} >= {"Route", "CreateApiKey", "WatchAnomalies"}


def expected(case: Case, principal: str) -> grpc.StatusCode:
    if principal in UNAUTHENTICATED:
        return grpc.StatusCode.UNAUTHENTICATED
    return OK if ALIAS.get(principal, principal) in case.ok else DENIED


def run_table(world: World) -> list[str]:
    """Every case under every caller; the mismatches, described."""
    failures = []
    for case in CASES:
        for principal in world.principals:
            request = case.request(world)
            before = world.state()
            want = expected(case, principal)
            items = len([t for t in (A, B, A, B) if t in VISIBLE.get(principal, ())])
            code, details, response = world.call(principal, case.rpc, request,
                                                 stream_items=items)
            where = f"{case.rpc} ({case.name or '-'}) as {principal}"
            if code is not want:
                failures.append(f"{where}: {code.name} ({details}), expected {want.name}")
                continue
            if code is not OK:
                after = world.state()
                if after != before:
                    failures.append(f"{where}: refused ({code.name}) but changed the state:"
                                    f" {before} -> {after}")
                continue
            if case.check is not None:
                try:
                    case.check(world, ALIAS.get(principal, principal), response)
                except AssertionError as exc:
                    failures.append(f"{where}: {exc!r}")
    return failures


MATRIX = [(s, t) for t in ("plain", "tls", "mtls") for s in ("sqlite", "postgresql")]


@pytest.mark.parametrize(("store", "transport"), MATRIX, ids=[f"{s}-{t}" for s, t in MATRIX])
def test_every_rpc_under_every_caller(request: pytest.FixtureRequest, tmp_path: Path,
                                      tls_material: Material, store: str, transport: str):
    url = (f"sqlite:///{tmp_path / 'store.db'}" if store == "sqlite"
           else request.getfixturevalue("pg_url"))
    with open_world(tmp_path, url, transport, tls_material) as world:
        failures = run_table(world)
    assert not failures, "\n".join(failures)


def test_a_team_keys_report_without_any_attribution_is_its_teams(tmp_path: Path):
    """As a Route's: the key names the team (and, for a key of one agent, the agent). Open
    servers' and admins' reports still need an attribution or a decision."""
    with open_world(tmp_path, f"sqlite:///{tmp_path / 'store.db'}") as world:
        narrowed = world.admin.CreateApiKey(pb.CreateApiKeyRequest(key=pb.ApiKey(
            role=pb.ROLE_TEAM, team=B, agents=["bot"])))
        world.secrets["narrowed"] = narrowed.secret
        for principal, team, agent in (("team_a", A, ""), ("narrowed", B, "bot")):
            code, details, _ = world.call(principal, "ReportUsage", pb.ReportUsageRequest(
                usage_id=f"bare-{principal}", model="gpt-4o-mini",
                tokens=pb.TokenUsage(input=10)))
            assert code is OK, details
            usage = world.server.app.store.get_usage(f"bare-{principal}")
            assert (usage.attribution.team, usage.attribution.agent) == (team, agent)
        code, _, _ = world.call("admin", "ReportUsage", pb.ReportUsageRequest(
            usage_id="bare-admin", model="gpt-4o-mini", tokens=pb.TokenUsage(input=10)))
        assert code is grpc.StatusCode.INVALID_ARGUMENT
