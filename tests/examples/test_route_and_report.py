"""The README's quick start, step by step against a real server started as it says (the example
budgets file and an admin token): examples/route_and_report.py, then the CLI."""

from __future__ import annotations

import runpy
from datetime import UTC, datetime, timedelta

import pytest

from router.cli import main
from router.settings import ROOT
from tests.conftest import RunningServer, make_settings

TOKEN = "dev-token"


@pytest.fixture
def quickstart(tmp_path, monkeypatch):
    running = RunningServer(make_settings(
        tmp_path, admin_token=TOKEN, budgets_path=str(ROOT / "examples" / "budgets.toml")))
    monkeypatch.setenv("ROUTER_ADDRESS", running.address)  # the CLI's and the example's default
    monkeypatch.setenv("ROUTER_ADMIN_TOKEN", TOKEN)
    yield running
    running.stop()


def route_and_report() -> int:
    example = runpy.run_path(str(ROOT / "examples" / "route_and_report.py"))
    return int(example["main"]([]))


def test_the_quick_start_routes_reports_pauses_resumes_and_reports_spend(quickstart, capsys):
    assert route_and_report() == 0
    route, fallbacks, usage, *budgets = capsys.readouterr().out.splitlines()
    assert route.startswith("Route: ") and " predicted " in route
    assert fallbacks.startswith("  fallbacks: ")
    assert usage.startswith("ReportUsage: cost ")
    assert sorted(b.split()[1] for b in budgets) == ["finance-monthly", "reconciler-daily-tokens"]

    assert main(["budgets", "list"]) == 0
    out = capsys.readouterr().out
    assert "finance-monthly" in out and "reconciler-daily-tokens" in out
    assert main(["budgets", "pause", "--agent", "reconciler", "--reason", "runaway loop"]) == 0
    assert route_and_report() == 1
    assert capsys.readouterr().err.startswith("FAILED_PRECONDITION: routing is paused")
    assert main(["budgets", "resume", "--agent", "reconciler"]) == 0
    assert route_and_report() == 0
    capsys.readouterr()

    quickstart.app.recorder.flush()
    today = datetime.now(UTC).date()
    assert main(["report", "spend", "--since", str(today), "--until",
                 str(today + timedelta(days=1)), "--group-by", "team,agent",
                 "--format", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[1].startswith("finance,reconciler,2,") and rows[2].startswith("TOTAL,,2,")
