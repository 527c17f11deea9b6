"""Tenancy under attack, one test per attack, on SQLite and PostgreSQL: team-b's key (with the
budgets permission) against team-a's spend, decisions, budgets and identifiers, and callers
without a key against administration. Every refused call must leave the state as it was
(``World.state``) and say nothing of team-a's data."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf.message import Message

from router import v1 as pb
from router.client import stub
from router.core.anomalies import Anomaly, Kind
from router.service.notify import Detected
from tests.api.tenancy import LIMIT, TASK, TOKEN, USERS, A, B, World, open_world, ts
from tests.conftest import RunningServer, make_settings

DENIED, UNAUTH = grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED
ADMIN_RPCS = {
    "CreateApiKey": pb.CreateApiKeyRequest(key=pb.ApiKey(role=pb.ROLE_ADMIN)),
    "ListApiKeys": pb.ListApiKeysRequest(include_revoked=True),
    "RevokeApiKey": pb.RevokeApiKeyRequest(key_id="rk_0123456789ab"),
    "ListAuditEvents": pb.ListAuditEventsRequest(),
    "DetectAnomalies": pb.DetectAnomaliesRequest(),
}
BUDGET_MUTATIONS = {
    "SetBudget": pb.SetBudgetRequest(budget=pb.Budget(id="x", limit=LIMIT,
                                                      window=pb.BUDGET_WINDOW_DAY)),
    "DeleteBudget": pb.DeleteBudgetRequest(id="x"),
    "PauseScope": pb.PauseScopeRequest(scope=pb.BudgetScope(agent="bot")),
    "ResumeScope": pb.ResumeScopeRequest(scope=pb.BudgetScope(agent="bot")),
}
UNKNOWN_DECISION = "d0000000000000000000000000"  # well formed; never made


@pytest.fixture
def world(tmp_path: Path, store_url: str) -> Iterator[World]:
    with open_world(tmp_path, store_url) as w:
        yield w


def refused(w: World, principal: str, rpc: str, request: Message,
            code: grpc.StatusCode = DENIED) -> str:
    """``rpc`` as ``principal`` is refused with ``code`` and changes nothing; its details."""
    before = w.state()
    got, details, _ = w.call(principal, rpc, request)
    assert got is code, (rpc, principal, got, details)
    assert w.state() == before, f"refused {rpc} as {principal} changed the state"
    return details


def says_nothing_of_a(w: World, details: str) -> None:
    for secret in (w.decisions[A], w.usage_ids[A], A, USERS[A], "a-day"):
        assert secret not in details, (secret, details)


def spend_of(w: World, team: str) -> tuple[int, int]:
    """Calls and total cost recorded for ``team``, as the admin sees them."""
    r = w.admin.QuerySpend(pb.QuerySpendRequest(
        start_time=ts(w.now_s - 86_400), end_time=ts(w.now_s + 3600),
        filter=pb.Attribution(team=team)))
    return r.total.calls, r.total.cost.total.nanos


def spent_of(w: World, budget_id: str) -> tuple[int, int]:
    s = w.admin.GetBudgetStatus(pb.GetBudgetStatusRequest(id=budget_id))
    return s.spent.nanos, s.held.nanos


def test_spoofed_attribution_is_refused_and_records_nothing(world: World):
    spend_a, spend_b = spend_of(world, A), spend_of(world, B)
    as_a = pb.Attribution(team=A, agent="bot")
    refused(world, "team_b", "Route", pb.RouteRequest(task_description=TASK, attribution=as_a))
    refused(world, "team_b", "Route", pb.RouteRequest(request_id="spoof", task_description=TASK,
                                                      attribution=as_a))
    refused(world, "team_b", "ReportUsage", pb.ReportUsageRequest(
        usage_id="spoof", model="gpt-4o", attribution=as_a,
        tokens=pb.TokenUsage(input=10**6, output=10**6)))
    # a key narrowed to one agent spends only as that agent
    narrowed = world.admin.CreateApiKey(pb.CreateApiKeyRequest(key=pb.ApiKey(
        role=pb.ROLE_TEAM, team=B, agents=["bot"])))
    world.secrets["narrowed"] = narrowed.secret
    refused(world, "narrowed", "Route", pb.RouteRequest(
        task_description=TASK, attribution=pb.Attribution(team=B, agent="other")))
    refused(world, "narrowed", "ReportUsage", pb.ReportUsageRequest(
        usage_id="spoof-agent", model="gpt-4o", attribution=pb.Attribution(agent="other"),
        tokens=pb.TokenUsage(input=10)))
    assert world.usage_team("spoof") is None and world.usage_team("spoof-agent") is None
    assert (spend_of(world, A), spend_of(world, B)) == (spend_a, spend_b)
    # and its own agent's spend goes through, the agent filled from the key
    code, _, routed = world.call("narrowed", "Route", pb.RouteRequest(task_description=TASK))
    assert code is grpc.StatusCode.OK
    keys = world.decision_of(routed.decision_id).attribution
    assert (keys.team, keys.agent) == (B, "bot")


def test_reattribution_through_another_teams_decision_is_refused(world: World):
    budget_a, spend_a = spent_of(world, "a-day"), spend_of(world, A)
    # a decision of team-a's, with its token (as if it had leaked to team-b)
    code, _, routed = world.call("team_a", "Route", pb.RouteRequest(
        task_description=TASK, attribution=pb.Attribution(agent="bot")))
    assert code is grpc.StatusCode.OK
    budget_a = spent_of(world, "a-day")  # the Route's hold is taken: nothing more may move
    tokens = pb.TokenUsage(input=10**6, output=10**6)
    messages = set()
    for i, (attribution, token) in enumerate([
            (None, ""), (pb.Attribution(team=B), ""), (pb.Attribution(team=A), ""),
            (pb.Attribution(team=B, agent="bot"), routed.decision_token)]):
        request = pb.ReportUsageRequest(usage_id=f"steal-{i}", decision_id=routed.decision_id,
                                        decision_token=token, tokens=tokens)
        if attribution is not None:
            request.attribution.CopyFrom(attribution)
        messages.add(refused(world, "team_b", "ReportUsage", request))
        assert world.usage_team(f"steal-{i}") is None
    # the same refusal as for a decision that does not exist: nothing says the other does
    messages.add(refused(world, "team_b", "ReportUsage", pb.ReportUsageRequest(
        usage_id="steal-x", decision_id=UNKNOWN_DECISION, tokens=tokens)))
    assert len(messages) == 1, messages
    says_nothing_of_a(world, messages.pop())
    # nor may team-a move its own decision's spend to team-b
    refused(world, "team_a", "ReportUsage", pb.ReportUsageRequest(
        usage_id="move", decision_id=routed.decision_id, attribution=pb.Attribution(team=B),
        tokens=tokens))
    assert spent_of(world, "a-day") == budget_a
    assert spend_of(world, A) == spend_a


def test_replaying_another_teams_ids_reveals_nothing(world: World):
    usage_a = world.server.app.store.get_usage(world.usage_ids[A])
    spend_a, spend_b = spend_of(world, A), spend_of(world, B)
    # team-a's request_id: refused, without team-a's decision
    details = refused(world, "team_b", "Route", pb.RouteRequest(
        request_id=world.request_ids[A], task_description=TASK))
    says_nothing_of_a(world, details)
    # team-a's usage_id, as a report of team-b's own
    for request in (
            pb.ReportUsageRequest(usage_id=world.usage_ids[A], model="gpt-4o",
                                  tokens=pb.TokenUsage(input=10)),
            pb.ReportUsageRequest(usage_id=world.usage_ids[A], decision_id=world.decisions[B],
                                  tokens=pb.TokenUsage(input=1000, output=200))):
        says_nothing_of_a(world, refused(world, "team_b", "ReportUsage", request))
    # team-a's own report, replayed byte for byte by team-b
    says_nothing_of_a(world, refused(world, "team_b", "ReportUsage", pb.ReportUsageRequest(
        usage_id=world.usage_ids[A], decision_id=world.decisions[A],
        tokens=pb.TokenUsage(input=1000, output=200))))
    assert world.server.app.store.get_usage(world.usage_ids[A]) == usage_a
    assert (spend_of(world, A), spend_of(world, B)) == (spend_a, spend_b)
    # while team-a's own replay is answered as a replay
    code, _, replay = world.call("team_a", "ReportUsage", pb.ReportUsageRequest(
        usage_id=world.usage_ids[A], decision_id=world.decisions[A],
        tokens=pb.TokenUsage(input=1000, output=200)))
    assert code is grpc.StatusCode.OK and replay.replayed


def test_cross_team_reads_are_refused_or_filtered(world: World):
    window = {"start_time": ts(world.now_s - 86_400), "end_time": ts(world.now_s + 3600)}
    says_nothing_of_a(world, refused(world, "team_b", "QuerySpend", pb.QuerySpendRequest(
        **window, filter=pb.Attribution(team=A))))
    code, _, rows = world.call("team_b", "QuerySpend", pb.QuerySpendRequest(
        **window, group_by=[pb.SPEND_DIMENSION_TEAM, pb.SPEND_DIMENSION_USER]))
    assert code is grpc.StatusCode.OK
    assert {(r.team, r.user) for r in rows.rows} == {(B, USERS[B])}
    assert rows.total.calls == spend_of(world, B)[0]
    code, _, saved = world.call("team_b", "GetSavings", pb.GetSavingsRequest(**window))
    assert {line.team for line in saved.by_team} == {B}
    code, _, found = world.call("team_b", "ListAnomalies", pb.ListAnomaliesRequest())
    assert {a.team for a in found.anomalies} == {B}
    # another team's decision and budgets: the very refusal a nonexistent one gets
    for principal in ("team_b", "reader_a"):
        theirs = world.decisions[B if principal == "reader_a" else A]
        for rpc, existing, missing in [
                ("GetDecision", pb.GetDecisionRequest(decision_id=theirs),
                 pb.GetDecisionRequest(decision_id=UNKNOWN_DECISION)),
                ("GetBudget", pb.GetBudgetRequest(id="a-day"), pb.GetBudgetRequest(id="zz")),
                ("GetBudgetStatus", pb.GetBudgetStatusRequest(id="a-day"),
                 pb.GetBudgetStatusRequest(id="zz")),
                ("ForecastBudget", pb.ForecastBudgetRequest(budget_id="a-day"),
                 pb.ForecastBudgetRequest(budget_id="zz"))]:
            if principal == "reader_a" and rpc == "ForecastBudget":
                existing = pb.ForecastBudgetRequest(budget_id="b-day")
            elif principal == "reader_a" and rpc != "GetDecision":
                existing = type(existing)(id="b-day")
            other = refused(world, principal, rpc, existing)
            assert other == refused(world, principal, rpc, missing), (principal, rpc)
            says_nothing_of_a(world, other)
    # a reader of every team sees both teams, without users' identifiers
    refused(world, "reader_all", "QuerySpend", pb.QuerySpendRequest(
        **window, group_by=[pb.SPEND_DIMENSION_USER]))
    refused(world, "reader_all", "QuerySpend", pb.QuerySpendRequest(
        **window, filter=pb.Attribution(user=USERS[A])))
    code, _, decision = world.call("reader_all", "GetDecision",
                                   pb.GetDecisionRequest(decision_id=world.decisions[A]))
    assert decision.attribution.team == A and decision.attribution.user == ""


def test_budgets_of_another_team_cannot_be_changed_or_exhausted(world: World):
    a_day = world.admin.GetBudget(pb.GetBudgetRequest(id="a-day"))
    mine = pb.BudgetScope(team=B)
    # set, replace or delete team-a's budget; pause or resume team-a
    refused(world, "team_b", "SetBudget", pb.SetBudgetRequest(budget=pb.Budget(
        id="a-tiny", scope=pb.BudgetScope(team=A), limit=pb.Money(currency_code="USD", nanos=1),
        window=pb.BUDGET_WINDOW_DAY)))
    for scope in (mine, pb.BudgetScope()):  # team-a's id over team-b's scope (or none: b's)
        refused(world, "team_b", "SetBudget", pb.SetBudgetRequest(budget=pb.Budget(
            id="a-day", scope=scope, limit=pb.Money(currency_code="USD", nanos=1),
            window=pb.BUDGET_WINDOW_DAY)))
    deleted = refused(world, "team_b", "DeleteBudget", pb.DeleteBudgetRequest(id="a-day"))
    assert deleted == refused(world, "team_b", "DeleteBudget", pb.DeleteBudgetRequest(id="zz"))
    refused(world, "team_b", "PauseScope", pb.PauseScopeRequest(scope=pb.BudgetScope(team=A)))
    refused(world, "team_b", "ResumeScope", pb.ResumeScopeRequest(
        scope=pb.BudgetScope(team=A, agent="idle")))
    assert world.admin.GetBudget(pb.GetBudgetRequest(id="a-day")) == a_day
    # team-b's pause without a team is team-b's alone: team-a routes on
    code, _, paused = world.call("team_b", "PauseScope", pb.PauseScopeRequest(
        scope=pb.BudgetScope(), reason="mine"))
    assert code is grpc.StatusCode.OK and paused.paused.scope.team == B
    assert world.call("team_b", "Route", pb.RouteRequest(task_description=TASK))[0] is \
        grpc.StatusCode.FAILED_PRECONDITION
    assert world.call("team_a", "Route", pb.RouteRequest(task_description=TASK))[0] is \
        grpc.StatusCode.OK
    world.call("team_b", "ResumeScope", pb.ResumeScopeRequest(scope=pb.BudgetScope()))
    # team-a's tight budget: team-b's spend, however large, is never charged to it
    world.admin.SetBudget(pb.SetBudgetRequest(budget=pb.Budget(
        id="a-tight", scope=pb.BudgetScope(team=A),
        limit=pb.Money(currency_code="USD", nanos=10**7), window=pb.BUDGET_WINDOW_DAY)))
    for i in range(3):
        code, _, _ = world.call("team_b", "ReportUsage", pb.ReportUsageRequest(
            usage_id=f"big-{i}", model="gpt-4o", tokens=pb.TokenUsage(input=10**6, output=10**6)))
        assert code is grpc.StatusCode.OK
    assert spent_of(world, "a-tight") == (0, 0)
    assert world.call("team_a", "Route", pb.RouteRequest(task_description=TASK))[0] is \
        grpc.StatusCode.OK


def test_administration_needs_an_admin_key(world: World):
    for rpc, request in ADMIN_RPCS.items():
        for principal in ("none", "garbage", "revoked", "expired"):
            refused(world, principal, rpc, request, UNAUTH)
        for principal in ("team_a", "team_b", "reader_a", "reader_all"):
            assert "admin" in refused(world, principal, rpc, request)
    for rpc, request in BUDGET_MUTATIONS.items():
        refused(world, "none", rpc, request, UNAUTH)
        for principal in ("team_a_plain", "reader_a", "reader_all"):
            refused(world, principal, rpc, request)


@pytest.mark.parametrize("auth", ["auto", "off"])
def test_an_open_server_still_refuses_administration_without_a_key(tmp_path: Path, auth: str):
    """No key yet on loopback (auto), or ROUTER_AUTH=off: anyone may route and read, but
    administration without a key is UNAUTHENTICATED (and the admin token still works)."""
    running = RunningServer(make_settings(tmp_path, auth=auth, admin_token=TOKEN,
                                          anomaly_interval_s=0.0))
    try:
        with grpc.insecure_channel(running.address) as channel:
            router = stub(channel)
            assert router.Route(pb.RouteRequest(task_description=TASK), timeout=10).decision_id
            for rpc, request in {**ADMIN_RPCS, **BUDGET_MUTATIONS}.items():
                with pytest.raises(grpc.RpcError) as err:
                    getattr(router, rpc)(request, timeout=10)
                assert err.value.code() is UNAUTH, (rpc, err.value.details())
            assert router.ListApiKeys(pb.ListApiKeysRequest(), timeout=10,
                                      metadata=(("authorization", f"Bearer {TOKEN}"),))
    finally:
        running.stop()


def test_a_budget_over_every_team_shows_no_team_its_totals(world: World):
    """Its spend is every team's: Route and ReportUsage show a team's caller only its team's
    budgets (as ListBudgets does), though the budget over every team still applies."""
    code, _, _ = world.call("team_b", "ReportUsage", pb.ReportUsageRequest(
        usage_id="b-big", model="gpt-4o", tokens=pb.TokenUsage(input=10**6, output=10**5)))
    assert code is grpc.StatusCode.OK
    shown = {}
    for principal in ("team_a", "admin"):
        code, _, routed = world.call(principal, "Route", pb.RouteRequest(
            task_description=TASK, attribution=pb.Attribution(team=A, agent="bot")))
        assert code is grpc.StatusCode.OK
        code, _, reported = world.call(principal, "ReportUsage", pb.ReportUsageRequest(
            usage_id=f"shown-{principal}", decision_id=routed.decision_id,
            tokens=pb.TokenUsage(input=10)))
        assert code is grpc.StatusCode.OK
        shown[principal] = ({b.budget_id for b in routed.budgets},
                            {b.budget_id for b in reported.budgets})
    assert shown == {"team_a": ({"a-day"}, {"a-day"}),
                     "admin": ({"a-day", "everyone"}, {"a-day", "everyone"})}
    world.admin.SetBudget(pb.SetBudgetRequest(budget=pb.Budget(
        id="everyone", limit=pb.Money(currency_code="USD", nanos=10**6),
        window=pb.BUDGET_WINDOW_DAY)))
    assert world.call("team_a", "Route", pb.RouteRequest(task_description=TASK))[0] is \
        grpc.StatusCode.RESOURCE_EXHAUSTED


def test_a_live_watch_shows_only_the_teams_anomalies_and_ends_when_its_key_is_revoked(
        world: World):
    hub = world.server.app.services.anomalies.hub
    got: queue.Queue[object] = queue.Queue()
    stream = world.stub("team_b").WatchAnomalies(pb.WatchAnomaliesRequest(),
                                                 metadata=world.metadata("team_b"), timeout=30)

    def read() -> None:
        try:
            for item in stream:
                got.put(item)
        except grpc.RpcError as err:
            got.put(err.code())

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 10
    while not hub._subscribers:  # the stream is subscribed once its caller is authenticated
        assert time.monotonic() < deadline
        time.sleep(0.01)
    now = world.clock.now_us()

    def detected(team: str, agent: str) -> Detected:
        return Detected(Anomaly(Kind.SPEND_SPIKE, team, agent, "", now - 7_200_000_000,
                                now - 3_600_000_000, 1e10, 1e9, "live"), now)

    hub.publish([detected(A, "a-live"), detected(B, "b-live")])
    first = got.get(timeout=10)
    assert (first.team, first.agent) == (B, "b-live")
    world.admin.RevokeApiKey(pb.RevokeApiKeyRequest(key_id=world.key_ids["team_b"]))
    hub.publish([detected(B, "b-after")])  # checked again before it is sent: refused
    assert got.get(timeout=10) is UNAUTH
    assert got.empty()
