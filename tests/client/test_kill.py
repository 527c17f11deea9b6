"""The done-when case: a `router serve` process killed with SIGKILL in the middle of a call (after
its Route, during the body), restarted on the same address and database while the call's
ReportUsage is retrying, ends with exactly one usage for the call."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from router import v1 as pb
from router.client import Client
from router.settings import ROOT
from tests.integration.test_budget_concurrency import _free_port, _wait_serving

TASK = "Classify this support ticket as billing, outage or other."


def _serve(db: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "ROUTER_LOG_LEVEL": "warning", "ROUTER_DATABASE_URL": f"sqlite:///{db}",
           "ROUTER_SQLITE_SYNCHRONOUS": "FULL", "ROUTER_ANOMALY_INTERVAL_S": "0",
           "ROUTER_HTTP_ADDRESS": ""}
    return subprocess.Popen([sys.executable, "-m", "router.cli", "serve", "--address",
                             f"127.0.0.1:{port}"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=open(log, "a"))


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def test_sigkill_mid_call_and_a_restart_during_the_report_records_it_once(tmp_path):
    db, log = tmp_path / "router.db", tmp_path / "server.log"
    port = _free_port()
    procs = [_serve(db, port, log)]
    try:
        _wait_serving(port, procs[0], log)
        with Client(f"127.0.0.1:{port}", key="") as router:
            restarted = threading.Event()

            def restart() -> None:  # while the scope's exit retries its ReportUsage
                time.sleep(0.5)
                procs.append(_serve(db, port, log))
                restarted.set()

            with router.call(TASK, team="ops", agent="triage", task_id="t-1") as call:
                _kill(procs[0])  # the Route was answered; its commit may be lost with it
                call.record({"input_tokens": 900, "output_tokens": 40,
                             "cache_read_input_tokens": 100})
                threading.Thread(target=restart, daemon=True).start()
            assert restarted.is_set() and not call.receipt.replayed

            total = _spend(router)
            assert total.calls == 1 and total.tokens.cached_input == 100
            # the whole step run again with the same keys records nothing new
            again = router.ReportUsage(call.sent)
            assert again.replayed and _spend(router).calls == 1
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


def _spend(router: Client) -> pb.SpendRow:
    from google.protobuf.timestamp_pb2 import Timestamp

    start, end = Timestamp(), Timestamp()
    start.FromSeconds(int(time.time()) - 3600)
    end.FromSeconds(int(time.time()) + 3600)
    return router.QuerySpend(pb.QuerySpendRequest(
        start_time=start, end_time=end, filter=pb.Attribution(team="ops"))).total

