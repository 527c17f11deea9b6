"""A bounded fuzz of every Router RPC over a real server, on SQLite and on PostgreSQL.

Requests are built from each RPC's own message type: either every field at random, or a valid
request (``templates``) with one field, at any depth, changed, so that the hostile value gets
past the other checks to where deeper bugs are. The values: NUL, strings just over each limit
(ids, keys, labels, time zones, reasons, descriptions), astral and combining characters (the
UTF-16 surrogate pairs protobuf allows), negative and huge numbers, NaN and infinities, wrong
and miscased currencies, timestamps before year 1 and at and after the end of 9999, unknown enum
values, lists and maps over their bounds, mixed with plausible ones. Now and then the serialized
request is damaged (a lone surrogate's bytes, which protobuf will not write but a client can
send, a truncation, a flipped byte). Every call must answer within its deadline with a status a
client can act on (never INTERNAL, UNKNOWN, UNAVAILABLE or DEADLINE_EXCEEDED), fitting the
client's trailer limit, and a refused call must leave the recorded spend as it was.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router import v1 as pb
from router.api.grpc import SERVICE
from router.client import bearer, connect, stub
from router.server.grpc_server import TRANSPORT_ROOM
from router.service.reports import page_token
from tests.conftest import RunningServer, make_settings

TOKEN = "t"
EXAMPLES = 200  # per store: about 7 s of calls each (3000 found nothing more)
DEADLINE_S = 10.0
WATCH_S = 0.1  # an accepted WatchAnomalies streams until its deadline: that is not a hang
ACCEPTABLE = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
              grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.FAILED_PRECONDITION,
              grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAUTHENTICATED,
              grpc.StatusCode.PERMISSION_DENIED}
ADMIN_RPCS = {"SetBudget", "DeleteBudget", "PauseScope", "ResumeScope", "DetectAnomalies"}

PLAUSIBLE = ["", "b", "eng", "team-a", "bot", "t1", "ana", "gpt-4o", "gpt-4o-mini", "USD",
             "UTC", "Europe/London", "hello world", "web_search", "finance", "env", "prod"]
HOSTILE = ["usd", " USD", "EUR", "XXX", "\0", "a\0b", "\n", "\t", " padded ", "\u202e",
           "e\u0301", "\U0001f600" * 8, "\U0010ffff", "America", "zone.tab", "../../etc/passwd",
           "'; DROP TABLE usages; --", "%s%n", "x" * 65, "x" * 129, "\u00e9" * 129, "x" * 257,
           "x" * 1001, "x" * 100_001, "\U0001f600" * 100_001]
INT64 = [0, 1, -1, 2**31 - 1, 2**31, 2**53 + 1, 2**63 - 1, -(2**63), 10**6 + 1, 10**8 + 1,
         10**15, 10**15 + 1]
INT32 = [0, 1, -1, 2**31 - 1, -(2**31), 1001, 86_401]
DOUBLE = [math.nan, math.inf, -math.inf, -0.0, 0.0, 0.5, 1.0, 1.0000001, 1.5, -1.0, 5e-324,
          1e308, 2.5e6, 30 * 24 * 3600 + 1.0]
SECONDS = [-(2**63), -62_135_596_801, -62_135_596_800, -1, 0, 1_700_000_000, 253_402_300_799,
           253_402_300_800, 2**62]
NANOS = [0, -1, 999_999_999, 10**9, 2**31 - 1]


def strings(extra: list[str], small: bool) -> st.SearchStrategy[str]:
    hostile = [s for s in HOSTILE if len(s) < 100] if small else HOSTILE
    return st.one_of(st.sampled_from(PLAUSIBLE + extra), st.sampled_from(hostile),
                     st.text(max_size=12))


def scalar(fd: FieldDescriptor, extra: list[str], small: bool) -> st.SearchStrategy[Any]:
    t = fd.type
    if t == FieldDescriptor.TYPE_STRING:
        return strings(extra, small)
    if t == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if t == FieldDescriptor.TYPE_DOUBLE:
        return st.one_of(st.sampled_from(DOUBLE), st.floats())
    if t == FieldDescriptor.TYPE_ENUM:
        known = [v.number for v in fd.enum_type.values]
        return st.sampled_from([*known, -1, 99, 2**31 - 1])
    if t == FieldDescriptor.TYPE_INT32:
        return st.one_of(st.sampled_from(INT32), st.integers(-(2**31), 2**31 - 1))
    if t == FieldDescriptor.TYPE_INT64:
        return st.one_of(st.sampled_from(INT64), st.integers(-(2**63), 2**63 - 1))
    raise AssertionError(f"no strategy for {fd.full_name} (type {t}): add one")


def field_values(fd: FieldDescriptor, extra: list[str], small: bool = False, depth: int = 0
                 ) -> st.SearchStrategy[Any]:
    """Values for one field: a scalar or message, a list (some over any bound), a map."""
    sub = fd.message_type
    if sub is not None and sub.GetOptions().map_entry:
        value = sub.fields_by_name["value"]
        return st.one_of(
            st.dictionaries(strings(extra, small=True), scalar(value, extra, small), max_size=3),
            st.builds(lambda v: {f"k{i}": v for i in range(33)},
                      scalar(value, extra, small=True)))
    if sub is not None:
        one: st.SearchStrategy[Any] = (
            message(sub, extra, small, depth + 1) if depth < 3
            else st.builds(message_factory.GetMessageClass(sub)))
    else:
        one = scalar(fd, extra, small)
    if not fd.is_repeated:
        return one
    many = message(sub, extra, True, depth + 1) if sub is not None else scalar(fd, extra, True)
    return st.one_of(st.lists(one, max_size=3), st.builds(lambda x: [x] * 257, many))


def message(descriptor: Descriptor, extra: list[str], small: bool = False,
            depth: int = 0) -> st.SearchStrategy[Message]:
    """Messages of ``descriptor``'s type with any subset of fields set, hostile or plausible."""
    cls = message_factory.GetMessageClass(descriptor)
    if descriptor.full_name == "google.protobuf.Timestamp":
        return st.builds(cls, seconds=st.sampled_from(SECONDS) | st.integers(-(2**40), 2**40),
                         nanos=st.sampled_from(NANOS))
    fields = {fd.name: field_values(fd, extra, small, depth) for fd in descriptor.fields}
    return st.fixed_dictionaries({}, optional=fields).map(lambda values: cls(**values))


def mutants(template: Message, extra: list[str]) -> st.SearchStrategy[Message]:
    """``template`` (a valid request) with one field, at any depth, set to a hostile value: the
    calls that get past the first checks, to where the deeper bugs are."""
    paths = list(_paths(template.DESCRIPTOR))
    if not paths:
        return st.just(template)

    @st.composite
    def mutant(draw: st.DrawFn) -> Message:
        path = draw(st.sampled_from(paths))
        value = draw(field_values(path[-1], extra))
        msg = type(template)()
        msg.CopyFrom(template)
        parent = msg
        for fd in path[:-1]:
            parent = getattr(parent, fd.name)
        last = path[-1]
        parent.ClearField(last.name)
        if last.message_type is not None and last.message_type.GetOptions().map_entry:
            getattr(parent, last.name).update(value)
        elif last.is_repeated:
            getattr(parent, last.name).extend(value)
        elif last.message_type is not None:
            getattr(parent, last.name).CopyFrom(value)
        else:
            setattr(parent, last.name, value)
        return msg

    return mutant()


def _paths(descriptor: Descriptor, prefix: tuple[FieldDescriptor, ...] = ()
           ) -> list[tuple[FieldDescriptor, ...]]:
    out = []
    for fd in descriptor.fields:
        path = (*prefix, fd)
        out.append(path)
        sub = fd.message_type
        if (sub is not None and not fd.is_repeated and len(path) < 3
                and sub.full_name != "google.protobuf.Timestamp"):
            out += _paths(sub, path)
    return out


def templates(decision_id: str, now: int, key_id: str) -> dict[str, Message]:
    """A valid request of every RPC, each setting most of its fields."""
    ts = lambda seconds: Timestamp(seconds=seconds)  # noqa: E731
    keys = pb.Attribution(team="eng", agent="bot", task_id="t1", task_type="match", user="ana",
                          labels={"env": "prod"})
    usd = lambda nanos: pb.Money(currency_code="USD", nanos=nanos)  # noqa: E731
    scope = pb.BudgetScope(team="fz-team")
    return {
        "Route": pb.RouteRequest(
            task_description="hello world", request_id="", attribution=keys,
            remaining_budget=usd(10**9), estimated_input_tokens=100, max_output_tokens=200,
            quality_target=0.5, capabilities=[pb.CAPABILITY_JSON], min_context_tokens=1000,
            allowed_models=["gpt-4o", "gpt-4o-mini"], excluded_models=["o3"]),
        "ReportUsage": pb.ReportUsageRequest(
            usage_id="fz", decision_id=decision_id, attribution=keys, model="gpt-4o-mini",
            tokens=pb.TokenUsage(input=100, cached_input=10, output=50, reasoning=5),
            tool_calls=[pb.ToolCall(name="web_search", count=2, cost=usd(1000))],
            compute=pb.Compute(cpu_seconds=1.5, gpu_seconds=0.5, cost=usd(100)),
            human_review=pb.HumanReview(seconds=30, hourly_rate=usd(50 * 10**9)),
            outcome=pb.OUTCOME_SUCCESS, latency_ms=900, actual_cost=usd(12345),
            occurred_at=ts(now - 60), quality=0.5),
        "ReportFeedback": pb.ReportFeedbackRequest(
            feedback_id="fzf", decision_id=decision_id, score=0.75,
            source="evaluator:gpt-judge", comment="fine", occurred_at=ts(now - 60)),
        "ListModels": pb.ListModelsRequest(include_disabled=True),
        "GetDecision": pb.GetDecisionRequest(decision_id=decision_id),
        "ListDecisions": pb.ListDecisionsRequest(
            filter=pb.Attribution(team="eng", agent="bot", labels={"env": "prod"}),
            model="gpt-4o-mini", start_time=ts(now - 86_400), end_time=ts(now + 3600),
            page_size=10, page_token=page_token((now * 10**6, decision_id))),
        "ListFocusCharges": pb.ListFocusChargesRequest(
            start_time=ts(now - 86_400), end_time=ts(now + 3600), model="gpt-4o-mini",
            provider="openai", filter=pb.Attribution(team="eng", agent="bot", task_type="t"),
            page_size=10, page_token=page_token((now * 10**6, "fzu"))),
        "GetSavings": pb.GetSavingsRequest(start_time=ts(now - 86_400), end_time=ts(now + 3600),
                                           baseline_model="gpt-4o"),
        "SetBudget": pb.SetBudgetRequest(budget=pb.Budget(
            id="fz", description="fuzzed", scope=pb.BudgetScope(team="fz-team", model="gpt-4o"),
            limit=usd(10**12), limit_tokens=10**9, window=pb.BUDGET_WINDOW_DAY,
            time_zone="Europe/London", alert_at=0.5, downgrade_at=0.6, downgrade_quality=0.4,
            throttle_at=0.9, throttle_per_minute=10, on_exhausted=pb.EXHAUSTED_ACTION_DOWNGRADE,
            hold_ttl_seconds=60)),
        "GetBudget": pb.GetBudgetRequest(id="b"),
        "ListBudgets": pb.ListBudgetsRequest(),
        "DeleteBudget": pb.DeleteBudgetRequest(id="fz"),
        "GetBudgetStatus": pb.GetBudgetStatusRequest(id="b", at=ts(now)),
        "ForecastBudget": pb.ForecastBudgetRequest(budget_id="b", horizon_seconds=3600),
        "PauseScope": pb.PauseScopeRequest(scope=scope, reason="fuzz"),
        "ResumeScope": pb.ResumeScopeRequest(scope=scope),
        "QuerySpend": pb.QuerySpendRequest(
            start_time=ts(now - 30 * 86_400), end_time=ts(now + 86_400),
            group_by=[pb.SPEND_DIMENSION_TEAM, pb.SPEND_DIMENSION_MODEL],
            bucket=pb.TIME_BUCKET_DAY, time_zone="Europe/London",
            filter=pb.Attribution(team="eng", labels={"env": "prod"}), model="gpt-4o-mini",
            provider="openai"),
        "ListAnomalies": pb.ListAnomaliesRequest(since=ts(now - 86_400),
                                                 kinds=[pb.ANOMALY_KIND_SPEND_SPIKE],
                                                 page_size=10),
        "WatchAnomalies": pb.WatchAnomaliesRequest(kinds=[pb.ANOMALY_KIND_SPEND_SPIKE],
                                                   since=ts(now - 86_400)),
        "DetectAnomalies": pb.DetectAnomaliesRequest(),
        "CreateApiKey": pb.CreateApiKeyRequest(key=pb.ApiKey(
            role=pb.ROLE_TEAM, team="fz-team", agents=["bot"], permissions=["budgets"],
            subject="CN=fz", description="fuzzed", expire_time=ts(now + 86_400))),
        "ListApiKeys": pb.ListApiKeysRequest(include_revoked=True, team="fz-team"),
        "RevokeApiKey": pb.RevokeApiKeyRequest(key_id=key_id),
        "ListAuditEvents": pb.ListAuditEventsRequest(since=ts(now - 86_400),
                                                     actions=["budget.set"], page_size=10),
    }


def damaged(raw: bytes, how: int, at: int) -> bytes:
    """``raw`` as a buggy or hostile client might send it."""
    if how == 0 and b"hello world" in raw:  # same length, no longer UTF-8: a lone surrogate
        return raw.replace(b"hello world", b"hello\xed\xa0\x80rld", 1)
    if how == 1 and raw:
        return raw[: at % len(raw)]
    if how == 2 and raw:
        i = at % len(raw)
        return raw[:i] + bytes([raw[i] ^ 0xFF]) + raw[i + 1:]
    return raw + b"\x0a\xff\xff\xff\xff\x0f"  # a string longer than the message


def spend(running: RunningServer) -> tuple[int, int]:
    """The recorded spend: usage rows and their total cost."""
    with running.app.store.engine.connect() as conn:
        count, total = conn.execute(sa.text(
            "SELECT count(*), coalesce(sum(cost_total), 0) FROM usages")).one()
    return int(count), int(total)


def call(channel: grpc.Channel, rpc: str, raw: bytes, metadata: tuple[tuple[str, str], ...]
         ) -> tuple[grpc.StatusCode, str]:
    """Send ``raw`` as ``rpc``'s request; its status code and details."""
    path = f"/{SERVICE.full_name}/{rpc}"
    try:
        if rpc == "WatchAnomalies":
            for _ in channel.unary_stream(path)(raw, timeout=WATCH_S, metadata=metadata):
                pass
        else:
            channel.unary_unary(path)(raw, timeout=DEADLINE_S, metadata=metadata)
    except grpc.RpcError as err:
        if rpc == "WatchAnomalies" and err.code() is grpc.StatusCode.DEADLINE_EXCEEDED:
            return grpc.StatusCode.OK, ""  # accepted, and streaming until the deadline
        return err.code(), err.details() or ""
    return grpc.StatusCode.OK, ""


@pytest.fixture
def fuzzed(tmp_path: Path, store_url: str):
    running = RunningServer(dataclasses.replace(make_settings(tmp_path, admin_token=TOKEN),
                                                database_url=store_url))
    yield running
    running.stop()


def test_hostile_requests_never_fail_the_server(fuzzed: RunningServer):
    limit = TRANSPORT_ROOM * fuzzed.app.settings.max_message_bytes
    with connect(fuzzed.address, options=[("grpc.max_send_message_length", -1)]) as channel:
        router = stub(channel)
        # some state for the fuzz to find: a budget, a decision with its usage
        router.SetBudget(pb.SetBudgetRequest(budget=pb.Budget(
            id="b", limit=pb.Money(nanos=10**12), window=pb.BUDGET_WINDOW_DAY)),
            metadata=bearer(TOKEN))
        decision = router.Route(pb.RouteRequest(task_description="hello world",
                                                attribution=pb.Attribution(team="eng")))
        router.ReportUsage(pb.ReportUsageRequest(usage_id="u0", decision_id=decision.decision_id,
                                                 tokens=pb.TokenUsage(input=10)))
        # a key to revoke (from now on every call needs a key: the fuzz's calls without one are
        # UNAUTHENTICATED, as they would be in production)
        key = router.CreateApiKey(pb.CreateApiKeyRequest(key=pb.ApiKey(
            role=pb.ROLE_READER)), metadata=bearer(TOKEN)).key
        extra = [decision.decision_id, "u0", key.key_id]
        valid = templates(decision.decision_id, int(time.time()), key.key_id)
        assert set(valid) == {m.name for m in SERVICE.methods}
        for rpc in sorted(valid, key=lambda r: r == "DeleteBudget"):  # the templates are valid
            answer = call(channel, rpc, valid[rpc].SerializeToString(), bearer(TOKEN))
            assert answer == (grpc.StatusCode.OK, ""), (rpc, answer)
        requests = {m.name: st.one_of(mutants(valid[m.name], extra),
                                      message(m.input_type, extra)) for m in SERVICE.methods}
        tokens = st.sampled_from([bearer(TOKEN)] * 6 + [(), bearer("wrong"),
                                                        (("authorization", "Basic dA=="),)])
        seen: dict[grpc.StatusCode, int] = {}
        seen_ids: list[str] = []

        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(st.data())
        def one_call(data: st.DataObject) -> None:
            rpc = data.draw(st.sampled_from(sorted(requests)), label="rpc")
            request = data.draw(requests[rpc], label="request")
            if rpc == "ReportUsage" and request.usage_id == "fz":
                request.usage_id = f"fz-{len(seen_ids)}"  # a new report, not a conflicting one
                seen_ids.append(request.usage_id)
            raw = request.SerializeToString()
            if data.draw(st.sampled_from([False] * 9 + [True]), label="damage?"):
                raw = damaged(raw, data.draw(st.integers(0, 3)), data.draw(st.integers(0, 2**16)))
            metadata = data.draw(tokens, label="metadata") if rpc in ADMIN_RPCS else ()
            before = spend(fuzzed)
            code, details = call(channel, rpc, raw, metadata)
            seen[code] = seen.get(code, 0) + 1
            if code is grpc.StatusCode.RESOURCE_EXHAUSTED and len(raw) > limit:
                return  # over twice the setting: gRPC's own refusal (documented)
            assert code in ACCEPTABLE, f"{rpc}: {code.name}: {details[:300]}"
            assert "metadata size" not in details, f"{rpc}: {details[:300]}"
            assert len(details) < 4096, f"{rpc} echoed {len(details)} characters"
            if code is not grpc.StatusCode.OK:
                assert spend(fuzzed) == before, f"refused {rpc} ({code.name}) changed the spend"

        one_call()
        # the fuzz got past validation too, and the server still answers (Route may be paused)
        assert seen.get(grpc.StatusCode.OK) and seen.get(grpc.StatusCode.INVALID_ARGUMENT), seen
        assert router.ListModels(pb.ListModelsRequest(), timeout=10,
                                 metadata=bearer(TOKEN)).models
        assert health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(
            service=SERVICE.full_name), timeout=10).status == \
            health_pb2.HealthCheckResponse.SERVING

