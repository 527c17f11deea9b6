"""`router serve` as a real process: SIGTERM drains, flushes and exits 0 with nothing lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import sqlalchemy as sa

from router import v1 as pb
from router.v1 import router_pb2_grpc


def start_server(db: Path) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "router.cli", "serve", "--address", "127.0.0.1:0",
         "--database-url", f"sqlite:///{db}", "--log-level", "info"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 30
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        event = json.loads(line)
        if event.get("event") == "server.started":
            # keep draining stderr so the server never blocks on a full pipe
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return proc, event["port"]
    proc.kill()
    raise RuntimeError("server did not start")


def test_sigterm_drains_in_flight_rpcs_and_loses_no_accepted_record(tmp_path):
    db = tmp_path / "router.db"
    proc, port = start_server(db)
    accepted_decisions: list[str] = []
    accepted_usages: list[str] = []
    stop = threading.Event()

    def client(k: int) -> None:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            stub = router_pb2_grpc.RouterStub(ch)
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    r = stub.Route(pb.RouteRequest(task_description=f"task {k}-{i}: sum a list",
                                                   attribution=pb.Attribution(team="t")),
                                   timeout=5)
                    accepted_decisions.append(r.decision_id)
                    stub.ReportUsage(pb.ReportUsageRequest(
                        usage_id=f"u-{k}-{i}", decision_id=r.decision_id,
                        tokens=pb.TokenUsage(input=100, output=50)), timeout=5)
                    accepted_usages.append(f"u-{k}-{i}")
                except grpc.RpcError:
                    return  # the server is going away: everything acknowledged must be kept

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    stop.set()
    for t in threads:
        t.join(10)

    assert len(accepted_usages) > 10, "the load never got going"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        decisions = {r[0] for r in conn.execute(sa.text("SELECT decision_id FROM decisions"))}
        usages = {r[0] for r in conn.execute(sa.text("SELECT usage_id FROM usages"))}
    assert set(accepted_decisions) <= decisions
    assert set(accepted_usages) <= usages


def test_a_bad_catalog_fails_start_up_naming_the_line(tmp_path):
    catalog = tmp_path / "catalog.toml"
    catalog.write_text('schema_version = 1\ncurrency = "USD"\ndefault_model = "x"\n'
                       '[[models]]\nid = "x"\nprovider = "p"\ninput_per_mtok = "oops"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "router.cli", "serve", "--catalog-path", str(catalog),
         "--database-url", f"sqlite:///{tmp_path / 'r.db'}"],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert f"{catalog}:7:" in proc.stderr and "input_per_mtok" in proc.stderr
