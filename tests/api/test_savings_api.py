"""Savings on recorded traffic: the core arithmetic, the store query, the CLI and the RPC."""

from __future__ import annotations

import json

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from router import v1 as pb
from router.cli import main
from router.core.catalog import load_catalog
from router.core.pricing import TokenCounts, token_cost
from router.core.savings import UsageGroup, savings
from router.settings import Settings

CATALOG = load_catalog(Settings().catalog_path)


def test_savings_reprice_tokens_and_keep_other_costs():
    mini, gpt4o = CATALOG.get("gpt-4o-mini"), CATALOG.get("gpt-4o")
    tokens = TokenCounts(input=1_000_000, output=100_000)
    actual_tokens = token_cost(mini.prices, tokens)  # 0.15 + 0.06
    groups = [UsageGroup("fin", "a1", "gpt-4o-mini", 10, tokens, actual_tokens,
                         actual_tokens + 5_000_000),  # 0.005 of tools
              UsageGroup("fin", "a2", "gpt-4o", 1, tokens, token_cost(gpt4o.prices, tokens),
                         token_cost(gpt4o.prices, tokens)),
              UsageGroup("ops", "b1", "gpt-4o-mini", 2, TokenCounts(), 0, 7)]
    report = savings(groups, CATALOG, "gpt-4o")
    cf_a1 = token_cost(gpt4o.prices, tokens) + 5_000_000  # 2.5 + 1.0 -> 3.5 USD + tools
    a1 = next(s for s in report.by_agent if s.agent == "a1")
    assert (a1.actual, a1.counterfactual) == (actual_tokens + 5_000_000, cf_a1)
    assert a1.savings == cf_a1 - actual_tokens - 5_000_000 > 0
    a2 = next(s for s in report.by_agent if s.agent == "a2")
    assert a2.savings == 0  # already on the baseline
    fin = next(s for s in report.by_team if s.team == "fin")
    assert fin.calls == 11 and fin.savings == a1.savings + a2.savings
    assert report.total.calls == 13
    assert report.total.actual == sum(s.actual for s in report.by_team)
    assert report.total.savings == sum(s.savings for s in report.by_agent)


@pytest.fixture
def traffic(stub):
    """Two teams' calls recorded through the real API."""
    keys = {"fin": pb.Attribution(team="fin", agent="rec"),
            "ops": pb.Attribution(team="ops", agent="sum")}
    for i in range(6):
        team = "fin" if i % 2 else "ops"
        stub.ReportUsage(pb.ReportUsageRequest(
            usage_id=f"s{i}", attribution=keys[team], model="gpt-4o-mini",
            tokens=pb.TokenUsage(input=10_000, output=2_000)))
    stub.ReportUsage(pb.ReportUsageRequest(usage_id="s-big", attribution=keys["fin"],
                                           model="gpt-4o", tokens=pb.TokenUsage(input=1000)))
    return keys


def test_get_savings_rpc_totals_by_team_and_agent(stub, traffic):
    resp = stub.GetSavings(pb.GetSavingsRequest())
    assert resp.baseline_model == CATALOG.default_model
    assert resp.total.calls == 7
    assert resp.total.savings.nanos == sum(t.savings.nanos for t in resp.by_team) > 0
    assert {t.team for t in resp.by_team} == {"fin", "ops"}
    assert {(a.team, a.agent) for a in resp.by_agent} == {("fin", "rec"), ("ops", "sum")}
    assert 0 < resp.total.savings_ratio < 1

    future = Timestamp()
    future.FromSeconds(4_000_000_000)
    empty = stub.GetSavings(pb.GetSavingsRequest(start_time=future))
    assert empty.total.calls == 0 and empty.total.savings.nanos == 0
    with pytest.raises(grpc.RpcError) as info:
        stub.GetSavings(pb.GetSavingsRequest(baseline_model="gpt-99"))
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_eval_store_cli_writes_json_matching_the_rpc(stub, traffic, server, tmp_path, capsys):
    server.app.recorder.flush()
    out = tmp_path / "sav"
    assert main(["eval", "--store", server.app.settings.database_url, "--out", str(out),
                 "--baseline", "gpt-4o"]) == 0
    result = json.loads((out / "savings.json").read_text())
    rpc = stub.GetSavings(pb.GetSavingsRequest(baseline_model="gpt-4o"))
    assert result["total"]["savings_nanos"] == rpc.total.savings.nanos
    assert result["total"]["calls"] == 7
    assert "TOTAL" in capsys.readouterr().out
    assert main(["eval", "--store", server.app.settings.database_url, "--out", str(out),
                 "--baseline", "nope"]) == 2
    assert main(["eval", "--store", server.app.settings.database_url, "--out", str(out),
                 "--since", "yesterday"]) == 2
