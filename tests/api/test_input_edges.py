"""Hostile input at the edge (issue 11): every bad field is INVALID_ARGUMENT naming it, never
INTERNAL, a metadata overflow on the client, or a silent transport refusal."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from router import logs
from router import v1 as pb
from router.api.grpc import base
from router.client import bearer, connect, stub
from tests.api.test_e2e import bad_request_fields, rpc_error
from tests.conftest import RunningServer, make_settings

TOKEN = "t"
ADMIN = bearer(TOKEN)
UNIT = 10**9
START, END = Timestamp(seconds=1_700_000_000), Timestamp(seconds=1_700_086_400)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    running = RunningServer(make_settings(tmp_path, admin_token=TOKEN))
    yield running
    running.stop()


@pytest.fixture
def router(server: RunningServer) -> Iterator[object]:
    with connect(server.address) as channel:
        yield stub(channel)


@pytest.fixture
def any_server(tmp_path: Path, store_url: str) -> Iterator[RunningServer]:
    """The server on SQLite, then on PostgreSQL."""
    running = RunningServer(dataclasses.replace(make_settings(tmp_path, admin_token=TOKEN),
                                                database_url=store_url))
    yield running
    running.stop()


def invalid_fields(call, request, **kwargs) -> list[str]:
    err = rpc_error(call, request, timeout=10, **kwargs)
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT, (err.code(), err.details())
    return bad_request_fields(err)


def budget(**fields) -> pb.Budget:
    return pb.Budget(**{"id": "b", "limit": pb.Money(nanos=UNIT),
                        "window": pb.BUDGET_WINDOW_DAY, **fields})


# -- 7: time zones longer than a file name --------------------------------------------------------

@pytest.mark.parametrize("name", ["x" * 256, "Europe/" + "x" * 300, "America", "zone.tab"])
def test_an_impossible_time_zone_is_invalid_argument_naming_it(router, name):
    assert invalid_fields(router.SetBudget, pb.SetBudgetRequest(budget=budget(time_zone=name)),
                          metadata=ADMIN) == ["budget.time_zone"]
    assert invalid_fields(router.QuerySpend, pb.QuerySpendRequest(
        start_time=START, end_time=END, time_zone=name)) == ["time_zone"]


# -- 10: ids are bounded, and an error echoes only a prefix of what the client sent ---------------

HUGE = "a" * 100_000


@pytest.mark.parametrize(("call", "request_", "admin"), [
    ("GetBudget", pb.GetBudgetRequest(id=HUGE), False),
    ("GetBudgetStatus", pb.GetBudgetStatusRequest(id=HUGE), False),
    ("DeleteBudget", pb.DeleteBudgetRequest(id=HUGE), True),
    ("PauseScope", pb.PauseScopeRequest(scope=pb.BudgetScope(team=HUGE)), True),
    ("ResumeScope", pb.ResumeScopeRequest(scope=pb.BudgetScope(agent=HUGE)), True),
])
def test_huge_ids_and_scope_values_are_invalid_argument_naming_them(router, call, request_,
                                                                   admin):
    field = "scope" if call.endswith("Scope") else "id"
    assert invalid_fields(getattr(router, call), request_,
                          metadata=ADMIN if admin else None) == [field]


@pytest.mark.parametrize(("call", "request_"), [
    ("Route", pb.RouteRequest(task_description="hi", remaining_budget=pb.Money(
        currency_code=HUGE, nanos=1))),
    ("Route", pb.RouteRequest(task_description="hi", allowed_models=[HUGE])),
    ("ReportUsage", pb.ReportUsageRequest(usage_id="u", model=HUGE,
                                          attribution=pb.Attribution(team="t"))),
    ("GetSavings", pb.GetSavingsRequest(baseline_model=HUGE)),
    ("QuerySpend", pb.QuerySpendRequest(start_time=START, end_time=END, time_zone=HUGE)),
    ("SetBudget", pb.SetBudgetRequest(budget=budget(limit=pb.Money(currency_code=HUGE,
                                                                   nanos=UNIT)))),
    ("SetBudget", pb.SetBudgetRequest(budget=budget(scope=pb.BudgetScope(model=HUGE[:100])))),
    ("GetBudget", pb.GetBudgetRequest(id="x" * 128)),
])
def test_errors_echo_at_most_a_short_prefix_of_client_input(router, call, request_):
    err = rpc_error(getattr(router, call), request_, metadata=ADMIN, timeout=10)
    assert err.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND), \
        (err.code(), err.details()[:200])
    assert len(err.details()) < 300, err.details()


# -- 11: a currency code is the catalog's ISO code exactly; empty means that one ----------------

@pytest.mark.parametrize("code", ["usd", "Usd", " USD", "USD "])
def test_a_currency_code_that_is_not_exactly_the_iso_code_is_invalid_argument(router, code):
    money = pb.Money(currency_code=code, nanos=UNIT)
    assert invalid_fields(router.Route, pb.RouteRequest(task_description="hi",
                                                        remaining_budget=money)) == \
        ["remaining_budget.currency_code"]
    assert invalid_fields(router.ReportUsage, pb.ReportUsageRequest(
        usage_id="u", model="gpt-4o", attribution=pb.Attribution(team="t"),
        actual_cost=money)) == ["actual_cost.currency_code"]
    assert invalid_fields(router.SetBudget, pb.SetBudgetRequest(budget=budget(limit=money)),
                          metadata=ADMIN) == ["budget.limit.currency_code"]


@pytest.mark.parametrize("code", ["USD", ""])
def test_the_iso_code_or_none_is_the_configured_currency(router, code):
    money = pb.Money(currency_code=code, nanos=UNIT)
    assert router.Route(pb.RouteRequest(task_description="hi", remaining_budget=money)).model
    assert router.SetBudget(pb.SetBudgetRequest(budget=budget(limit=money)),
                            metadata=ADMIN).limit.currency_code == "USD"


# -- 12: thresholds out of order name the fields that are ----------------------------------------

def test_thresholds_out_of_order_are_reported_against_the_later_field(router):
    err = rpc_error(router.SetBudget, pb.SetBudgetRequest(budget=budget(
        alert_at=0.9, downgrade_at=0.8)), metadata=ADMIN)
    assert bad_request_fields(err) == ["budget.downgrade_at"]
    assert "alert_at (0.9) must not exceed downgrade_at (0.8)" in err.details()


# -- 9: NUL in any string field, at any depth ----------------------------------------------------

NUL = "a\0b"
KEYS = pb.Attribution(team="t", agent="a")


NUL_CASES = [
    ("PauseScope", pb.PauseScopeRequest(scope=pb.BudgetScope(team=NUL)), "scope.team"),
    ("PauseScope", pb.PauseScopeRequest(scope=pb.BudgetScope(team="t"), reason=NUL), "reason"),
    ("ResumeScope", pb.ResumeScopeRequest(scope=pb.BudgetScope(agent=NUL)), "scope.agent"),
    ("QuerySpend", pb.QuerySpendRequest(start_time=START, end_time=END,
                                        filter=pb.Attribution(team=NUL)), "filter.team"),
    ("QuerySpend", pb.QuerySpendRequest(start_time=START, end_time=END, model=NUL), "model"),
    ("QuerySpend", pb.QuerySpendRequest(start_time=START, end_time=END,
                                        filter=pb.Attribution(labels={"env": NUL})),
     "filter.labels[env]"),
    ("QuerySpend", pb.QuerySpendRequest(start_time=START, end_time=END,
                                        filter=pb.Attribution(labels={NUL: "x"})),
     "filter.labels"),
    ("GetBudget", pb.GetBudgetRequest(id=NUL), "id"),
    ("GetBudgetStatus", pb.GetBudgetStatusRequest(id=NUL), "id"),
    ("ForecastBudget", pb.ForecastBudgetRequest(budget_id=NUL), "budget_id"),
    ("DeleteBudget", pb.DeleteBudgetRequest(id=NUL), "id"),
    ("SetBudget", pb.SetBudgetRequest(budget=budget(description=NUL)), "budget.description"),
    ("Route", pb.RouteRequest(task_description="hi", attribution=pb.Attribution(
        labels={"env": NUL})), "attribution.labels[env]"),
    ("Route", pb.RouteRequest(task_description=NUL), "task_description"),
    ("Route", pb.RouteRequest(task_description="hi", excluded_models=["gpt-4o", NUL]),
     "excluded_models[1]"),
    ("ReportUsage", pb.ReportUsageRequest(usage_id="u", model="gpt-4o", attribution=KEYS,
                                          tool_calls=[pb.ToolCall(name=NUL)]),
     "tool_calls[0].name"),
    ("ReportUsage", pb.ReportUsageRequest(usage_id="u", model="gpt-4o", attribution=pb.Attribution(
        team="t", labels={"k": NUL})), "attribution.labels[k]"),
    ("GetSavings", pb.GetSavingsRequest(baseline_model=NUL), "baseline_model"),
    ("GetDecision", pb.GetDecisionRequest(decision_id=NUL), "decision_id"),
]


def test_a_nul_in_any_string_field_is_invalid_argument_naming_its_path(any_server):
    """One server per store for every case: each PostgreSQL server is a schema to migrate."""
    wrong = []
    with connect(any_server.address) as channel:
        router = stub(channel)
        for call, request_, field in NUL_CASES:
            try:
                getattr(router, call)(request_, metadata=ADMIN, timeout=10)
                wrong.append((call, field, "OK"))
            except grpc.RpcError as err:
                if err.code() is not grpc.StatusCode.INVALID_ARGUMENT or \
                        bad_request_fields(err) != [field]:
                    wrong.append((call, field, err.code().name))
    assert not wrong


def test_a_refused_nul_leaves_the_store_and_later_calls_unharmed(any_server):
    with connect(any_server.address) as channel:
        router = stub(channel)
        assert invalid_fields(router.Route, pb.RouteRequest(
            task_description="hi", attribution=pb.Attribution(team="t", labels={"k": NUL}))) \
            == ["attribution.labels[k]"]
        decision = router.Route(pb.RouteRequest(task_description="hi", attribution=KEYS))
        used = router.ReportUsage(pb.ReportUsageRequest(
            usage_id="u1", decision_id=decision.decision_id, tokens=pb.TokenUsage(input=10)))
        spend = router.QuerySpend(pb.QuerySpendRequest(
            start_time=Timestamp(seconds=0), end_time=Timestamp(seconds=4_000_000_000)))
    assert spend.total.calls == 1 and spend.total.cost.total == used.cost.total



# -- 13: an oversize message is refused by name and logged, not dropped by the transport ---------

class Lines:
    """Stands in for the RPC logger: the lines it was given."""

    def __init__(self) -> None:
        self.lines: list[dict[str, object]] = []

    def info(self, event: str, **fields: object) -> None:
        self.lines.append({"event": event, **fields})

    def wait_for(self, rpc: str) -> list[dict[str, object]]:
        """The lines of ``rpc``, once there is one (the server writes it after answering)."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            found = [x for x in self.lines if x.get("rpc") == rpc]
            if found:
                return found
            time.sleep(0.01)
        return []

    exception = warning = error = info


@pytest.fixture
def lines(monkeypatch) -> Lines:
    recorded = Lines()
    monkeypatch.setattr(base, "log", recorded)
    monkeypatch.setattr(logs, "_level", logging.INFO)  # a logger at info: RPC lines are made
    return recorded


def big_channel(server: RunningServer) -> grpc.Channel:
    return connect(server.address, options=[("grpc.max_send_message_length", 64 << 20)])


def test_a_5_mb_task_description_is_invalid_argument_naming_it_and_logged(server, lines):
    with big_channel(server) as channel:
        err = rpc_error(stub(channel).Route, pb.RouteRequest(task_description="x" * 5_000_000),
                        timeout=10)
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT, err.details()
    assert bad_request_fields(err) == ["task_description"]
    [line] = lines.wait_for("Route")
    assert line["code"] == "INVALID_ARGUMENT" and "task_description" in str(line["error"])


def test_a_message_over_the_setting_is_refused_naming_its_largest_field(tmp_path, lines):
    limit = 64 << 10
    running = RunningServer(make_settings(tmp_path, admin_token=TOKEN,
                                          max_message_bytes=limit))
    try:
        with big_channel(running) as channel:
            router = stub(channel)
            assert router.Route(pb.RouteRequest(task_description="x" * (limit - 100))).model
            err = rpc_error(router.Route, pb.RouteRequest(task_description="x" * (limit + 1)))
            assert bad_request_fields(err) == ["task_description"]
            assert f"limit is {limit}" in err.details()
            err = rpc_error(router.SetBudget, pb.SetBudgetRequest(
                budget=budget(description="d" * (limit + 1))), metadata=ADMIN)
            assert bad_request_fields(err) == ["budget.description"]
            # far beyond: the transport refuses it before any handler (and nothing can log it)
            far = rpc_error(router.Route, pb.RouteRequest(task_description="x" * (4 * limit)))
            assert far.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    finally:
        running.stop()
    refused = [x for x in lines.lines if x.get("code") == "INVALID_ARGUMENT"]
    assert [x["rpc"] for x in refused] == ["Route", "SetBudget"]


# -- not in the issue: bytes that are no message at all (UNKNOWN until now) ----------------------

@pytest.mark.parametrize("raw", [
    pb.RouteRequest(task_description="hello").SerializeToString().replace(
        b"hello", b"he\xed\xa0\x80o"),  # a UTF-16 surrogate, UTF-8-encoded: not UTF-8
    b"\x0a\xff\xff\xff\xff\x0f",  # a string longer than the message
    b"\xff\xff\xff",
])
def test_bytes_that_do_not_parse_are_invalid_argument_not_unknown(server, raw):
    with connect(server.address) as channel:
        for method in ("Route", "GetBudget", "WatchAnomalies"):
            path = f"/router.v1.Router/{method}"
            call = (channel.unary_stream if method == "WatchAnomalies" else channel.unary_unary)(
                path, request_serializer=None, response_deserializer=None)
            with pytest.raises(grpc.RpcError) as info:
                result = call(raw, timeout=10)
                if method == "WatchAnomalies":
                    next(iter(result))
            assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
            assert "not a valid" in info.value.details()


# -- found by the fuzz test: many violations, or long ones, overflowed the status trailer ---------

@pytest.mark.parametrize("request_", [
    pb.RouteRequest(task_description="hi", excluded_models=["\0"] * 257),
    pb.RouteRequest(task_description="hi", allowed_models=["\U0001f600" * 100] * 256),
    pb.RouteRequest(task_description="hi", attribution=pb.Attribution(
        labels={"\U0001f600" * 40 + str(i): "\0" for i in range(32)})),
])
def test_a_request_with_many_violations_gets_them_within_the_trailer(router, request_):
    err = rpc_error(router.Route, request_, timeout=10)
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT, err.details()[:200]
    fields = bad_request_fields(err)
    assert 1 <= len(fields) < 100
    trailer = sum(len(k) + len(v) for k, v in err.trailing_metadata())
    assert trailer < 8192  # a client's default soft limit on metadata


# -- found by the fuzz test: a budget window that would end after year 9999 ----------------------

@pytest.mark.parametrize("window", [pb.BUDGET_WINDOW_HOUR, pb.BUDGET_WINDOW_DAY,
                                    pb.BUDGET_WINDOW_WEEK, pb.BUDGET_WINDOW_MONTH])
def test_a_status_at_the_end_of_time_is_invalid_argument_naming_at(router, window):
    router.SetBudget(pb.SetBudgetRequest(budget=budget(window=window)), metadata=ADMIN)
    last = Timestamp(seconds=253_402_300_799)  # 9999-12-31T23:59:59Z, the last a Timestamp has
    assert invalid_fields(router.GetBudgetStatus, pb.GetBudgetStatusRequest(id="b", at=last)) \
        == ["at"]
    total = router.SetBudget(pb.SetBudgetRequest(budget=budget(
        id="t", window=pb.BUDGET_WINDOW_TOTAL)), metadata=ADMIN)
    assert router.GetBudgetStatus(pb.GetBudgetStatusRequest(id=total.id, at=last)).budget_id
