"""Client and AsyncClient against a real server on port 0: the call scope's one report on
success, failure and refusal; retries that honour the server's RetryInfo and reuse the call's
idempotency key; what a call that keeps failing surfaces as."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from router import v1 as pb
from router.client import (
    AsyncClient,
    BudgetExhausted,
    Client,
    Retry,
    RouterCallError,
    RouteRefused,
    RouterUnavailable,
)
from tests.client.conftest import ADMIN, Fault

TASK = "Match these 40 invoice lines to the ledger entries and list the ones that differ."
CHAT = {"id": "c1", "model": "gpt-4o", "usage": {
    "prompt_tokens": 1200, "completion_tokens": 500,
    "prompt_tokens_details": {"cached_tokens": 200},
    "completion_tokens_details": {"reasoning_tokens": 320}}}


class Sleeps:
    """An injected sleep that records the waits (and does not wait)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def usages(router: Client, decision_id: str) -> list[pb.Usage]:
    return list(router.GetDecision(pb.GetDecisionRequest(decision_id=decision_id)).usages)


def spend(router: Client, team: str) -> pb.SpendRow:
    now = datetime.now(UTC)
    start, end = Timestamp(), Timestamp()
    start.FromDatetime(now - timedelta(hours=1))
    end.FromDatetime(now + timedelta(hours=1))
    return router.QuerySpend(pb.QuerySpendRequest(start_time=start, end_time=end,
                                                  filter=pb.Attribution(team=team))).total


def test_call_routes_on_enter_and_reports_the_recorded_usage_once_on_exit(server):
    with Client(server.address, key=ADMIN) as router:
        with router.call(TASK, team="finance", agent="reconciler", task_id="inv-1",
                         user="ana", labels={"env": "test"}, capabilities=["json"],
                         remaining_budget=50_000_000) as call:
            assert call.models[0] == call.model and call.models[1:] == \
                list(call.decision.fallbacks)
            call.record(CHAT, tools={"web_search": 2}, quality=0.9)
        assert call.receipt.usage_id == call.usage_id and not call.receipt.replayed
        (usage,) = usages(router, call.decision_id)
        assert usage.tokens == pb.TokenUsage(input=1000, cached_input=200, output=180,
                                             reasoning=320)
        assert usage.outcome == pb.OUTCOME_SUCCESS and usage.model == call.model
        assert usage.quality == pytest.approx(0.9)
        total = spend(router, "finance")
        assert total.calls == 1 and total.tokens.cached_input == 200
        assert total.tokens.reasoning == 320 and total.tool_calls == 2
        assert total.cost.total.nanos == call.receipt.cost.total.nanos > 0


def test_a_body_that_raises_reports_failure_with_what_it_recorded_and_propagates(server):
    with Client(server.address, key=ADMIN) as router:
        with pytest.raises(ValueError, match="provider said no"), \
                router.call(TASK, team="finance", agent="reconciler") as call:
            call.record({"input": 300, "output": 0}, model=call.models[-1])
            raise ValueError("provider said no")
        (usage,) = usages(router, call.decision_id)
        assert usage.outcome == pb.OUTCOME_FAILURE
        assert usage.tokens.input == 300 and usage.model == call.models[-1]
        assert spend(router, "finance").failures == 1


def test_a_paused_agent_is_refused_on_enter_and_nothing_is_reported(server):
    with Client(server.address, key=ADMIN) as router:
        router.PauseScope(pb.PauseScopeRequest(scope=pb.BudgetScope(agent="runaway"),
                                               reason="loop"))
        entered = False
        with pytest.raises(RouteRefused) as refused, router.call(TASK, agent="runaway",
                                                                  team="finance"):
            entered = True
        assert not entered and not isinstance(refused.value, BudgetExhausted)
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert isinstance(refused.value, grpc.RpcError) and refused.value.attempts == 1
        assert spend(router, "finance").calls == 0


def test_an_exhausted_budget_is_refused_with_its_quota_details(server):
    with Client(server.address, key=ADMIN) as router:
        router.SetBudget(pb.SetBudgetRequest(budget=pb.Budget(
            id="tiny", scope=pb.BudgetScope(team="finance"), window=pb.BUDGET_WINDOW_DAY,
            limit=pb.Money(nanos=1), on_exhausted=pb.EXHAUSTED_ACTION_BLOCK)))
        started = time.monotonic()
        with pytest.raises(BudgetExhausted) as refused, router.call(TASK, team="finance"):
            pass
        assert time.monotonic() - started < 5  # a reset hours away is not waited for
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "tiny" in " ".join(refused.value.quota_violations)
        assert spend(router, "finance").calls == 0


def test_retries_honour_retry_info_and_send_the_same_keys(proxy):
    proxy.faults = {"Route": Fault("unavailable", 2), "ReportUsage": Fault("unavailable", 2)}
    sleeps = Sleeps()
    with Client(proxy.address, key=ADMIN, sleep=sleeps, rng=random.Random(7)) as router:
        with router.call(TASK, team="ops") as call:
            call.record(CHAT)
        assert len(usages(router, call.decision_id)) == 1
    routes, reports = proxy.requests("Route"), proxy.requests("ReportUsage")
    assert len(routes) == len(reports) == 3
    assert len({r.request_id for r in routes}) == 1 and routes[0].request_id
    assert {r.usage_id for r in reports} == {call.usage_id}
    assert len(sleeps.waits) == 4 and min(sleeps.waits) >= 0.1  # the server's RetryInfo


def test_an_answer_lost_after_the_server_recorded_it_is_replayed_not_recorded_twice(proxy):
    proxy.faults = {"ReportUsage": Fault("lost", 1)}
    with Client(proxy.address, key=ADMIN, sleep=Sleeps()) as router:
        with router.call(TASK, team="ops") as call:
            call.record({"input": 10, "output": 5})
        assert call.receipt.replayed  # the retry found the first attempt's record
        assert len(usages(router, call.decision_id)) == 1
        assert spend(router, "ops").calls == 1


def keys_of(router: Client, team: str) -> list[str]:
    return [k.key_id for k in router.ListApiKeys(pb.ListApiKeysRequest()).keys if k.team == team]


def test_a_key_creation_whose_answer_is_lost_is_not_sent_again(proxy):
    """CreateApiKey has no idempotency key: once the server may have made the key, a second
    attempt would make another. The client surfaces the loss instead."""
    proxy.faults = {"CreateApiKey": Fault("lost", 1)}
    request = pb.CreateApiKeyRequest(key=pb.ApiKey(role=pb.ROLE_READER, team="audit"))
    with Client(proxy.address, key=ADMIN, sleep=Sleeps()) as router:
        with pytest.raises(RouterCallError) as lost:
            router.CreateApiKey(request)
        assert lost.value.code() == grpc.StatusCode.UNAVAILABLE and lost.value.attempts == 1
        assert "may have taken effect" in lost.value.details()
        assert len(proxy.requests("CreateApiKey")) == 1
        assert len(keys_of(router, "audit")) == 1  # made once, by the one attempt
        # the server's own refusal did nothing: that one is retried
        proxy.faults = {"CreateApiKey": Fault("unavailable", 1)}
        made = router.CreateApiKey(request)
        assert len(proxy.requests("CreateApiKey")) == 3
        assert made.key.key_id in keys_of(router, "audit") and len(keys_of(router, "audit")) == 2


def test_a_slow_route_is_retried_after_its_deadline_with_the_same_request_id(proxy):
    proxy.faults = {"Route": Fault("slow", 1, delay_s=1.0)}
    with Client(proxy.address, key=ADMIN, deadlines={"Route": 0.3}, sleep=Sleeps()) as router:
        decision = router.route(TASK, team="ops")
    routes = proxy.requests("Route")
    assert len(routes) == 2 and routes[0].request_id == routes[1].request_id
    assert decision.decision_id


def test_a_call_that_stays_unavailable_surfaces_within_the_total_time(proxy):
    proxy.faults = {"ReportFeedback": Fault("unavailable", 10_000)}
    with Client(proxy.address, key=ADMIN, retry=Retry(total_s=1.0)) as router:
        started = time.monotonic()
        with pytest.raises(RouterUnavailable) as gave_up:
            router.report_feedback(pb.ReportFeedbackRequest(decision_id="d1", score=1.0))
        assert time.monotonic() - started < 2.0
    err = gave_up.value
    assert err.code() == grpc.StatusCode.UNAVAILABLE and err.details() == "the store is down"
    assert err.retry_delay_s == pytest.approx(0.1) and err.attempts >= 3
    sent = proxy.requests("ReportFeedback")
    assert len(sent) == err.attempts and len({r.feedback_id for r in sent}) == 1


def test_bad_input_is_not_retried_and_names_the_field(proxy):
    with Client(proxy.address, key=ADMIN) as router, pytest.raises(RouterCallError) as bad:
        router.route(TASK, quality_target=2.0)
    assert type(bad.value) is RouterCallError and bad.value.attempts == 1
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "quality_target" in bad.value.field_violations
    assert len(proxy.requests("Route")) == 1


def test_a_given_key_is_sent_as_given(proxy):
    with Client(proxy.address, key=ADMIN) as router:
        router.route(TASK, request_id="inv-2291-step-3")
        with router.call(TASK, request_id="inv-2291-step-4") as call:
            pass
    assert [r.request_id for r in proxy.requests("Route")] == ["inv-2291-step-3",
                                                               "inv-2291-step-4"]
    assert call.usage_id == "inv-2291-step-4/usage"


def test_the_address_and_key_come_from_the_environment(server, monkeypatch):
    monkeypatch.setenv("ROUTER_ADDRESS", server.address)
    monkeypatch.setenv("ROUTER_API_KEY", "rk_not_a_key")
    with Client() as router, pytest.raises(RouterCallError) as refused:
        router.ListModels(pb.ListModelsRequest())
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    monkeypatch.setenv("ROUTER_API_KEY", ADMIN)
    with Client() as router:
        assert router.ListModels(pb.ListModelsRequest()).models


def test_async_client_call_scope_and_retries(proxy):
    proxy.faults = {"Route": Fault("unavailable", 1), "ReportUsage": Fault("lost", 1)}

    async def run() -> tuple[str, pb.ReportUsageResponse]:
        async with AsyncClient(proxy.address, key=ADMIN) as router:
            async with router.call(TASK, team="ops", agent="async") as call:
                call.record(CHAT)
            with pytest.raises(ValueError):
                async with router.call(TASK, team="ops", agent="async") as failed:
                    raise ValueError("boom")
            assert failed.receipt is not None
            return call.decision_id, call.receipt

    decision_id, receipt = asyncio.run(run())
    assert receipt.replayed
    assert len(proxy.requests("Route")) == 3 and len(proxy.requests("ReportUsage")) == 3
    with Client(proxy.address, key=ADMIN) as router:
        (usage,) = usages(router, decision_id)
        assert usage.tokens.cached_input == 200
        assert spend(router, "ops").failures == 1
