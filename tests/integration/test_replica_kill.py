"""kill -9 of one of two replicas on PostgreSQL with a block budget: the dead replica's holds
keep their room past their TTL, the survivor cannot spend it, and the dead replica's calls,
reported late through the survivor, take the budget over its limit by no more than their actual
cost above their prediction."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from router import v1 as pb
from router.client import connect, stub
from router.settings import ROOT
from tests.integration.test_budget_concurrency import (
    MODEL,
    TASK,
    _free_port,
    _wait_serving,
    predicted_cost,
)

CALLS = 12


def _budget(tmp_path: Path, limit_nanos: int) -> Path:
    path = tmp_path / "budgets.toml"
    path.write_text(f'schema_version = 1\n[[budgets]]\nid = "mail"\nscope = {{ agent = "mailer" }}'
                    f'\nlimit = "{limit_nanos // 10**9}.{limit_nanos % 10**9:09d}"\n'
                    'window = "day"\non_exhausted = "block"\nhold_ttl_seconds = 1\n')
    return path


def _request() -> pb.RouteRequest:
    return pb.RouteRequest(task_description=TASK, allowed_models=[MODEL],
                           attribution=pb.Attribution(team="ops", agent="mailer"))


@pytest.mark.postgres
def test_a_killed_replica_cannot_make_the_other_overspend(tmp_path, pg_url):
    cost = predicted_cost(tmp_path)
    limit = cost * CALLS
    env = {**os.environ, "ROUTER_LOG_LEVEL": "warning", "ROUTER_DATABASE_URL": pg_url,
           "ROUTER_BUDGETS_PATH": str(_budget(tmp_path, limit)), "ROUTER_BUDGET_TICK_S": "0.1",
           "ROUTER_ANOMALY_INTERVAL_S": "0", "ROUTER_DECISION_LOOKUP_GRACE_MS": "200"}
    ports, procs = [_free_port(), _free_port()], []
    try:
        for i, port in enumerate(ports):
            log = tmp_path / f"server{i}.log"
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "router", "serve", "--address", f"127.0.0.1:{port}"],
                env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(log, "w")))  # noqa: SIM115
            _wait_serving(port, procs[i], log)
        with connect(f"127.0.0.1:{ports[0]}") as a_channel:
            routed = [stub(a_channel).Route(_request(), timeout=10) for _ in range(CALLS)]
        procs[0].send_signal(signal.SIGKILL)  # replica A dies with all its calls in flight
        procs[0].wait(10)
        time.sleep(1.5)  # past the holds' TTL; the survivor's sweeper has run many times
        with connect(f"127.0.0.1:{ports[1]}") as channel:
            b = stub(channel)
            for _ in range(5):
                with pytest.raises(grpc.RpcError) as refused:
                    b.Route(_request(), timeout=10)
                assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
            excess = 0
            for i, r in enumerate(routed):  # A's calls, reported late, at 1.5x the prediction
                actual = r.predicted.cost.nanos * 3 // 2
                excess += actual - r.predicted.cost.nanos
                b.ReportUsage(pb.ReportUsageRequest(
                    usage_id=f"late-{i}", decision_id=r.decision_id,
                    decision_token=r.decision_token, tokens=pb.TokenUsage(input=10, output=10),
                    actual_cost=pb.Money(nanos=actual)), timeout=10)
            status = b.GetBudgetStatus(pb.GetBudgetStatusRequest(id="mail"), timeout=10)
            assert status.held.nanos == 0
            assert status.spent.nanos <= limit + excess
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait(30)
