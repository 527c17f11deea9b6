"""QuerySpend over the API and `router report` (spend, chargeback / showback) on top of it."""

from __future__ import annotations

import csv
import io
import json

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from router import v1 as pb
from router.cli import main
from router.core.clock import ManualClock
from router.v1 import router_pb2_grpc
from tests.api.test_e2e import bad_request_fields, rpc_error
from tests.conftest import RunningServer, make_settings

NOW = 1_795_867_200  # 2026-11-28 12:00 UTC
BUDGETS = '''schema_version = 1
[[budgets]]
id = "eng-monthly"
scope = { team = "eng" }
limit = "1"
window = "month"
'''


@pytest.fixture
def server(tmp_path):
    (tmp_path / "budgets.toml").write_text(BUDGETS)
    running = RunningServer(make_settings(tmp_path, budgets_path=str(tmp_path / "budgets.toml")),
                            ManualClock(NOW * 10**6))
    yield running
    running.stop()


@pytest.fixture
def stub(server):
    with grpc.insecure_channel(server.address) as ch:
        yield router_pb2_grpc.RouterStub(ch)


def ts(seconds: int) -> Timestamp:
    return Timestamp(seconds=seconds)


def record(stub, uid: str, team: str, agent: str, model: str, hours_ago: float, tokens: int,
           review_s: float = 0.0) -> pb.ReportUsageResponse:
    return stub.ReportUsage(pb.ReportUsageRequest(
        usage_id=uid, model=model, attribution=pb.Attribution(team=team, agent=agent,
                                                              task_id=f"t-{uid}"),
        tokens=pb.TokenUsage(input=tokens, output=tokens // 4),
        tool_calls=[pb.ToolCall(name="web_search", count=1)],
        human_review=pb.HumanReview(seconds=review_s),
        occurred_at=ts(int(NOW - hours_ago * 3600))))


@pytest.fixture
def traffic(stub):
    costs = [record(stub, f"u{i}", team, agent, model, hours, 1000 * (i + 1), review)
             .cost.total.nanos
             for i, (team, agent, model, hours, review) in enumerate([
                 ("eng", "coder", "gpt-4o", 1, 0), ("eng", "coder", "gpt-4o-mini", 30, 120),
                 ("eng", "tester", "gpt-4o-mini", 2, 0), ("ops", "pager", "gpt-4o", 5, 0),
                 ("", "stray", "gpt-4o-mini", 3, 0)])]
    return sum(costs)


def spend(stub, *group_by, bucket=pb.TIME_BUCKET_UNSPECIFIED, **kw) -> pb.QuerySpendResponse:
    return stub.QuerySpend(pb.QuerySpendRequest(start_time=ts(NOW - 7 * 86_400),
                                                end_time=ts(NOW + 3600), group_by=group_by,
                                                bucket=bucket, **kw))


def test_spend_by_team_and_model_reconciles_with_every_recorded_cost(stub, traffic):
    resp = spend(stub, pb.SPEND_DIMENSION_TEAM, pb.SPEND_DIMENSION_MODEL)
    assert {(r.team, r.model) for r in resp.rows} == {
        ("eng", "gpt-4o"), ("eng", "gpt-4o-mini"), ("ops", "gpt-4o"), ("", "gpt-4o-mini")}
    assert sum(r.cost.total.nanos for r in resp.rows) == resp.total.cost.total.nanos == traffic
    assert resp.total.calls == 5 and resp.total.tool_calls == 5
    assert resp.total.review_calls == 1 and resp.total.review_seconds == 120
    by_day = spend(stub, pb.SPEND_DIMENSION_TEAM, bucket=pb.TIME_BUCKET_DAY)
    assert {r.bucket_start.seconds for r in by_day.rows} == {NOW - 43_200, NOW - 43_200 - 86_400}
    kinds = spend(stub, pb.SPEND_DIMENSION_COST_KIND, filter=pb.Attribution(team="eng"))
    assert [r.cost_kind for r in kinds.rows] == ["tokens", "tools", "compute", "human_review"]
    assert kinds.total == spend(stub, filter=pb.Attribution(team="eng")).total


def test_cost_kind_rows_carry_each_measure_once(stub, traffic):
    plain = spend(stub)
    assert plain.total.calls == 5 and plain.total.tool_calls == 5
    for group_by in ([pb.SPEND_DIMENSION_COST_KIND],
                     [pb.SPEND_DIMENSION_TEAM, pb.SPEND_DIMENSION_COST_KIND]):
        for bucket in (pb.TIME_BUCKET_UNSPECIFIED, pb.TIME_BUCKET_DAY):
            kinds = spend(stub, *group_by, bucket=bucket)
            assert kinds.total == plain.total
            rows = {kind: [r for r in kinds.rows if r.cost_kind == kind]
                    for kind in ("tokens", "tools", "human_review")}
            assert sum(r.calls for r in rows["tokens"]) == 5
            assert sum(r.tool_calls for r in rows["tools"]) == 5
            assert not any(r.calls or r.tokens.input for r in rows["tools"])
            assert sum(r.review_seconds for r in rows["human_review"]) == 120


def test_bad_spend_queries_name_the_field(stub):
    err = rpc_error(stub.QuerySpend, pb.QuerySpendRequest(end_time=ts(NOW)))
    assert bad_request_fields(err) == ["start_time"]
    err = rpc_error(stub.QuerySpend, pb.QuerySpendRequest(start_time=ts(NOW), end_time=ts(NOW)))
    assert bad_request_fields(err) == ["end_time"]
    err = rpc_error(stub.QuerySpend, pb.QuerySpendRequest(
        start_time=ts(NOW - 10), end_time=ts(NOW), time_zone="Mars/Base"))
    assert bad_request_fields(err) == ["time_zone"]


def test_an_oversized_label_filter_is_invalid_not_unavailable(stub, traffic):
    err = rpc_error(spend, stub, filter=pb.Attribution(labels={"k" * 60_000: "v"}))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT  # not SQLite's "pattern too complex"
    assert bad_request_fields(err) == ["filter.labels[" + "k" * 40 + "]"]


def test_report_cli_prints_spend_as_table_csv_and_json(server, traffic, capsys):
    base = ["report", "spend", "--address", server.address, "--since", "2026-11-20",
            "--until", "2026-11-29", "--group-by", "team,agent"]
    assert main([*base, "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert records[-1]["team"] == "TOTAL" and records[-1]["calls"] == 5
    assert main([*base[:-1], "team,agent,cost_kind", "--format", "json"]) == 0
    by_kind = json.loads(capsys.readouterr().out)
    assert by_kind[-1] == {**records[-1], "cost_kind": ""}  # the same TOTAL row
    assert main([*base, "--format", "csv", "--bucket", "day"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {"team", "agent", "bucket_start", "cost_total", "mape"} <= set(rows[0])
    assert main([*base]) == 0 and "coder" in capsys.readouterr().out
    assert main([*base[:-1], "team,colour"]) == 2
    assert "colour" in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["chargeback", "showback"])
def test_chargeback_allocates_shared_costs_exactly_and_keeps_unattributed_spend(
        server, traffic, tmp_path, capsys, mode):
    shared = tmp_path / "shared.toml"
    shared.write_text('[[shared]]\nname = "platform"\namount = "0.000000101"\n'
                      '[[shared]]\nname = "old"\namount = "5"\nperiod = "2026-10"\n')
    assert main(["report", "chargeback", "--address", server.address, "--period", "2026-11",
                 "--mode", mode, "--shared-costs", str(shared), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    teams = [r["team"] for r in rows]
    assert teams == ["eng", "ops", "(unattributed)", "TOTAL"]
    assert "shared_old" not in rows[0]  # another period's cost does not apply
    nanos = [round(float(r["shared_platform"]) * 1e9) for r in rows[:-1]]
    assert sum(nanos) == 101 and nanos[2] == 0  # exact, none to the unattributed row
    totals = [round(float(r["total"]) * 1e9) for r in rows]
    assert sum(totals[:-1]) == totals[-1] == traffic + 101
    assert rows[0]["budget"] == "1" and rows[0]["mode"] == mode
    assert float(rows[0]["variance"]) == pytest.approx(1 - float(rows[0]["total"]))


END_9999 = 253_402_300_799  # 9999-12-31T23:59:59Z, the last second a Timestamp can hold
DEC_9999 = 253_399_622_400  # 9999-12-01T00:00:00Z


@pytest.mark.parametrize("bucket, zone, end", [
    (pb.TIME_BUCKET_MONTH, "UTC", END_9999),
    (pb.TIME_BUCKET_MONTH, "America/Los_Angeles", END_9999),
    (pb.TIME_BUCKET_WEEK, "UTC", END_9999),
    (pb.TIME_BUCKET_DAY, "UTC", END_9999),
    (pb.TIME_BUCKET_HOUR, "UTC", END_9999),
    (pb.TIME_BUCKET_DAY, "Asia/Tokyo", END_9999 - 4 * 3600),  # already 10000-01-01 in Tokyo
    (pb.TIME_BUCKET_UNSPECIFIED, "Asia/Tokyo", END_9999 - 4 * 3600),  # ... but no buckets: fine
])
def test_buckets_past_the_year_9999_are_an_invalid_end_time(stub, bucket, zone, end):
    request = pb.QuerySpendRequest(start_time=ts(end - 40 * 86_400), end_time=ts(end),
                                   group_by=[pb.SPEND_DIMENSION_TEAM], bucket=bucket,
                                   time_zone=zone)
    if bucket == pb.TIME_BUCKET_UNSPECIFIED:
        assert stub.QuerySpend(request).total.calls == 0
        return
    err = rpc_error(stub.QuerySpend, request)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()
    assert bad_request_fields(err) == ["end_time"]


@pytest.mark.parametrize("bucket, end", [
    (pb.TIME_BUCKET_MONTH, DEC_9999), (pb.TIME_BUCKET_WEEK, DEC_9999),
    (pb.TIME_BUCKET_DAY, END_9999 - 86_400), (pb.TIME_BUCKET_HOUR, END_9999 - 3600)])
def test_buckets_from_1970_west_of_utc_to_the_year_9999(stub, traffic, bucket, end):
    """The widest range a query may span: the first local bucket starts before 1970 in UTC."""
    resp = stub.QuerySpend(pb.QuerySpendRequest(
        start_time=ts(0), end_time=ts(end), group_by=[pb.SPEND_DIMENSION_COST_KIND],
        bucket=bucket, time_zone="America/Los_Angeles"), timeout=60)
    assert resp.total.cost.total.nanos == traffic
    assert sum(r.cost.total.nanos for r in resp.rows) == traffic and resp.total.calls == 5
