"""The spend dashboard in a real headless Chromium (Playwright driving Debian's ``chromium``,
never a downloaded browser), against a server filled by ``router simulate --scenario small``:
every panel renders, the numbers shown equal QuerySpend's for the same filter, a filter changes
them and the URL, an agent's drill-down lists its recent decisions as ListDecisions answers
them (page after page), an anomaly detected while the page is open arrives over the live feed,
a team key sees only its team, the CSV exports equal their tables (the chargeback's equals
``router report chargeback --format csv``), and the page logs no console error.

Outside CI (``CI`` not ``true``) the test skips when chromium or playwright is missing; in CI
it runs (``.ci/run`` installs chromium)."""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from router import v1 as pb
from router.cli import main
from router.client import connect, stub
from router.core.spend import Bucket, SpendQuery, bucket_starts
from tests.browser import CHROMIUM, need_a_browser
from tests.conftest import RunningServer, make_settings

TOKEN = "dashboard-admin-token"
TEAM = "legal"
need_a_browser()

from playwright.sync_api import Page, sync_playwright  # noqa: E402 - only with a browser

# Chromium logs a refused fetch as a console error: the page's first call on a server that
# needs a key is answered 401, and that is how it learns to ask for one
EXPECTED_401 = "the server responded with a status of 401"


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, str]]:
    """A server with an admin token, filled by ``router simulate --scenario small``, a monthly
    budget of team legal, and a key of team legal."""
    tmp = tmp_path_factory.mktemp("dashboard")
    server = RunningServer(make_settings(tmp, admin_token=TOKEN, anomaly_interval_s=0.0))
    saved = os.environ.get("ROUTER_API_KEY")
    os.environ["ROUTER_API_KEY"] = TOKEN
    try:
        assert main(["simulate", "--scenario", "small", "--days", "3", "--seed", "11",
                     "--address", server.address]) == 0
    finally:
        if saved is None:
            os.environ.pop("ROUTER_API_KEY", None)
        else:
            os.environ["ROUTER_API_KEY"] = saved
    with connect(server.address, key=TOKEN, tls=False) as channel:
        admin = stub(channel)
        admin.SetBudget(pb.SetBudgetRequest(budget=pb.Budget(
            id="legal-monthly", scope=pb.BudgetScope(team=TEAM), window=pb.BUDGET_WINDOW_MONTH,
            limit=pb.Money(currency_code="USD", nanos=50 * 10**9), time_zone="UTC")))
        secret = admin.CreateApiKey(pb.CreateApiKeyRequest(key=pb.ApiKey(
            role=pb.ROLE_TEAM, team=TEAM))).secret
    try:
        yield server, secret
    finally:
        server.stop()


def query(server: RunningServer, page: Page, **kw: Any) -> Any:
    """QuerySpend over gRPC, as the admin, for the page's range."""
    main_el = page.locator("main")
    request = pb.QuerySpendRequest(time_zone=main_el.get_attribute("data-tz") or "", **kw)
    request.start_time.FromJsonString(main_el.get_attribute("data-start") or "")
    request.end_time.FromJsonString(main_el.get_attribute("data-end") or "")
    with connect(server.address, key=TOKEN, tls=False) as channel:
        return stub(channel).QuerySpend(request)


def chart_buckets(page: Page) -> list[int]:
    """The buckets the server counts for the page's range, zone and bucket size."""
    main_el = page.locator("main")
    start, end = (int(datetime.fromisoformat(main_el.get_attribute(f"data-{k}") or "")
                      .timestamp() * 1e6) for k in ("start", "end"))
    bucket = Bucket(page.input_value("#bucket"))
    return bucket_starts(SpendQuery(start, end, (), bucket,
                                    main_el.get_attribute("data-tz") or "UTC")) or []


def decisions(server: RunningServer, page: Page, token: str = "", **kw: Any) -> Any:
    """ListDecisions over gRPC, as the admin, for the page's range."""
    main_el = page.locator("main")
    request = pb.ListDecisionsRequest(page_size=50, page_token=token, **kw)
    request.start_time.FromJsonString(main_el.get_attribute("data-start") or "")
    request.end_time.FromJsonString(main_el.get_attribute("data-end") or "")
    with connect(server.address, key=TOKEN, tls=False) as channel:
        return stub(channel).ListDecisions(request)


def decision_rows(page: Page) -> list[tuple[str | None, str | None, str | None]]:
    return [(r.get_attribute("data-decision"), r.get_attribute("data-predicted-nanos"),
             r.get_attribute("data-actual-nanos"))
            for r in page.locator('table[data-table="decisions"] tbody tr').all()]


def expected_rows(answer: Any) -> list[tuple[str, str, str]]:
    return [(d.decision_id, str(d.predicted_cost.nanos),
             str(d.actual_cost.nanos) if d.usage_count else "") for d in answer.decisions]


def sign_in(page: Page, key: str) -> None:
    page.locator("#auth").wait_for()
    page.fill("#auth-key", key)
    page.press("#auth-key", "Enter")
    ready(page)


def ready(page: Page) -> None:
    page.wait_for_selector("main[data-ready=true]", timeout=20_000)


def table_cells(page: Page, name: str) -> list[list[str]]:
    t = page.locator(f'table[data-table="{name}"]')
    header = [c.strip() for c in t.locator("thead th").all_inner_texts()]
    rows = [[c.strip() for c in r.locator("td").all_inner_texts()]
            for r in t.locator("tbody tr").all()]
    return [header, *rows]


def exported(page: Page, name: str) -> list[list[str]]:
    with page.expect_download() as info:
        page.click(f'button[data-csv="{name}"]')
    text = Path(info.value.path()).read_text()
    return list(csv.reader(io.StringIO(text)))


def test_the_dashboard_shows_the_rollups_numbers_for_the_callers_scope(
        filled: tuple[RunningServer, str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    server, team_key = filled
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900},
                                    accept_downloads=True)
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.goto(server.http_url + "/")
            sign_in(page, TOKEN)

            # every panel rendered
            assert page.locator("[data-card]").count() == 7
            assert page.locator("#chart svg rect").count() > 0
            assert page.locator("#chart svg line.trend").count() == 1
            assert page.locator('table[data-table="top-team"] tbody tr').count() == 3
            assert page.locator("li[data-budget=legal-monthly]").count() == 1
            assert page.locator("table[data-table=anomalies]").count() == 1
            assert page.locator("#chargeback table tbody tr").count() >= 2
            page.screenshot(path=tmp_path / "dashboard.png", full_page=True)

            # the numbers are QuerySpend's for the same range
            total = query(server, page).total
            spend = page.locator("[data-card=spend]")
            assert spend.get_attribute("data-nanos") == str(total.cost.total.nanos)
            assert page.get_attribute("[data-card=calls]", "data-value") == str(total.calls)
            t = total.tokens
            assert page.get_attribute("[data-card=tokens]", "data-value") == str(
                t.input + t.cached_input + t.output + t.reasoning)
            assert page.get_attribute("#chart", "data-total-nanos") == str(total.cost.total.nanos)
            # every bucket of the range has its place on the chart, those without spend too
            assert page.get_attribute("#chart", "data-buckets") == str(len(chart_buckets(page)))
            by_team = query(server, page, group_by=[pb.SPEND_DIMENSION_TEAM])
            shown = {r.get_attribute("data-name"): (r.get_attribute("data-nanos"),
                                                    r.get_attribute("data-calls"))
                     for r in page.locator('table[data-table="top-team"] tbody tr').all()}
            assert shown == {r.team: (str(r.cost.total.nanos), str(r.calls))
                             for r in by_team.rows}
            # quality next to cost: the simulator scores its calls, QuerySpend averages them
            scored = {r.get_attribute("data-name"): (r.get_attribute("data-scored"),
                                                     r.get_attribute("data-quality"))
                      for r in page.locator('table[data-table="top-team"] tbody tr').all()}
            assert all(int(n) > 0 for n, _ in scored.values())
            for r in by_team.rows:
                n, mean = scored[r.team]
                assert int(n) == r.quality_count and float(mean) == pytest.approx(r.quality_mean)
            budget = page.locator("li[data-budget=legal-monthly]")
            assert budget.get_attribute("data-limit") == str(50 * 10**9)
            assert budget.get_attribute("data-state") == "ok"

            # the CSV exports equal their tables; the chargeback's equals the CLI's
            assert exported(page, "top-team") == table_cells(page, "top-team")
            month = page.input_value("#month")
            chargeback = exported(page, f"chargeback-{month}")
            assert chargeback == table_cells(page, f"chargeback-{month}")
            capsys.readouterr()
            assert main(["report", "chargeback", "--period", month, "--format", "csv",
                         "--address", server.address, "--token", TOKEN]) == 0
            assert chargeback == list(csv.reader(io.StringIO(capsys.readouterr().out)))
            # the month's FOCUS rows: the CLI's, byte for byte
            with page.expect_download() as info:
                page.click("#focus-export")
            assert info.value.suggested_filename == f"focus-{month}.csv"
            focus_csv = Path(info.value.path()).read_text()
            assert main(["report", "focus", "--period", month, "--address", server.address,
                         "--token", TOKEN]) == 0
            assert focus_csv == capsys.readouterr().out and focus_csv.count("\n") > 100

            # a filter changes the numbers and the URL; a drill-down too
            page.fill("#filters input[name=team]", "research")
            page.click("#filters button[type=submit]")
            ready(page)
            assert "team=research" in page.url
            research = query(server, page, filter=pb.Attribution(team="research")).total
            assert spend.get_attribute("data-nanos") == str(research.cost.total.nanos)
            assert research.cost.total.nanos != total.cost.total.nanos
            page.get_by_role("button", name="Clear").click()
            ready(page)
            page.locator('table[data-table="top-team"] button', has_text=TEAM).click()
            ready(page)
            assert f"team={TEAM}" in page.url and "by=agent" in page.url
            agents = query(server, page, filter=pb.Attribution(team=TEAM),
                           group_by=[pb.SPEND_DIMENSION_AGENT])
            assert {r.get_attribute("data-name") for r in
                    page.locator('table[data-table="top-agent"] tbody tr').all()} == {
                r.agent for r in agents.rows}
            assert page.locator("#decisions-panel").is_hidden()  # no agent chosen yet

            # an agent's drill-down: its task types, and its recent decisions as ListDecisions
            # answers them for the same filters and range, a page at a time
            agent = max(agents.rows, key=lambda r: r.calls).agent
            with connect(server.address, key=TOKEN, tls=False) as channel:
                for i in range(60):  # more than a page of the agent's, made now
                    stub(channel).Route(pb.RouteRequest(
                        task_description=f"Check clause {i} of the contract for risks.",
                        attribution=pb.Attribution(team=TEAM, agent=agent, task_type="drill")))
            server.app.recorder.flush()
            page.locator('table[data-table="top-agent"] button', has_text=agent).first.click()
            ready(page)
            assert f"agent={agent}" in page.url and "by=task_type" in page.url
            assert page.locator("#decisions-panel").is_visible()
            keys = pb.Attribution(team=TEAM, agent=agent)
            first = decisions(server, page, filter=keys)
            assert first.decisions and first.next_page_token, "the agent has over a page"
            assert decision_rows(page) == expected_rows(first)
            assert {d.attribution.agent for d in first.decisions} == {agent}
            cells = table_cells(page, "decisions")
            assert cells[0][1:4] == ["task type", "model", "complexity"]
            assert cells[0][4:6] == ["predicted cost (USD)", "actual cost (USD)"]
            assert [row[1:4] for row in cells[1:]] == [
                [d.attribution.task_type, d.model, d.complexity.label] for d in first.decisions]
            assert exported(page, "decisions") == cells
            page.click("#decisions-more")
            page.locator('table[data-table="decisions"] tbody tr').nth(50).wait_for()
            second = decisions(server, page, first.next_page_token, filter=keys)
            assert decision_rows(page) == expected_rows(first) + expected_rows(second)
            assert len({r[0] for r in decision_rows(page)}) == len(decision_rows(page))
            page.screenshot(path=tmp_path / "dashboard-decisions.png", full_page=True)

            # an anomaly detected while the page is open arrives over the live feed
            page.wait_for_selector("#feed-state[data-state=live]")
            before = page.locator("table[data-table=anomalies] tbody tr").count()
            with connect(server.address, key=TOKEN, tls=False) as channel:
                found = stub(channel).DetectAnomalies(pb.DetectAnomaliesRequest()).anomalies
            assert found, "the simulation injects anomalies the detectors find"
            page.wait_for_selector(f'tr[data-anomaly="{found[0].id}"]', timeout=10_000)
            assert page.locator("table[data-table=anomalies] tbody tr").count() > before
            link = page.locator(f'tr[data-anomaly="{found[0].id}"] a')
            assert "bucket=hour" in (link.get_attribute("href") or "")
            page.screenshot(path=tmp_path / "dashboard-anomalies.png", full_page=True)

            # a team key sees its team only (a fresh tab: the key lives in sessionStorage)
            team_page = browser.new_page(viewport={"width": 1440, "height": 900})
            team_page.on("console", lambda m: m.type == "error" and errors.append(m.text))
            team_page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            team_page.goto(server.http_url + "/")
            sign_in(team_page, team_key)
            names = {r.get_attribute("data-name") for r in
                     team_page.locator('table[data-table="top-team"] tbody tr').all()}
            assert names == {TEAM}
            mine = query(server, team_page, filter=pb.Attribution(team=TEAM)).total
            assert team_page.get_attribute("[data-card=spend]", "data-nanos") == str(
                mine.cost.total.nanos)
            team_page.screenshot(path=tmp_path / "dashboard-team.png", full_page=True)
        finally:
            browser.close()
    if os.environ.get("DASHBOARD_SCREENSHOT"):
        shutil.copy(tmp_path / "dashboard.png", os.environ["DASHBOARD_SCREENSHOT"])
    assert [e for e in errors if EXPECTED_401 not in e] == []
