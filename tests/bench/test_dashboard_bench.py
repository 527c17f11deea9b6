"""The dashboard benchmark end to end on a tiny store (a few thousand rows of October 2026,
loaded as ``router.bench.spend`` loads its 10 million): one page load per view in headless
Chromium, and the JSON has the keys and sane values (its timings are not judged here).

Outside CI (``CI`` not ``true``) the test skips when chromium or playwright is missing, as
tests/browser/test_dashboard.py does; in CI it runs (``.ci/run`` installs chromium)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from router.bench import dashboard
from router.bench.spend import fill
from router.store.sql import SqlStore
from tests.browser import need_a_browser

need_a_browser()

ROWS = 2000


def test_it_times_every_view_and_names_each_request(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'spend.db'}"
    store = SqlStore(url)
    store.migrate()
    fill(store, ROWS)
    store.close()

    assert dashboard.main(["--database-url", url, "--runs", "1", "--timeout-s", "60"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert "month_by_team" in captured.err  # the human summary

    assert result["rows"] == ROWS and result["runs"] == 1 and result["database"] == "sqlite"
    assert len(result["load_average"]) == 3
    assert set(result["views"]) == {v.name for v in dashboard.views("team-3")}
    assert result["interactive_max_s"] == max(v["interactive_s"]
                                              for v in result["views"].values())
    for name, v in result["views"].items():
        assert v["failed_panels"] == [] and v["errors"] == [], name
        assert 0 < v["interactive_s"] < 60 and v["interactive_runs_s"] == [v["interactive_s"]]
        # every panel rendered, none after the page said it was ready
        assert set(v["panels_s"]) == set(dashboard.PANELS), name
        assert all(0 < t <= v["interactive_s"] for t in v["panels_s"].values()), (
            name, v["panels_s"], v["interactive_s"])
        # the document, its script and style, and the panels' calls
        rpcs = [r["rpc"] for r in v["request_list"]]
        assert {"/", "/dashboard/app.js", "/dashboard/style.css"} <= set(rpcs), name
        assert rpcs.count("QuerySpend") == 6 and "GetSavings" in rpcs, name
        assert "WatchAnomalies" not in rpcs  # opened once the page is ready
        assert v["requests"] == len(rpcs) and v["api_requests"] == len(rpcs) - 3
        assert all(0 <= r["seconds"] < 60 for r in v["request_list"]), name
        slowest = v["slowest_request"]
        assert slowest["seconds"] == max(r["seconds"] for r in v["request_list"]
                                         if not r["rpc"].startswith("/"))
        assert slowest["label"].startswith(slowest["rpc"])
        spends = [r for r in v["request_list"] if r["rpc"] == "QuerySpend"]
        assert {r["period"] for r in spends} >= {"current", "previous"}, name
        assert all(set(r["source"].split("+")) <= {"usage_daily_agents", "usage_hourly",
                                                   "usage_daily", "usages"} for r in spends)
        assert any(s["rpc"] == "QuerySpend" for s in v["slowest_server_rpcs"])
    views = result["views"]
    assert "by=user" in views["month_top_by_user"]["url"]
    assert any(r.get("filters") == "team=team-3"
               for r in views["month_one_team_by_agent"]["request_list"])
    # October in London starts at 23:00 UTC on 30 September: not whole UTC days, so not the
    # daily rollup by agent
    london = [r for r in views["month_by_team_london"]["request_list"]
              if r["rpc"] == "QuerySpend" and r["period"] == "current"]
    assert london and all(r["tz"] == "Europe/London" for r in london)
    assert all(r["source"] != "usage_daily_agents" for r in london)


def test_month_bounds_follow_the_zone() -> None:
    start, end = dashboard.month_bounds("2026-10", "Europe/London")
    assert (start.isoformat(), end.isoformat()) == ("2026-09-30T23:00:00+00:00",
                                                    "2026-11-01T00:00:00+00:00")
    assert dashboard.month_bounds("2026-12", "UTC")[1].isoformat() == "2027-01-01T00:00:00+00:00"
