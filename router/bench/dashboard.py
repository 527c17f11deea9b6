"""The spend dashboard in a browser at scale: how long until the whole page is interactive (issue
13: <= 3 s for a month over 10 million usage rows, each panel's call <= 1 s), and which of its
HTTP calls took how long (`python -m router.bench.dashboard --database-url URL [--runs 3]`).

It starts `router serve` on the store (a subprocess, HTTP on a free loopback port, anomaly
detection off so only the page reads the store, an admin token the page is handed in
``sessionStorage``), opens the dashboard in headless Chromium (Playwright driving Debian's
``/usr/bin/chromium``, never a downloaded browser) on a few views of October 2026 (the month
``router.bench.spend`` loads), each ``--runs`` times in a fresh browser context, and measures:

* ``interactive_s``: navigation start to ``main[data-ready=true]`` (app.js sets it once every
  panel has rendered or failed), read in the page by a MutationObserver, so no polling delay;
* ``panels_s``: navigation start to each panel's first render;
* every request the page made before it was ready (the document, its script and style, the API
  calls; the anomaly feed it opens afterwards is left out), with its duration from Playwright's
  resource timing, the RPC, what it asked (group by, bucket, which period) and, for QuerySpend,
  the tables the server answers it from (``SpendQuery.plan()``, e.g.
  ``usage_hourly+usage_daily_agents``);
* the server's own ``rpc`` log lines (latency per RPC) for the same run.

A view's numbers are the median run's; ``interactive_runs_s`` lists every run (the first is the
coldest). A run that is not ready within ``--timeout-s`` is reported as such (``interactive_s``
null, the calls still unanswered in ``pending_requests``) and its view is not repeated.
``--stub RPC`` answers that RPC in the browser with ``{}``, so the rest of the page is timed as
if it were instant (what the page would cost once that call is fixed). The summary goes to
stderr and the last line on stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from google.protobuf import json_format

from router import v1 as pb
from router.api import convert

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
KEY_STORE = "router.dashboard.key"  # app.js's sessionStorage key
PANELS = ("cards", "chart", "top-table", "budgets", "anomalies", "chargeback")
INTERACTIVE_TARGET_S = 3.0
REQUEST_TARGET_S = 1.0
MONTH = "2026-10"

# Installed before app.js runs: hands the page the key, and stamps (performance.now(), i.e. ms
# since navigation start) each panel's first render and the ready signal as they happen.
_INIT = """
(() => {
  const b = window.__bench = { ready: null, panels: {} };
  const key = %(key)s;
  if (key) sessionStorage.setItem(%(store)s, key);
  const panels = new Set(%(panels)s);
  new MutationObserver((mutations) => {
    const t = performance.now();
    for (const m of mutations) {
      const n = m.target;
      if (m.type === "childList" && panels.has(n.id) && !(n.id in b.panels)) {
        b.panels[n.id] = t;
        performance.mark("bench-panel-" + n.id);
      } else if (m.type === "attributes" && n.id === "main" && n.dataset.ready === "true"
                 && b.ready === null) {
        b.ready = t;
        performance.mark("bench-ready");
      }
    }
  }).observe(document, { subtree: true, childList: true, attributes: true,
                         attributeFilter: ["data-ready"] });
})();
"""


@dataclass(frozen=True)
class View:
    name: str
    query: dict[str, str]  # the dashboard URL's query
    start: datetime
    end: datetime


def month_bounds(month: str, tz: str) -> tuple[datetime, datetime]:
    y, m = map(int, month.split("-"))
    zone = ZoneInfo(tz)
    start = datetime(y, m, 1, tzinfo=zone)
    end = datetime(y + m // 12, m % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _z(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%MZ")


def views(team: str, month: str = MONTH) -> list[View]:
    """The month overview by team (the default), the top table by user and by task type, the
    chart stacked by model, one team's drill-down (its agents), and the month in Europe/London
    (whose bounds are not whole UTC days)."""
    out = []
    for name, tz, extra in (
            ("month_by_team", "UTC", {}),
            ("month_top_by_user", "UTC", {"by": "user"}),
            ("month_top_by_task_type", "UTC", {"by": "task_type"}),
            ("month_stacked_by_model", "UTC", {"stack": "model"}),
            ("month_one_team_by_agent", "UTC", {"team": team, "by": "agent"}),
            ("month_by_team_london", "Europe/London", {})):
        start, end = month_bounds(month, tz)
        out.append(View(name, {"from": _z(start), "to": _z(end), "tz": tz, "month": month,
                               **extra}, start, end))
    return out


# -- the server -------------------------------------------------------------------------------

class Server:
    """`router serve` on free ports; its JSON log lines are kept (``lines``)."""

    def __init__(self, url: str, token: str, log_path: str = "") -> None:
        self.lines: list[dict[str, Any]] = []
        self._log = open(log_path, "a", buffering=1) if log_path else None  # noqa: SIM115
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "router.cli", "serve", "--address", "127.0.0.1:0",
             "--http-address", "127.0.0.1:0", "--database-url", url, "--admin-token", token,
             "--log-level", "info", "--log-format", "json", "--anomaly-interval-s", "0"],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert self.proc.stderr is not None
        deadline = time.monotonic() + 300  # the store migrates first
        tail: list[str] = []
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            tail = [*tail[-20:], line]
            event = _json(line)
            if event.get("event") == "server.started":
                self.http_port = int(event["http_port"])
                self._drainer = threading.Thread(target=self._drain, daemon=True)
                self._drainer.start()
                return
        self.proc.kill()
        raise RuntimeError("router serve did not start:\n" + "".join(tail))

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if self._log:
                self._log.write(line)
            event = _json(line)
            if event:
                with self._lock:
                    self.lines.append(event)

    def mark(self) -> int:
        with self._lock:
            return len(self.lines)

    def rpcs_since(self, mark: int) -> list[dict[str, Any]]:
        time.sleep(0.2)  # the last lines are written just after the responses
        with self._lock:
            return [e for e in self.lines[mark:] if e.get("event") == "rpc"]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self._drainer.join(10)  # to the end of its stderr
        if self._log:
            self._log.close()


def _json(line: str) -> dict[str, Any]:
    try:
        event = json.loads(line)
    except ValueError:
        return {}
    return event if isinstance(event, dict) else {}


# -- what a request asked ---------------------------------------------------------------------

def describe(url: str, body: str | None, view: View) -> dict[str, Any]:
    """The RPC of a request and, for the API's calls, what it asked; a QuerySpend also names
    the table the server answers it from."""
    path = url.split("://", 1)[-1].partition("/")[2].partition("?")[0]
    if not path.startswith("v1/"):
        return {"rpc": "/" + path}
    rpc = path[3:]
    out: dict[str, Any] = {"rpc": rpc}
    if rpc != "QuerySpend" or not body:
        return out
    req = json_format.Parse(body, pb.QuerySpendRequest(), ignore_unknown_fields=True)
    query = convert.spend_query(req)
    start, end = (datetime.fromtimestamp(t / 1e6, UTC) for t in (query.start_us, query.end_us))
    if (start, end) == (view.start, view.end):
        period = "current"
    elif end == view.start:
        period = "previous"
    else:
        period = f"{_z(start)}..{_z(end)}"
    out.update(group_by=",".join(query.group_by), bucket=query.bucket.value, period=period,
               tz=query.timezone, source="+".join(p.source.value for p in query.plan()))
    if query.filters:
        out["filters"] = ",".join(f"{k}={v}" for k, v in query.filters.items())
    return out


def label(r: dict[str, Any]) -> str:
    if r["rpc"] != "QuerySpend":
        return r["rpc"]
    parts = [f"by {r['group_by'] or '-'}", f"bucket {r['bucket']}", r["period"]]
    if r.get("filters"):
        parts.append(r["filters"])
    return f"QuerySpend({', '.join(parts)}) from {r['source']}"


# -- the browser ------------------------------------------------------------------------------

def _one_run(browser: Any, base: str, view: View, token: str, timeout_s: float,
             stub: tuple[str, ...] = ()) -> dict[str, Any]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        context.add_init_script(_INIT % {"key": json.dumps(token), "store": json.dumps(KEY_STORE),
                                         "panels": json.dumps(list(PANELS))})
        for rpc in stub:  # answered in the browser, never reaching the server
            context.route(f"**/v1/{rpc}", lambda route: route.fulfill(
                status=200, content_type="application/json", body="{}"))
        page = context.new_page()
        errors: list[str] = []
        def console(m: Any) -> None:
            if m.type == "error":
                errors.append(m.text)

        page.on("console", console)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        started: list[Any] = []
        finished: list[Any] = []
        failed: list[Any] = []
        page.on("request", lambda r: started.append(r))
        page.on("requestfinished", lambda r: finished.append(r))
        page.on("requestfailed", lambda r: failed.append(r))
        page.goto(base + "/?" + urlencode(view.query))
        timed_out = False
        try:
            # (the page's CSP forbids eval, so no wait_for_function; the stamp is exact anyway)
            page.wait_for_selector("main[data-ready=true]", state="attached",
                                   timeout=timeout_s * 1000)
        except PlaywrightTimeout:
            timed_out = True
        got = page.evaluate("""() => ({ ready: __bench.ready, panels: __bench.panels,
            origin: performance.timeOrigin, now: performance.now(),
            status: document.getElementById("status").textContent,
            failed: [...document.querySelectorAll("main .error")].map((e) => e.closest("[id]").id)
        })""")
        ready_ms = float(got["ready"] if got["ready"] is not None else got["now"])
        requests = []
        for req in finished:
            t = req.timing
            start_ms = float(t["startTime"]) - float(got["origin"])
            if start_ms > ready_ms:
                continue  # opened after the page was ready: the anomaly feed
            end = float(t["responseEnd"])
            r = describe(req.url, req.post_data, view)
            if r["rpc"] in stub:
                r["stubbed"] = True
            r |= {"start_s": round(start_ms / 1000, 3),
                  "seconds": round(end / 1000, 3) if end >= 0 else None}
            requests.append(r)
        for req in failed:
            requests.append({**describe(req.url, req.post_data, view), "failed": req.failure})
        done = {id(r) for r in (*finished, *failed)}
        pending = [describe(r.url, r.post_data, view) for r in started
                   if timed_out and id(r) not in done]
        pending = [r for r in pending if r["rpc"] != "WatchAnomalies"]
        for r in pending:
            r["label"] = label(r)
        requests.sort(key=lambda r: r.get("start_s", 0.0))
        return {"interactive_s": None if timed_out else round(ready_ms / 1000, 3),
                "timed_out_after_s": timeout_s if timed_out else None,
                "panels_s": {k: round(v / 1000, 3) for k, v in got["panels"].items()},
                "requests": requests, "pending": pending, "status": got["status"],
                "failed_panels": sorted(set(got["failed"])), "errors": errors}
    finally:
        context.close()


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ranked = sorted(runs, key=lambda r: r["interactive_s"] or float("inf"))
    return ranked[(len(ranked) - 1) // 2]


def run_view(browser: Any, server: Server, view: View, runs: int, token: str,
             timeout_s: float, stub: tuple[str, ...] = ()) -> dict[str, Any]:
    base = f"http://127.0.0.1:{server.http_port}"
    done = []
    for _ in range(runs):
        mark = server.mark()
        run = _one_run(browser, base, view, token, timeout_s, stub)
        run["server"] = [{k: e[k] for k in ("rpc", "latency_ms", "group_by", "bucket", "rows")
                          if k in e} for e in server.rpcs_since(mark)
                         if e.get("rpc") != "WatchAnomalies"]
        done.append(run)
        if run["interactive_s"] is None:
            break  # the server is still busy with it: another run would time that, not this
    run = _median_run(done)
    api = [r for r in run["requests"] if r["rpc"][0] != "/" and r.get("seconds") is not None
           and not r.get("stubbed")]
    slowest = max(api, key=lambda r: r["seconds"], default=None)
    return {
        "url": "/?" + urlencode(view.query),
        "interactive_s": run["interactive_s"],
        "interactive_runs_s": [r["interactive_s"] for r in done],
        "interactive_ok": (run["interactive_s"] is not None
                           and run["interactive_s"] <= INTERACTIVE_TARGET_S),
        "timed_out_after_s": run["timed_out_after_s"],
        "requests": len(run["requests"]),
        "api_requests": len(api),
        "slowest_request": slowest and {**slowest, "label": label(slowest)},
        "requests_within_1s": all(r["seconds"] <= REQUEST_TARGET_S for r in api)
        and not run["pending"],
        # still unanswered when the page gave up waiting (a timed-out run only)
        "pending_requests": run["pending"],
        "panels_s": run["panels_s"],
        "slowest_server_rpcs": sorted(run["server"], key=lambda e: -e.get("latency_ms", 0))[:5],
        "failed_panels": run["failed_panels"],
        "errors": run["errors"],
        "status": run["status"],
        "request_list": run["requests"],
    }


def bench(url: str, runs: int = 3, team: str = "team-3", month: str = MONTH,
          timeout_s: float = 120.0, server_log: str = "", stub: tuple[str, ...] = ()
          ) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = int(conn.execute(sa.text("SELECT count(*) FROM usages")).scalar_one())
        dialect = engine.dialect.name
    finally:
        engine.dispose()
    token = "bench-" + secrets.token_hex(16)
    server = Server(url, token, server_log)
    results: dict[str, Any] = {"database": dialect, "rows": rows, "runs": runs, "month": month,
                               "interactive_target_s": INTERACTIVE_TARGET_S,
                               "request_target_s": REQUEST_TARGET_S, "stubbed": list(stub),
                               "load_average": [round(x, 2) for x in os.getloadavg()]}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                out = {v.name: run_view(browser, server, v, runs, token, timeout_s, stub)
                       for v in views(team, month)}
            finally:
                browser.close()
    finally:
        server.stop()
    results["views"] = out
    results["interactive_max_s"] = max(
        (v["interactive_s"] for v in out.values()), key=lambda s: s or float("inf"))
    results["all_interactive_ok"] = all(v["interactive_ok"] for v in out.values())
    results["all_requests_within_1s"] = all(v["requests_within_1s"] for v in out.values())
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return results


def summary(results: dict[str, Any]) -> str:
    lines = [f"dashboard over {results['rows']:,} usage rows ({results['database']}), month "
             f"{results['month']}, median of {results['runs']} run(s); load average "
             f"{results['load_average']} -> {results['load_average_after']}"
             + (f"; answered in the browser, not timed: {', '.join(results['stubbed'])}"
                if results["stubbed"] else "")]
    for name, v in results["views"].items():
        s = v["slowest_request"]
        runs = ", ".join("timeout" if x is None else f"{x:.2f}" for x in v["interactive_runs_s"])
        shown = (f"{v['interactive_s']:6.2f} s" if v["interactive_s"] is not None
                 else f"not within {v['timed_out_after_s']:g} s")
        lines.append(f"{name:>24}: interactive {shown} "
                     f"({'ok' if v['interactive_ok'] else 'OVER'} <= "
                     f"{results['interactive_target_s']:g} s; runs {runs}), "
                     f"{v['requests']} requests ({v['api_requests']} API)")
        if s:
            lines.append(f"{'':>26}slowest {s['seconds']:.3f} s: {s['label']}")
        for r in v["request_list"]:
            if r["rpc"][0] != "/" and r.get("seconds") is not None and r["seconds"] > \
                    results["request_target_s"]:
                lines.append(f"{'':>26}  > {results['request_target_s']:g} s: "
                             f"{r['seconds']:.3f} s {label(r)}")
        for r in v["pending_requests"]:
            lines.append(f"{'':>26}  still waiting for: {r['label']}")
        if v["failed_panels"] or v["errors"]:
            lines.append(f"{'':>26}failed panels {v['failed_panels']}, errors {v['errors']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="router.bench.dashboard", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True,
                        help="the store, e.g. sqlite:////tmp/spend10m-copy.db (filled by "
                             "router.bench.spend; the server migrates it at start)")
    parser.add_argument("--runs", type=int, default=3, help="page loads per view (default 3)")
    parser.add_argument("--team", default="team-3", help="the drill-down's team (team-3)")
    parser.add_argument("--month", default=MONTH, help=f"YYYY-MM (default {MONTH})")
    parser.add_argument("--stub", action="append", default=[], metavar="RPC",
                        help="answer this RPC in the browser with {} (repeatable): the rest "
                             "of the page timed as if it were instant, e.g. --stub GetSavings")
    parser.add_argument("--server-log", default="",
                        help="also write the server's log lines to this file")
    parser.add_argument("--timeout-s", type=float, default=120.0,
                        help="longest wait for one page to be ready (default 120)")
    args = parser.parse_args(argv)
    results = bench(args.database_url, args.runs, args.team, args.month, args.timeout_s,
                    args.server_log, tuple(args.stub))
    print(summary(results), file=sys.stderr)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
