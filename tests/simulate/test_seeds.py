"""``router simulate --score --seeds N``: one fresh embedded server per seed, and the scores
summed up as the minimum and mean per kind."""

from __future__ import annotations

import argparse

import pytest
import structlog

from router import simulate as sim
from router.simulate import Anomaly, Truth, score
from router.simulate.seeds import SeedScore, summary

TUESDAY_EVENING = "2026-12-01T20:00Z"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="router")
    sim.add_parser(parser.add_subparsers(dest="command"))
    return parser


def _result(seed: int, found: list[tuple[str, str, str, str]]) -> SeedScore:
    truth = Truth(scenario="small", seed=seed, days=3, start_us=0, now_us=1, calls=0, teams=[],
                  agents=[], anomalies=[Anomaly("spend_spike", "t", "a", "", 0, 1),
                                        Anomaly("retry_loop", "t", "a", "t-1", 0, 1)])
    return SeedScore(seed, truth, found, score(truth, found), 1.0)


def test_the_summary_is_the_minimum_and_mean_over_the_seeds_with_counts_summed():
    perfect = _result(1, [("spend_spike", "t", "a", ""), ("retry_loop", "t", "a", "t-1")])
    noisy = _result(2, [("spend_spike", "t", "a", ""), ("spend_spike", "t", "b", "")])
    got = summary([perfect, noisy])
    assert got["spend_spike"] == {"precision_min": 0.5, "precision_mean": 0.75,
                                  "recall_min": 1.0, "recall_mean": 1.0,
                                  "tp": 2, "fp": 1, "fn": 0}
    assert (got["retry_loop"]["recall_min"], got["retry_loop"]["recall_mean"]) == (0.0, 0.5)
    assert got["all"]["tp"] == 3 and got["all"]["fn"] == 1


def test_seeds_runs_each_seed_on_its_own_server_and_prints_the_table(capsys):
    args = _parser().parse_args(["simulate", "--scenario", "small", "--days", "2", "--score",
                                 "--seeds", "2", "--seed", "3", "--end", TUESDAY_EVENING,
                                 "--address", "127.0.0.1:1"])  # not used: servers of its own
    logging = structlog.get_config()
    assert sim.run(args) == 0
    # the seeds ran in a worker process, which quietened its own logs, not this process's
    assert structlog.get_config() == logging
    out = capsys.readouterr().out
    assert "seeds 3-4" in out and "seed   3:" in out and "seed   4:" in out
    assert "5 injected" in out
    assert "detectors over 2 seeds of small, 2 days" in out
    for kind in sim.KINDS:
        assert kind in out


@pytest.mark.parametrize("extra", [["--seeds", "2"], ["--end", TUESDAY_EVENING],
                                   ["--score", "--seeds", "2", "--truth", "t.json"]])
def test_seeds_goes_with_score_and_writes_no_truth(extra, capsys):
    assert sim.run(_parser().parse_args(["simulate", *extra])) == 2
    assert "router simulate:" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["2026-12-01T20:30Z", "yesterday", "0"])
def test_end_must_be_the_top_of_an_hour(bad):
    with pytest.raises(SystemExit):
        _parser().parse_args(["simulate", "--end", bad])
