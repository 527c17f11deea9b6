"""`router report spend` against a real server: a table that reads at any terminal width, and CSV
and JSON with every column."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from router import v1 as pb
from router.cli import main
from router.v1 import router_pb2_grpc

EVERY_COLUMN = ["team", "model", "calls", "input_tokens", "cached_input_tokens", "output_tokens",
                "reasoning_tokens", "cache_write_tokens", "cost_tokens", "cost_tools",
                "cost_compute",
                "cost_human_review", "cost_total", "predicted_cost", "mape", "bias", "failures",
                "review_calls", "review_seconds"]


@pytest.fixture
def spend_args(server):
    """Calls of two teams on long-named models, with tools, compute and human review."""
    with grpc.insecure_channel(server.address) as ch:
        stub = router_pb2_grpc.RouterStub(ch)
        for i, (team, model) in enumerate([
                ("finance", "claude-sonnet-4-5-20250929"), ("finance", "gpt-4.1-mini"),
                ("research-and-development", "llama-3.3-nemotron-super-49b-v1"),
                ("research-and-development", "claude-sonnet-4-5-20250929")]):
            stub.ReportUsage(pb.ReportUsageRequest(
                usage_id=f"u{i}", model=model,
                attribution=pb.Attribution(team=team, agent="reconciler"),
                tokens=pb.TokenUsage(input=1_234_567 * (i + 1), cached_input=40_000,
                                     output=250_000, reasoning=12_345),
                tool_calls=[pb.ToolCall(name="web_search", count=3)],
                compute=pb.Compute(cpu_seconds=12.5),
                human_review=pb.HumanReview(seconds=90.0)))
    server.app.recorder.flush()
    today = datetime.now(UTC).date()
    return ["report", "spend", "--address", server.address, "--group-by", "team,model",
            "--since", str(today - timedelta(days=1)), "--until", str(today + timedelta(days=1))]


def headers(table: str) -> list[str]:
    """The table's column headers, each joined back from the lines rich wrapped it over."""
    rows = [line.split("┃")[1:-1] for line in table.splitlines() if line.startswith("┃")]
    return [" ".join(r[i].strip() for r in rows if r[i].strip()) for i in range(len(rows[0]))]


def column(table: str, i: int) -> str:
    """Column ``i`` of the table's body, its folded lines joined back."""
    return "".join(line.split("│")[i + 1].strip() for line in table.splitlines()
                   if line.startswith("│"))


@pytest.mark.parametrize("width", [80, 120, 200])
def test_the_spend_table_fits_the_terminal_with_whole_distinct_headers(
        spend_args, capsys, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    assert main([*spend_args, "--format", "json"]) == 0
    total = json.loads(capsys.readouterr().out)[-1]["cost_total"]
    assert main(spend_args) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= width
    assert "…" not in out  # nothing cut, neither a header nor a value
    names = headers(out)
    assert names[:3] == ["team", "model", "calls"] and "total cost" in names
    assert len(set(names)) == len(names)
    assert "research-and-development" in column(out, 0)  # whole, if folded
    assert column(out, names.index("total cost")).endswith(total)


def test_every_column_on_a_wide_terminal_keeps_its_header_whole(spend_args, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert main([*spend_args, "--columns", "all"]) == 0
    out = capsys.readouterr().out
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= 200
    names = headers(out)
    assert len(names) == len(EVERY_COLUMN) == len(set(names))
    assert {"token cost", "tool cost", "compute cost", "review cost", "total cost"} <= set(names)


def test_columns_picks_what_the_table_shows(spend_args, capsys):
    assert main([*spend_args, "--columns", "calls,cost_total"]) == 0
    assert headers(capsys.readouterr().out) == ["team", "model", "calls", "total cost"]
    assert main([*spend_args, "--columns", "calls,colour"]) == 2
    err = capsys.readouterr().err
    assert "colour" in err and "cost_total" in err  # names the known columns


def test_csv_and_json_keep_every_column_unless_asked(spend_args, capsys):
    assert main([*spend_args, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == EVERY_COLUMN and rows[-1]["team"] == "TOTAL"
    assert rows[-1]["calls"] == "4"
    assert main([*spend_args, "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert list(records[0]) == EVERY_COLUMN
    assert main([*spend_args, "--format", "csv", "--columns", "cost_total"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "team,model,cost_total"
