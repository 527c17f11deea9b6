"""Training end to end on a small synthetic data folder: the artifact loads and has learned."""

import csv
import json
import random

import numpy as np
import pytest

from router.core.classifier import Classifier, QualityRef
from router.evaluation.split import is_validation as held_out
from router.training.card import END, START
from router.training.corpus import load_corpus
from router.training.train import run, train

HARD_WORDS = ["integral", "prove", "lemma", "theorem", "derive", "eigenvalue"]
EASY_WORDS = ["hello", "capital", "colour", "name", "greet", "weather"]


def write_data(folder, n=300, seed=0):
    """A wide file where "small" solves only easy prompts and "big" most of everything, and a
    RouteProfile-like file where "big" answers "explain" prompts at length."""
    rng = random.Random(seed)
    with (folder / "toy_train.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "source", "task", "prompt", "score__small", "score__big",
                    "cost_usd__small", "cost_usd__big"])
        for i in range(n):
            hard = i % 2 == 0
            words = rng.sample(HARD_WORDS if hard else EASY_WORDS, 3)
            prompt = f"Question {i}: " + " ".join(words * 3)
            small = 0 if hard else 1
            big = 1 if (not hard or rng.random() < 0.8) else 0
            w.writerow([f"r{i}", "toy", "hard" if hard else "easy", prompt, small, big,
                        0.001, 0.01])
    with (folder / "routeprofile_tokens.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["qid", "task", "prompt", "model", "score", "prompt_tokens",
                    "completion_tokens", "cost_usd"])
        for i in range(80):
            long_answer = i % 2 == 0
            prompt = ("explain in detail " if long_answer else "answer yes or no ") + str(i)
            w.writerow([i, "t", prompt, "big", 1, 12, 400 if long_answer else 3, 0.001])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    write_data(folder)
    out = folder / "toy.npz"
    return folder, out, train(folder, out, log=lambda *_: None, bench=False)


def test_training_on_a_tiny_table_learns_which_prompts_are_hard(trained):
    _, out, metrics = trained
    assert metrics["summary"]["heads"] == 2 and metrics["heads"]["small"]["auc"] > 0.9
    clf = Classifier.load(out)
    small, big = clf.resolve(QualityRef(head="small")), clf.resolve(QualityRef(head="big"))
    easy = clf.assess("Question 9001: hello capital colour greet name weather")
    hard = clf.assess("Question 9002: prove lemma theorem derive integral eigenvalue")
    assert easy.quality(small) > 0.7 and hard.quality(small) < 0.3
    assert hard.quality(big) > hard.quality(small)
    assert hard.score > 0.5 > easy.score and easy.label == "easy"  # half the rows are hard
    assert clf.head_ability("big") > clf.head_ability("small")
    assert clf.assess("explain in detail 1000").output_tokens(big) > \
        5 * clf.assess("answer yes or no 1000").output_tokens(big)


def test_metrics_cover_heads_routing_and_tokens(trained):
    _, _, metrics = trained
    toy = metrics["routing"]["toy"]
    assert toy["best_single"]["model"] == "big" and toy["cost_basis"] == "recorded"
    # routing by predicted quality sends easy prompts to "small": cheaper than "big" alone
    strict = toy["policy"][-1]
    assert strict["cost_vs_best"] < 0.9 and strict["quality_vs_best"] > 0.9
    assert metrics["output_tokens"]["routeprofile"]["mdape"] < 0.5
    assert metrics["parity_max_abs_diff"] < 1e-4
    json.dumps(metrics)  # serialisable, for the model card and logs


def test_the_split_is_by_prompt_and_seeded(tmp_path):
    write_data(tmp_path, n=200)
    corpus = load_corpus(tmp_path, seed=0)
    share = np.mean(corpus.held_out)
    assert 0.1 < share < 0.3
    other = load_corpus(tmp_path, seed=1)
    assert other.held_out != corpus.held_out and 0.1 < np.mean(other.held_out) < 0.3
    assert held_out("toy", "r1", 7) == held_out("toy", "r1", 7)
    # the same prompt text in two sources is one prompt, held out if either copy is
    with (tmp_path / "copy_train.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "source", "task", "prompt", "score__big"])
        for i in range(200):
            w.writerow([f"c{i}", "copy", "t", f"Question {i}:  " + "x", 1])
    merged = load_corpus(tmp_path, seed=0)
    assert len(merged.prompts) == len(corpus.prompts) + 200  # "x" prompts are new
    dup = tmp_path / "dup_train.csv"
    with dup.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "source", "task", "prompt", "score__big"])
        w.writerows([[f"d{i}", "dup", "t", p.upper(), 1]
                     for i, p in enumerate(corpus.prompts)])
    with_dups = load_corpus(tmp_path, seed=0)
    assert len(with_dups.prompts) == len(merged.prompts)
    for key, i in corpus.index.items():
        j = with_dups.index[key]
        assert with_dups.held_out[j] == (corpus.held_out[i] or held_out("dup", f"d{i}", 0))
        assert with_dups.sources[j] == corpus.sources[i] | {"dup"}


def test_run_writes_the_artifact_and_the_model_card_section(tmp_path):
    write_data(tmp_path, n=120)
    card = tmp_path / "README.md"
    card.write_text(f"# Card\n\nintro\n\n{START}\nold numbers\n{END}\n\ntail\n")
    metrics = run(str(tmp_path), str(tmp_path / "m.npz"), str(card))
    text = card.read_text()
    assert "old numbers" not in text and text.startswith("# Card\n\nintro") \
        and text.endswith("tail\n")
    assert "| small |" in text and metrics["version"] in text and "µs" in text
    assert Classifier.load(tmp_path / "m.npz").version == metrics["version"]


def test_training_refuses_a_folder_without_outcomes(tmp_path):
    with pytest.raises(ValueError, match=r"no \*_train\.csv"):
        train(tmp_path, tmp_path / "x.npz", log=lambda *_: None)
