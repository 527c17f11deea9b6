"""kill -9 under load: no usage of an acknowledged decision is refused, lost or counted twice.

Route answers before its decision is committed; the process is killed while Routes are in
flight; after a restart every acknowledged decision takes its usage (through its decision token
where the crash lost the decision), and reporting it all again changes nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc

from router import v1 as pb
from router.client import connect, stub
from router.settings import ROOT
from tests.integration.test_budget_concurrency import _free_port, _wait_serving

TASK = "Classify this support ticket as billing, outage or other."


def _serve(db: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "ROUTER_LOG_LEVEL": "warning", "ROUTER_DATABASE_URL": f"sqlite:///{db}",
           "ROUTER_SQLITE_SYNCHRONOUS": "FULL", "ROUTER_ANOMALY_INTERVAL_S": "0"}
    return subprocess.Popen([sys.executable, "-m", "router", "serve", "--address",
                             f"127.0.0.1:{port}"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=open(log, "a"))


def test_kill_9_loses_no_acknowledged_decision(tmp_path):
    db, log = tmp_path / "router.db", tmp_path / "server.log"
    port = _free_port()
    proc = _serve(db, port, log)
    acked: list[pb.RouteResponse] = []
    stop = threading.Event()
    try:
        _wait_serving(port, proc, log)

        def load() -> None:
            with connect(f"127.0.0.1:{port}") as channel:
                router = stub(channel)
                i = 0
                while not stop.is_set():
                    i += 1
                    try:
                        acked.append(router.Route(pb.RouteRequest(
                            task_description=f"{TASK} #{threading.get_ident()}-{i}",
                            attribution=pb.Attribution(team="ops", agent="triage",
                                                       task_id=f"t{i % 50}")), timeout=5))
                    except grpc.RpcError:
                        return  # the server is gone

        threads = [threading.Thread(target=load) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        proc.send_signal(signal.SIGKILL)  # kill -9 while Routes are answered
        proc.wait(10)
        stop.set()
        for t in threads:
            t.join(10)
        assert len(acked) > 50, "the load never got going"
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()

    proc = _serve(db, port, log)
    try:
        _wait_serving(port, proc, log)
        with connect(f"127.0.0.1:{port}") as channel:
            router = stub(channel)
            lost = 0
            for r in acked:  # which decisions did the crash lose?
                try:
                    router.GetDecision(pb.GetDecisionRequest(decision_id=r.decision_id),
                                       timeout=10)
                except grpc.RpcError as err:
                    assert err.code() is grpc.StatusCode.NOT_FOUND
                    lost += 1
            reports = [pb.ReportUsageRequest(
                usage_id=f"u-{r.decision_id}", decision_id=r.decision_id,
                decision_token=r.decision_token,
                tokens=pb.TokenUsage(input=r.predicted.input_tokens,
                                     output=r.predicted.output_tokens)) for r in acked]
            first = [router.ReportUsage(q, timeout=10) for q in reports]  # none refused
            again = [router.ReportUsage(q, timeout=10) for q in reports]
            assert not any(a.replayed for a in first) and all(a.replayed for a in again)
            spend = router.QuerySpend(pb.QuerySpendRequest(
                start_time={"seconds": 0}, end_time={"seconds": 4_000_000_000}), timeout=30)
            assert spend.total.calls == len(acked)  # each once
            assert spend.total.cost.total.nanos == sum(a.cost.total.nanos for a in first)
            for r in acked[:20]:
                got = router.GetDecision(pb.GetDecisionRequest(decision_id=r.decision_id),
                                         timeout=10)
                assert got.attribution.agent == "triage"
        print(f"kill -9: {len(acked)} acknowledged, {lost} lost by the crash, 0 refused")
    finally:
        proc.terminate()
        proc.wait(30)
