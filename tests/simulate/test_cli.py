"""``router simulate``, the command: its options, its summary, and what it does against a
server (or none)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import sqlalchemy as sa

from router import simulate as sim
from router.simulate import Truth, simulation
from tests.conftest import RunningServer, make_settings


def _count(server: RunningServer) -> int:
    with server.app.store.engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM usages")).scalar_one()


def test_the_command_writes_the_truth_and_prints_a_summary(tmp_path: Path, capsys,
                                                          monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("ROUTER_ADDRESS", raising=False)  # --address defaults to it
    parser = argparse.ArgumentParser(prog="router")
    sim.add_parser(parser.add_subparsers(dest="command"))
    defaults = parser.parse_args(["simulate"])
    assert (defaults.address, defaults.days, defaults.seed, defaults.scenario,
            defaults.concurrency, defaults.truth, defaults.no_anomalies) == \
        ("127.0.0.1:50051", 14, 1, "default", 32, None, False)
    for bad in (["--days", "1"], ["--days", "40"], ["--scenario", "huge"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["simulate", *bad])

    server = RunningServer(make_settings(tmp_path))
    try:
        out = tmp_path / "truth.json"
        args = parser.parse_args(["simulate", "--address", server.address, "--scenario",
                                  "small", "--days", "2", "--seed", "5", "--truth", str(out),
                                  "--no-anomalies"])
        assert sim.run(args) == 0
        truth = Truth.load(out)
        assert truth.anomalies == [] and truth.calls == _count(server) > 0
        assert "spend by team" in capsys.readouterr().out
    finally:
        server.stop()

    args.address = "127.0.0.1:1"  # nothing listens there
    monkeypatch.setattr(simulation, "CONNECT_TIMEOUT_S", 0.5)
    assert sim.run(args) == 1
    assert "no router answering" in capsys.readouterr().out
