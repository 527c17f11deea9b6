"""Budget forecasts over gRPC: ForecastBudget and BudgetStatus.forecast from the rollups, who may
see them, and the forecast alert raised once per window through the anomalies' path."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from router import v1 as pb
from router.core.clock import ManualClock
from router.v1 import router_pb2_grpc
from tests.api.test_e2e import rpc_error
from tests.conftest import RunningServer, make_settings

TOKEN = "s3cret"
ADMIN = (("authorization", f"Bearer {TOKEN}"),)
UNIT = 10**9
HOUR_US = 3600 * 10**6
MIDNIGHT = 1_795_824_000_000_000  # 2026-11-28T00:00Z
NOON = MIDNIGHT + 12 * HOUR_US


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOON)


@pytest.fixture
def server(tmp_path: Path, clock: ManualClock):
    running = RunningServer(make_settings(tmp_path, admin_token=TOKEN, budget_tick_s=3600.0),
                            clock)
    yield running
    running.stop()


@pytest.fixture
def stub(server: RunningServer):
    with grpc.insecure_channel(server.address) as ch:
        grpc.channel_ready_future(ch).result(timeout=10)
        yield router_pb2_grpc.RouterStub(ch)


def usd(nanos: int) -> pb.Money:
    return pb.Money(currency_code="USD", nanos=nanos)


def ts(us: int) -> Timestamp:
    t = Timestamp()
    t.FromMicroseconds(us)
    return t


def spend(stub, uid: str, at_us: int, nanos: int, team: str = "eng") -> None:
    stub.ReportUsage(pb.ReportUsageRequest(
        usage_id=uid, attribution=pb.Attribution(team=team, agent="bot"), model="gpt-4o-mini",
        tokens=pb.TokenUsage(input=100), actual_cost=usd(nanos), occurred_at=ts(at_us)),
        metadata=ADMIN)


def key(stub, team: str) -> tuple[tuple[str, str], ...]:
    made = stub.CreateApiKey(pb.CreateApiKeyRequest(key=pb.ApiKey(role=pb.ROLE_TEAM, team=team)),
                             metadata=ADMIN)
    return (("authorization", f"Bearer {made.secret}"),)


def eng_day(stub) -> None:
    stub.SetBudget(pb.SetBudgetRequest(budget=pb.Budget(
        id="eng-day", scope=pb.BudgetScope(team="eng"), limit=usd(10 * UNIT),
        window=pb.BUDGET_WINDOW_DAY, forecast_alert_at=0.8)), metadata=ADMIN)


def test_a_day_is_forecast_at_the_recent_rate_from_the_rollups(stub):
    eng_day(stub)
    for h in range(24):  # 0.25 an hour over the last day: 3 of it today, before noon
        spend(stub, f"u{h}", NOON - (24 - h) * HOUR_US + 60 * 10**6, UNIT // 4)
    f = stub.ForecastBudget(pb.ForecastBudgetRequest(budget_id="eng-day"), metadata=ADMIN)
    assert f.window_key == "2026-11-28" and f.method == pb.FORECAST_METHOD_RUN_RATE
    assert f.as_of.ToMicroseconds() == NOON
    assert f.forecast_end.ToMicroseconds() == MIDNIGHT + 24 * HOUR_US
    assert f.spend_per_hour == usd(UNIT // 4) and f.projected_spend == usd(6 * UNIT)
    assert f.projected_tokens == 24 * 100 and f.tokens_per_hour == 100
    assert f.projected_fraction == pytest.approx(0.6) and not f.alert
    assert not f.HasField("run_out_at") and f.history_hours == 24
    status = stub.GetBudgetStatus(pb.GetBudgetStatusRequest(id="eng-day"), metadata=ADMIN)
    assert status.spent == usd(3 * UNIT) and status.forecast == f
    past = stub.GetBudgetStatus(pb.GetBudgetStatusRequest(id="eng-day", at=ts(NOON - 86_400
                                                                               * 10**6)),
                                metadata=ADMIN)
    assert not past.HasField("forecast")  # a closed window has no forecast


def test_a_burst_is_forecast_to_run_out_before_the_window_ends(stub):
    eng_day(stub)
    spend(stub, "burst", NOON - 30 * 60 * 10**6, 4 * UNIT)  # 4 in the last half hour
    f = stub.ForecastBudget(pb.ForecastBudgetRequest(budget_id="eng-day"), metadata=ADMIN)
    # a scope first seen this hour: its rate is taken over at least an hour
    assert f.spend_per_hour == usd(4 * UNIT) and f.alert
    assert f.run_out_at.ToMicroseconds() == NOON + int(1.5 * HOUR_US)
    assert f.projected_spend.nanos == 4 * UNIT + 12 * 4 * UNIT


def test_who_may_see_a_forecast(stub):
    eng_day(stub)
    missing = rpc_error(stub.ForecastBudget, pb.ForecastBudgetRequest(budget_id="zz"),
                        metadata=ADMIN)
    assert missing.code() is grpc.StatusCode.NOT_FOUND
    assert stub.ForecastBudget(pb.ForecastBudgetRequest(budget_id="eng-day"),
                               metadata=key(stub, "eng")).budget_id == "eng-day"
    ops = key(stub, "ops")
    theirs = rpc_error(stub.ForecastBudget, pb.ForecastBudgetRequest(budget_id="eng-day"),
                       metadata=ops)
    nothing = rpc_error(stub.ForecastBudget, pb.ForecastBudgetRequest(budget_id="zz"),
                        metadata=ops)
    # another team's budget: the very refusal a budget that does not exist gets
    assert theirs.code() is nothing.code() is grpc.StatusCode.PERMISSION_DENIED
    assert theirs.details() == nothing.details()
    assert rpc_error(stub.ForecastBudget, pb.ForecastBudgetRequest(budget_id="eng-day"),
                     ).code() is grpc.StatusCode.UNAUTHENTICATED
    bad = rpc_error(stub.ForecastBudget, pb.ForecastBudgetRequest(budget_id="eng-day",
                                                                  horizon_seconds=-1),
                    metadata=ADMIN)
    assert bad.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_a_total_budget_is_forecast_over_the_horizon(stub):
    stub.SetBudget(pb.SetBudgetRequest(budget=pb.Budget(
        id="eng-total", scope=pb.BudgetScope(team="eng"), limit=usd(100 * UNIT),
        window=pb.BUDGET_WINDOW_TOTAL)), metadata=ADMIN)
    for h in range(24):
        spend(stub, f"u{h}", NOON - (24 - h) * HOUR_US, UNIT)
    f = stub.ForecastBudget(pb.ForecastBudgetRequest(budget_id="eng-total",
                                                     horizon_seconds=10 * 3600), metadata=ADMIN)
    assert f.forecast_end.ToMicroseconds() == NOON + 10 * HOUR_US
    assert f.projected_spend == usd(34 * UNIT) and not f.HasField("run_out_at")
    f = stub.ForecastBudget(pb.ForecastBudgetRequest(budget_id="eng-total"), metadata=ADMIN)
    assert f.run_out_at.ToMicroseconds() == NOON + 76 * HOUR_US  # 30 days by default


def budget_alerts(stub, metadata=ADMIN) -> list[pb.Anomaly]:
    return list(stub.ListAnomalies(pb.ListAnomaliesRequest(
        kinds=[pb.ANOMALY_KIND_BUDGET_FORECAST]), metadata=metadata).anomalies)


def test_the_forecast_alert_fires_once_per_window(stub, server: RunningServer,
                                                  clock: ManualClock):
    from prometheus_client import REGISTRY

    def counted() -> float:
        return REGISTRY.get_sample_value("router_anomalies_total",
                                         {"kind": "budget_forecast"}) or 0.0

    eng_day(stub)
    budgets = server.app.services.budgets
    before = counted()
    spend(stub, "calm", NOON - HOUR_US, UNIT // 10)
    assert budgets.check_forecasts() == [] and budget_alerts(stub) == []
    spend(stub, "burst", NOON - 10 * 60 * 10**6, 2 * UNIT)  # 2.1 spent; ~2 an hour to come
    [raised] = budgets.check_forecasts()
    assert raised.anomaly.evidence["budget_id"] == "eng-day"
    assert budgets.check_forecasts() == []  # the same window: the incident is updated
    assert counted() == before + 1  # counted with the anomalies by kind, once
    clock.advance(seconds=600)
    spend(stub, "more", clock.now_us(), UNIT)
    assert budgets.check_forecasts() == []
    [alert] = budget_alerts(stub)
    assert alert.team == "eng" and alert.task_id == "budget:eng-day"
    assert alert.window_start.ToMicroseconds() == MIDNIGHT
    assert alert.baseline == 10 * UNIT and alert.observed > 8 * UNIT
    assert "eng-day" in alert.message and "run out" in alert.message
    assert alert.evidence["unit"] == "nanos" and alert.evidence["window_key"] == "2026-11-28"
    assert [a.id for a in budget_alerts(stub, key(stub, "eng"))] == [alert.id]
    assert budget_alerts(stub, key(stub, "ops")) == []
    # the next day is another window: its alert is another incident
    clock.set(NOON + 24 * HOUR_US)
    spend(stub, "next", clock.now_us() - 60 * 10**6, 7 * UNIT)  # 7 + 12 h at 8 / 24 h
    [again] = budgets.check_forecasts()
    assert again.anomaly.window_start_us == MIDNIGHT + 24 * HOUR_US
    assert len(budget_alerts(stub)) == 2
