"""examples/node: a Node client calls Route and ReportUsage, and reads an INVALID_ARGUMENT's
google.rpc.Status and BadRequest from the grpc-status-details-bin trailer. Runs where node and
npm are (CI has them); `npm ci` only when node_modules is missing or older than the lock."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from router import v1 as pb
from router.settings import ROOT

EXAMPLE = ROOT / "examples" / "node"


@pytest.fixture(scope="module")
def node() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed for the Node client example")
    lock = EXAMPLE / "package-lock.json"
    installed = EXAMPLE / "node_modules" / ".package-lock.json"  # npm writes it on install
    if not installed.exists() or lock.stat().st_mtime > installed.stat().st_mtime:
        subprocess.run([npm, "ci", "--silent", "--no-audit", "--no-fund"], cwd=EXAMPLE,
                       check=True, timeout=300)
    return node


def test_the_node_client_routes_reports_and_reads_the_field_violation(node, server, stub):
    done = subprocess.run([node, "index.js", server.address], cwd=EXAMPLE, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    route, usage, error, violation = done.stdout.splitlines()
    assert route.startswith("Route: ") and " predicted " in route
    model = route.removeprefix("Route: ").split()[0]
    assert model in {m.id for m in stub.ListModels(pb.ListModelsRequest()).models}
    assert usage.startswith("ReportUsage: cost ")
    assert error == "INVALID_ARGUMENT: quality_target: must be between 0 and 1"
    assert violation == "  field violation: quality_target: must be between 0 and 1"
    server.app.recorder.flush()
    spend = stub.QuerySpend(pb.QuerySpendRequest(
        start_time={"seconds": 0}, end_time={"seconds": 2**32},
        group_by=[pb.SPEND_DIMENSION_TEAM, pb.SPEND_DIMENSION_MODEL]))
    assert [(r.team, r.model, r.calls) for r in spend.rows] == [("support", model, 1)]


def test_the_node_client_sends_its_teams_key(node, server):
    from router.auth import BOOTSTRAP, KeySpec, Role

    _, key = server.app.services.keys.create(BOOTSTRAP, KeySpec(Role.TEAM, "support"))
    env = {"PATH": shutil.which("node").rsplit("/", 1)[0]}
    refused = subprocess.run([node, "index.js", server.address], cwd=EXAMPLE,
                             capture_output=True, text=True, timeout=60, env=env)
    assert refused.returncode == 1 and "UNAUTHENTICATED" in refused.stdout
    done = subprocess.run([node, "index.js", server.address], cwd=EXAMPLE, capture_output=True,
                          text=True, timeout=60, env={**env, "ROUTER_API_KEY": key})
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("Route: ")
