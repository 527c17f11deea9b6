"""Budgets over the API: management behind the admin token, the ladder in Route, statuses in
every answer, pauses, and holds that expire."""

from __future__ import annotations

import os
import time
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from router import v1 as pb
from router.core.clock import ManualClock
from router.v1 import router_pb2_grpc
from tests.api.test_e2e import EASY, HARD, bad_request_fields, rpc_error, usd
from tests.conftest import RunningServer, make_settings

TOKEN = "s3cret"
ADMIN = (("authorization", f"Bearer {TOKEN}"),)
UNIT = 10**9
FILE = '''schema_version = 1

[[budgets]]
id = "ops-daily-tokens"
scope = { team = "ops" }
limit_tokens = 100000
window = "day"
timezone = "Europe/London"
'''
# 2026-11-28 12:00 UTC (noon in London)
NOON = 1_795_867_200_000_000


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOON)


@pytest.fixture
def server(tmp_path: Path, clock: ManualClock):
    path = tmp_path / "budgets.toml"
    path.write_text(FILE)
    running = RunningServer(make_settings(tmp_path, budgets_path=str(path), admin_token=TOKEN,
                                          budget_tick_s=3600.0), clock)
    yield running
    running.stop()


@pytest.fixture
def stub(server: RunningServer):
    with grpc.insecure_channel(server.address) as ch:
        grpc.channel_ready_future(ch).result(timeout=10)
        yield router_pb2_grpc.RouterStub(ch)


def keys(agent: str = "bot", team: str = "eng") -> pb.Attribution:
    return pb.Attribution(team=team, agent=agent, task_id="t1", user="ana")


def details(err: grpc.RpcError, kind):
    status = rpc_status.from_call(err)
    out = []
    for d in status.details:
        if d.Is(kind.DESCRIPTOR):
            msg = kind()
            d.Unpack(msg)
            out.append(msg)
    return out


def set_budget(stub, **fields) -> pb.Budget:
    fields.setdefault("window", pb.BUDGET_WINDOW_DAY)
    return stub.SetBudget(pb.SetBudgetRequest(budget=pb.Budget(**fields)), metadata=ADMIN)


def route(stub, agent="bot", text=EASY, **kw) -> pb.RouteResponse:
    return stub.Route(pb.RouteRequest(task_description=text, attribution=keys(agent), **kw))


def report(stub, decision: pb.RouteResponse, uid: str, output: int = 200
           ) -> pb.ReportUsageResponse:
    return stub.ReportUsage(pb.ReportUsageRequest(
        usage_id=uid, decision_id=decision.decision_id,
        tokens=pb.TokenUsage(input=decision.predicted.input_tokens, output=output)))


def test_mutations_need_the_admin_token(stub):
    budget = pb.Budget(id="x", limit=usd(UNIT), window=pb.BUDGET_WINDOW_DAY)
    err = rpc_error(stub.SetBudget, pb.SetBudgetRequest(budget=budget))
    assert err.code() is grpc.StatusCode.UNAUTHENTICATED
    err = rpc_error(stub.SetBudget, pb.SetBudgetRequest(budget=budget),
                    metadata=(("authorization", "Bearer wrong"),))
    assert err.code() is grpc.StatusCode.UNAUTHENTICATED  # a credential, but no valid one
    for call, req in ((stub.DeleteBudget, pb.DeleteBudgetRequest(id="x")),
                      (stub.PauseScope, pb.PauseScopeRequest(scope=pb.BudgetScope(team="t"))),
                      (stub.ResumeScope, pb.ResumeScopeRequest(scope=pb.BudgetScope(team="t")))):
        assert rpc_error(call, req).code() is grpc.StatusCode.UNAUTHENTICATED
    assert stub.ListBudgets(pb.ListBudgetsRequest()).budgets  # reading needs no token


def test_budgets_are_managed_over_the_api_and_the_file_is_read_only(stub):
    made = set_budget(stub, id="eng-daily", scope=pb.BudgetScope(team="eng"), limit=usd(5 * UNIT),
                      time_zone="Europe/London", alert_at=0.8,
                      on_exhausted=pb.EXHAUSTED_ACTION_BLOCK)
    assert made.source == pb.BUDGET_SOURCE_API and made.limit.nanos == 5 * UNIT
    assert stub.GetBudget(pb.GetBudgetRequest(id="eng-daily")) == made
    listed = stub.ListBudgets(pb.ListBudgetsRequest()).budgets
    assert [(b.id, b.source) for b in listed] == [("eng-daily", pb.BUDGET_SOURCE_API),
                                                   ("ops-daily-tokens", pb.BUDGET_SOURCE_FILE)]
    err = rpc_error(set_budget, stub, id="ops-daily-tokens", limit=usd(UNIT))
    assert err.code() is grpc.StatusCode.FAILED_PRECONDITION
    err = rpc_error(stub.DeleteBudget, pb.DeleteBudgetRequest(id="ops-daily-tokens"),
                    metadata=ADMIN)
    assert err.code() is grpc.StatusCode.FAILED_PRECONDITION
    stub.DeleteBudget(pb.DeleteBudgetRequest(id="eng-daily"), metadata=ADMIN)
    err = rpc_error(stub.GetBudget, pb.GetBudgetRequest(id="eng-daily"))
    assert err.code() is grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(("budget", "field"), [
    (pb.Budget(id="Bad Id", limit=usd(UNIT), window=pb.BUDGET_WINDOW_DAY), "budget.id"),
    (pb.Budget(id="a", window=pb.BUDGET_WINDOW_DAY), "budget.limit"),
    (pb.Budget(id="a", limit=usd(UNIT)), "budget.window"),
    (pb.Budget(id="a", limit=usd(-5), window=pb.BUDGET_WINDOW_DAY), "budget.limit.nanos"),
    (pb.Budget(id="a", limit=pb.Money(currency_code="EUR", nanos=UNIT),
               window=pb.BUDGET_WINDOW_DAY), "budget.limit.currency_code"),
    (pb.Budget(id="a", limit=usd(UNIT), window=pb.BUDGET_WINDOW_DAY, time_zone="Mars/Olympus"),
     "budget.time_zone"),
    (pb.Budget(id="a", limit=usd(UNIT), window=pb.BUDGET_WINDOW_DAY, alert_at=0.9,
               downgrade_at=0.5), "budget.downgrade_at"),
    (pb.Budget(id="a", limit=usd(UNIT), window=pb.BUDGET_WINDOW_DAY, throttle_at=0.9),
     "budget.throttle_at"),
    (pb.Budget(id="a", limit=usd(UNIT), window=pb.BUDGET_WINDOW_DAY,
               scope=pb.BudgetScope(model="no-such-model")), "budget.scope.model"),
])
def test_a_bad_budget_is_invalid_argument_naming_the_field(stub, budget, field):
    err = rpc_error(stub.SetBudget, pb.SetBudgetRequest(budget=budget), metadata=ADMIN)
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(err) == [field]


def test_route_holds_and_report_settles_with_the_status_in_both_answers(stub):
    set_budget(stub, id="bot", scope=pb.BudgetScope(agent="bot"), limit=usd(UNIT))
    decision = route(stub)
    [held] = decision.budgets
    assert held.budget_id == "bot" and held.window_key == "2026-11-28"
    assert held.held.nanos == decision.predicted.cost.nanos and held.spent.nanos == 0
    assert held.remaining.nanos == UNIT - decision.predicted.cost.nanos
    assert held.state == pb.BUDGET_STATE_OK
    usage = report(stub, decision, "u1")
    [settled] = usage.budgets
    assert settled.held.nanos == 0 and settled.spent.nanos == usage.cost.total.nanos
    again = report(stub, decision, "u1")  # a replay settles nothing more
    assert again.replayed and again.budgets[0].spent.nanos == usage.cost.total.nanos
    status = stub.GetBudgetStatus(pb.GetBudgetStatusRequest(id="bot"))
    assert status.spent.nanos == usage.cost.total.nanos and status.held.nanos == 0
    assert status.window_end.ToMicroseconds() - status.window_start.ToMicroseconds() == \
        86_400 * 10**6


def test_an_exhausted_blocking_budget_refuses_with_quota_failure_and_retry_info(stub, clock):
    set_budget(stub, id="tiny", scope=pb.BudgetScope(agent="bot"), limit=pb.Money(nanos=1000))
    err = rpc_error(route, stub)
    assert err.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    [quota] = details(err, error_details_pb2.QuotaFailure)
    assert [v.subject for v in quota.violations] == ["budget:tiny"]
    [retry] = details(err, error_details_pb2.RetryInfo)
    assert retry.retry_delay.seconds == 12 * 3600  # midnight UTC (= London in November)
    assert route(stub, agent="other").model  # other agents are unaffected


def test_block_refuses_a_weaker_model_and_downgrade_accepts_it(stub):
    full = route(stub, text=HARD, quality_target=0.9)
    cheap = route(stub, text=HARD, quality_target=0.0)
    room = (full.predicted.cost.nanos + cheap.predicted.cost.nanos) // 2
    set_budget(stub, id="blocker", scope=pb.BudgetScope(agent="b1"), limit=pb.Money(nanos=room))
    err = rpc_error(route, stub, agent="b1", text=HARD, quality_target=0.9)
    assert err.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    set_budget(stub, id="downgrader", scope=pb.BudgetScope(agent="b2"),
               limit=pb.Money(nanos=room), on_exhausted=pb.EXHAUSTED_ACTION_DOWNGRADE)
    weaker = route(stub, agent="b2", text=HARD, quality_target=0.9)
    assert weaker.reason.code == pb.REASON_CODE_BEST_AFFORDABLE
    assert weaker.predicted.cost.nanos <= room < full.predicted.cost.nanos


def test_past_the_downgrade_threshold_the_quality_target_drops(stub):
    set_budget(stub, id="soft", scope=pb.BudgetScope(agent="bot"), limit=usd(UNIT),
               downgrade_at=0.0, downgrade_quality=0.3)
    decision = route(stub, quality_target=0.9)
    assert decision.quality_target == pytest.approx(0.3)
    assert decision.budgets[0].state == pb.BUDGET_STATE_DOWNGRADE


def test_past_the_throttle_threshold_calls_are_rate_limited(stub, clock):
    set_budget(stub, id="slow", scope=pb.BudgetScope(agent="bot"), limit=usd(UNIT),
               throttle_at=0.0, throttle_per_minute=12)  # bursts of 2, then one per 5 s
    route(stub)
    route(stub)
    err = rpc_error(route, stub)
    assert err.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    [retry] = details(err, error_details_pb2.RetryInfo)
    assert 0 < retry.retry_delay.ToMilliseconds() <= 5000
    clock.advance(seconds=5)
    assert route(stub).model


def test_a_token_budget_from_the_file_counts_tokens(stub):
    decision = stub.Route(pb.RouteRequest(task_description=EASY,
                                          attribution=pb.Attribution(team="ops")))
    [status] = decision.budgets
    assert status.budget_id == "ops-daily-tokens" and not status.HasField("limit")
    assert status.tokens_held == decision.predicted.input_tokens + \
        decision.predicted.output_tokens


def test_a_paused_scope_is_refused_until_resumed(stub):
    paused = stub.PauseScope(pb.PauseScopeRequest(scope=pb.BudgetScope(agent="bot"),
                                                  reason="runaway loop"), metadata=ADMIN)
    assert paused.paused.reason == "runaway loop"
    err = rpc_error(route, stub)
    assert err.code() is grpc.StatusCode.FAILED_PRECONDITION and "runaway loop" in err.details()
    assert route(stub, agent="other").model
    assert [p.scope.agent for p in stub.ListBudgets(pb.ListBudgetsRequest()).paused] == ["bot"]
    assert stub.ResumeScope(pb.ResumeScopeRequest(scope=pb.BudgetScope(agent="bot")),
                            metadata=ADMIN).was_paused
    assert route(stub).model


def test_a_route_never_reported_keeps_its_room_until_abandoned(stub, server, clock):
    set_budget(stub, id="bot", scope=pb.BudgetScope(agent="bot"), limit=usd(UNIT),
               hold_ttl_seconds=30)
    decision = route(stub)  # the client disappears without reporting
    assert decision.budgets[0].held.nanos > 0
    clock.advance(seconds=30)  # past the budget's TTL: the room stays taken
    assert server.app.services.budgets.tick() == 0
    assert stub.GetBudgetStatus(pb.GetBudgetStatusRequest(id="bot")).held.nanos > 0
    clock.advance(seconds=server.app.settings.hold_abandon_s - 31)
    assert server.app.services.budgets.tick() == 0
    clock.advance(seconds=1)  # abandoned: released
    assert server.app.services.budgets.tick() == 1
    status = stub.GetBudgetStatus(pb.GetBudgetStatusRequest(id="bot"))
    assert status.held.nanos == 0 and status.spent.nanos == 0
    late = report(stub, decision, "late")  # a report after expiry is still charged, once
    assert late.budgets[0].spent.nanos == late.cost.total.nanos and late.budgets[0].held.nanos == 0


def _local_us(text: str) -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Europe/London"))
               .timestamp() * 10**6)


def _usage_at(stub, clock, when: str, uid: str, agent: str = "bot") -> pb.ReportUsageResponse:
    clock.set(_local_us(when))
    return stub.ReportUsage(pb.ReportUsageRequest(
        usage_id=uid, model="gpt-4o-mini", attribution=keys(agent),
        tokens=pb.TokenUsage(input=1000, output=1000)))


def test_spend_either_side_of_local_midnight_lands_in_different_days(stub, clock):
    set_budget(stub, id="daily", scope=pb.BudgetScope(agent="bot"), limit=usd(UNIT),
               time_zone="Europe/London")
    late = _usage_at(stub, clock, "2026-07-01T23:59:59", "late")
    early = _usage_at(stub, clock, "2026-07-02T00:00:00", "early")
    assert [b.window_key for b in late.budgets] == ["2026-07-01"]
    assert [b.window_key for b in early.budgets] == ["2026-07-02"]
    assert early.budgets[0].spent.nanos == early.cost.total.nanos  # the new day starts empty
    for when, usage in (("2026-07-01T12:00", late), ("2026-07-02T12:00", early)):
        status = stub.GetBudgetStatus(pb.GetBudgetStatusRequest(
            id="daily", at=Timestamp(
                seconds=_local_us(when) // 10**6)))
        assert status.spent.nanos == usage.cost.total.nanos


def test_a_month_is_a_calendar_month_and_a_limit_change_keeps_the_spend(stub, clock):
    set_budget(stub, id="monthly", scope=pb.BudgetScope(agent="m"), limit=usd(UNIT),
               window=pb.BUDGET_WINDOW_MONTH, time_zone="Europe/London")
    jan = _usage_at(stub, clock, "2027-01-31T23:30:00", "jan", agent="m")
    feb = _usage_at(stub, clock, "2027-02-01T00:30:00", "feb", agent="m")
    assert (jan.budgets[0].window_key, feb.budgets[0].window_key) == ("2027-01", "2027-02")
    start, end = feb.budgets[0].window_start.ToSeconds(), feb.budgets[0].window_end.ToSeconds()
    assert end - start == 28 * 86_400
    set_budget(stub, id="monthly", scope=pb.BudgetScope(agent="m"), limit=usd(2 * UNIT),
               window=pb.BUDGET_WINDOW_MONTH, time_zone="Europe/London")  # the "reset"
    status = stub.GetBudgetStatus(pb.GetBudgetStatusRequest(id="monthly"))
    assert status.limit.nanos == 2 * UNIT and status.spent.nanos == feb.cost.total.nanos


def test_the_budgets_file_reloads_without_restart_and_a_bad_edit_keeps_the_old_rules(
        stub, server, tmp_path):
    path = tmp_path / "budgets.toml"
    path.write_text(FILE.replace("limit_tokens = 100000", "limit_tokens = 5"))
    os.utime(path, (time.time() + 5, time.time() + 5))  # a new mtime, whatever the fs's grain
    server.app.services.budgets.tick()
    assert stub.GetBudget(pb.GetBudgetRequest(id="ops-daily-tokens")).limit_tokens == 5
    path.write_text(FILE + 'colour = "red"\n')
    os.utime(path, (time.time() + 10, time.time() + 10))
    server.app.services.budgets.tick()  # logged, not applied
    assert stub.GetBudget(pb.GetBudgetRequest(id="ops-daily-tokens")).limit_tokens == 5


def test_a_bad_budgets_file_fails_start_up_naming_the_line(tmp_path):
    from router.core.budgets import BudgetError
    from router.server import build_app
    path = tmp_path / "budgets.toml"
    path.write_text(FILE.replace('window = "day"', 'window = "fortnight"'))
    with pytest.raises(BudgetError, match=r"budgets.toml:7: .*window must be one of"):
        build_app(make_settings(tmp_path, budgets_path=str(path)))


def test_the_budgets_cli_checks_files_and_drives_the_api(stub, server, tmp_path, capsys,
                                                         monkeypatch):
    from router.cli import main
    assert main(["budgets", "check", str(tmp_path / "budgets.toml")]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text(FILE.replace("limit_tokens = 100000", "limit_tokens = -1"))
    assert main(["budgets", "check", str(bad)]) == 2
    assert "bad.toml:6:" in capsys.readouterr().err
    address = ["--address", server.address]
    assert main(["budgets", "pause", *address, "--agent", "bot"]) == 1  # no token
    assert "UNAUTHENTICATED" in capsys.readouterr().err
    monkeypatch.setenv("ROUTER_ADMIN_TOKEN", TOKEN)
    assert main(["budgets", "pause", *address, "--agent", "bot", "--token", TOKEN,
                 "--reason", "loop"]) == 0
    assert rpc_error(route, stub).code() is grpc.StatusCode.FAILED_PRECONDITION
    assert main(["budgets", "list", *address]) == 0
    out = capsys.readouterr().out
    assert "ops-daily-tokens" in out and "agent" in out and "loop" in out
    assert main(["budgets", "resume", *address, "--agent", "bot", "--token", TOKEN]) == 0
    assert route(stub).model
    assert main(["budgets", "status", *address, "ops-daily-tokens"]) == 0
    assert "tokens 100,000" in capsys.readouterr().out
    assert main(["budgets", "status", *address, "nope"]) == 1


def test_the_fast_status_conversion_matches_the_plain_one():
    from router.api.convert import _add_statuses, budget_status
    from router.core.budgets import BudgetStatus, Totals, rule_from_mapping, window_of
    for raw in ({"limit": "2.5", "window": "day", "timezone": "Europe/London",
                 "downgrade_at": 0.1, "downgrade_quality": 0.2},
                {"limit_tokens": 500, "window": "total"}):
        rule = rule_from_mapping({"id": "x", **raw})
        s = BudgetStatus(rule, window_of(rule, NOON + 123_456), Totals(10**9, 7, 40, 3))
        resp = pb.RouteResponse()
        _add_statuses(resp.budgets, (s,), "USD")
        assert resp.budgets[0] == budget_status(s, "USD")


def test_a_late_report_lands_in_the_window_of_its_call(stub, clock):
    set_budget(stub, id="daily", scope=pb.BudgetScope(agent="bot"), limit=usd(UNIT))
    yesterday = Timestamp(seconds=NOON // 10**6 - 86_400)
    late = stub.ReportUsage(pb.ReportUsageRequest(
        usage_id="late", model="gpt-4o-mini", attribution=keys(),
        tokens=pb.TokenUsage(input=1000, output=1000), occurred_at=yesterday))
    assert late.recorded_at == yesterday and late.budgets[0].window_key == "2026-11-27"
    assert stub.GetBudgetStatus(pb.GetBudgetStatusRequest(id="daily")).spent.nanos == 0
    too_old = Timestamp(seconds=NOON // 10**6 - 40 * 86_400)
    err = rpc_error(stub.ReportUsage, pb.ReportUsageRequest(
        usage_id="old", model="gpt-4o-mini", attribution=keys(), occurred_at=too_old))
    assert bad_request_fields(err) == ["occurred_at"]
