"""`router eval --online`: the prequential replay through the real policy and learner."""

from __future__ import annotations

import csv
import json
import random

import numpy as np
import pytest

from router.cli import main
from router.core.catalog import load_catalog
from router.core.classifier import Classifier
from router.evaluation.data import load_table
from router.evaluation.online import LearningSettings, make_stream, replay
from router.evaluation.routers import choose_models
from router.settings import Settings

WEAK, STRONG = "mixtral-8x7b-instruct", "gpt-4-1106-preview"
HEADER = ["id", "source", "task", "prompt", f"score__{WEAK}", f"score__{STRONG}"]


def write(path, rows):
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(rows)
    return path


def outcome_file(tmp_path, n=400, seed=3):
    """Two task types: on `routine/*` the weak model is as good as the strong one, on
    `proof/*` it fails. The prompts alone don't say which (both read alike)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        routine = i % 2 == 0
        task = "routine/lookup" if routine else "proof/number-theory"
        prompt = (f"Work through item {i} carefully and give the final answer: "
                  f"{rng.choice(['invoice', 'lemma', 'table', 'series'])} {rng.randint(1, 999)}")
        weak = int(rng.random() < (0.95 if routine else 0.05))
        rows.append([f"r{i}", "fresh", task, prompt, weak, int(rng.random() < 0.95)])
    return write(tmp_path / "fresh_test.csv", rows)


@pytest.fixture(scope="module")
def shipped():
    s = Settings()
    return load_catalog(s.catalog_path), Classifier.load(s.classifier_path)


def test_the_static_replay_makes_the_vectorised_evaluations_choices(tmp_path, shipped):
    catalog, classifier = shipped
    stream = make_stream(load_table(outcome_file(tmp_path)), {}, catalog, classifier, seed=0)
    in_tok = np.array(stream.input_tokens, dtype=float)[:, None]
    prices_in = np.array([m.spec.prices.input for m in stream.table.models]) / 1e15
    prices_out = np.array([m.spec.prices.output for m in stream.table.models]) / 1e15
    out = np.array([[a.output_tokens(m.slot) for m in stream.table.models]
                    for a in stream.assessments])
    pred_cost = in_tok * prices_in + out * prices_out
    for target in (0.0, 0.5, 0.7, 0.9):
        static = replay(stream, target, None, seed=0)
        assert static.explore_share == 0 and not static.explored.any()
        assert (static.picks == choose_models(stream.prior, pred_cost, target)).all()


def test_the_learner_sends_each_task_type_where_its_outcomes_say(tmp_path, shipped):
    catalog, classifier = shipped
    stream = make_stream(load_table(outcome_file(tmp_path)), {}, catalog, classifier, seed=0)
    weak = stream.models.index(WEAK)
    routine = np.array([t.startswith("routine") for t in stream.tasks])
    late = np.arange(len(stream)) >= 150
    # the prompts read alike: the classifier's prior splits both task types about evenly
    target = float(np.median(stream.prior[:, weak]))
    static = replay(stream, target, None, seed=0)
    online = replay(stream, target, LearningSettings(), seed=1)
    for part in (routine & late, ~routine & late):
        assert 0.25 < (static.picks[part] == weak).mean() < 0.75
    # after the warm-up, routine work goes to the weak model and proofs to the strong one
    assert (online.picks[routine & late] == weak).mean() > 0.9
    assert (online.picks[~routine & late] == weak).mean() < 0.1
    rows = np.arange(len(stream))[late]
    q_on, q_st = (stream.scores[rows, r.picks[rows]].mean() for r in (online, static))
    assert q_on > q_st + 0.15


@pytest.mark.parametrize("share", [0.0, 0.02, 0.05])
def test_exploration_stays_within_its_share_of_spend_and_calls(tmp_path, shipped, share):
    catalog, classifier = shipped
    stream = make_stream(load_table(outcome_file(tmp_path)), {}, catalog, classifier, seed=0)
    weak = stream.models.index(WEAK)
    target = float(np.quantile(stream.prior[:, weak], 0.5))
    r = replay(stream, target, LearningSettings(explore_share=share, explore_calls=share),
               seed=2)
    assert r.explore_share <= share + 1e-12
    assert r.explored.mean() <= share + 1.0 / len(stream)
    if share == 0.0:
        assert not r.explored.any()


def test_cli_writes_online_and_static_metrics_a_learning_curve_and_a_plot(tmp_path):
    data = outcome_file(tmp_path, n=300)
    out = tmp_path / "out"
    assert main(["eval", "--online", "--data", str(data), "--out", str(out), "--warmup", "50",
                 "--replays", "2", "--workers", "1", "--train-data",
                 str(tmp_path / "none")]) == 0
    m = json.loads((out / "metrics.json").read_text())["fresh_test"]
    assert (m["n"], m["warmup"], m["measured"], m["replays"]) == (300, 50, 250, 2)
    for key in ("cost_fraction_at_quality", "aiq", "apgr", "cpt50", "by_task", "router_curve"):
        assert key in m and key in m["static"]
    assert set(m["by_task"]) == {"routine", "proof"} or "routine" in m["by_task"]
    assert [c["decile"] for c in m["learning_curve"]] == list(range(1, 11))
    boot = m["paired_bootstrap"]
    for part in ("warmup", "after_warmup"):
        assert boot[part]["aiq"]["lo95"] <= boot[part]["aiq"]["mean"] <= boot[part]["aiq"]["hi95"]
    assert boot["after_warmup"]["rows"] == 250 and boot["warmup"]["rows"] == 50
    # routine work is learned: online spends less than static for as much quality
    assert m["aiq"] >= m["static"]["aiq"] - 0.005
    assert (out / "online.png").stat().st_size > 10_000


@pytest.mark.parametrize(("args", "message"), [
    (["--warmup", "1000"], "leaves none"),
    (["--warmup", "-1"], "--warmup must be >= 0"),
    (["--replays", "0"], "--replays >= 1"),
])
def test_bad_online_arguments_exit_2(tmp_path, capsys, args, message):
    data = outcome_file(tmp_path, n=40)
    assert main(["eval", "--online", "--data", str(data), "--out", str(tmp_path / "o"),
                 "--workers", "1", "--train-data", str(tmp_path / "none"), *args]) == 2
    assert message in capsys.readouterr().err


def test_online_needs_outcome_files(tmp_path, capsys):
    assert main(["eval", "--online", "--store", f"sqlite:///{tmp_path}/x.db", "--out",
                 str(tmp_path)]) == 2
    assert "--online" in capsys.readouterr().err
