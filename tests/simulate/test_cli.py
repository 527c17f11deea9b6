"""``router simulate``, the command: its options, its summary, and what it does against a
server (or none)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import sqlalchemy as sa
from rich.console import Console

from router import simulate as sim
from router.simulate import Anomaly, Truth, cli, simulation
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="router")
    sim.add_parser(parser.add_subparsers(dest="command"))
    return parser


def test_the_address_defaults_to_router_address_from_the_environment(
        monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ROUTER_ADDRESS", "router.internal:7000")
    assert _parser().parse_args(["simulate"]).address == "router.internal:7000"


def test_the_summary_shows_amounts_in_units_like_the_other_commands():
    spike = Anomaly("spend_spike", "t", "a", "", 0, 1,
                    {"calls": 32, "spend_usd": 3.282622155, "ratio": 58.4})
    new = Anomaly("new_agent_spend", "t", "a-v2", "", 0, 1,
                  {"calls": 67, "spend_usd": 7.0, "ratio": 40.2})
    assert cli._summary(spike) == "32 calls, 3.282622155 in the hour: 58x its busiest usual hour"
    assert cli._summary(new) == "67 calls, 7: 40x an average agent's day"


def _truth() -> Truth:
    return Truth(scenario="small", seed=1, days=3, start_us=0, now_us=1, calls=0, teams=[],
                 agents=[], anomalies=[Anomaly("retry_loop", "t", "a", "t-1", 0, 1)])


def test_score_asks_the_detectors_with_the_admin_token_as_bearer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    console = Console(record=True, width=120)
    server = RunningServer(make_settings(tmp_path, admin_token="s3cret"))
    try:
        monkeypatch.setenv("ROUTER_ADMIN_TOKEN", "s3cret")
        assert cli._score(console, server.address, _truth()) == 0
        assert "detectors against the injected anomalies" in console.export_text()
        monkeypatch.setenv("ROUTER_ADMIN_TOKEN", "wrong")
        assert cli._score(console, server.address, _truth()) == 1
        assert "neither an API key" in console.export_text(clear=True)
        monkeypatch.delenv("ROUTER_ADMIN_TOKEN")
        assert cli._score(console, server.address, _truth()) == 1
        text = console.export_text()
        assert "UNAUTHENTICATED" in text and "admin key" in text
    finally:
        server.stop()
