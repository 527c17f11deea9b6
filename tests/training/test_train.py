"""Training end to end on a small synthetic data folder: the artifact loads and has learned."""

import csv
import random

from router.core.classifier import Classifier, QualityRef
from router.training.model_card import END, START, write_training_section
from router.training.train import train


def write_data(folder, n=400):
    rng = random.Random(0)
    with (folder / "toy_train.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "source", "task", "prompt", "score__small", "score__big"])
        for i in range(n):
            hard = i % 2 == 0
            words = rng.sample(["integral", "prove", "lemma", "theorem", "derive"], 3) if hard \
                else rng.sample(["hello", "capital", "colour", "name", "greet"], 3)
            prompt = f"Question {i}: " + " ".join(words * 3)
            small = 0 if hard else 1
            big = 1 if (not hard or rng.random() < 0.8) else 0
            w.writerow([f"r{i}", "toy", "hardness" if hard else "easy", prompt, small, big])
    with (folder / "routeprofile_tokens.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["qid", "task", "prompt", "model", "score", "completion_tokens"])
        for i in range(60):
            long_answer = i % 2 == 0
            prompt = ("explain in detail " if long_answer else "answer yes or no ") + str(i)
            w.writerow([i, "t", prompt, "big", 1, 400 if long_answer else 3])


def test_training_on_a_tiny_table_learns_which_prompts_are_hard(tmp_path):
    write_data(tmp_path)
    out = tmp_path / "toy.npz"
    result = train(tmp_path, out, max_terms=2000, log=lambda *_: None)
    assert result["summary"]["heads"] == 2 and result["heads"]["small"]["auc"] > 0.9
    clf = Classifier.load(out)
    small = clf.resolve(QualityRef(head="small"))
    easy = clf.assess("Question 9001: hello capital colour hello capital colour")
    hard = clf.assess("Question 9002: prove lemma theorem prove lemma theorem")
    assert easy.quality(small) > 0.7 and hard.quality(small) < 0.4
    assert hard.score > easy.score
    big = clf.resolve(QualityRef(head="big"))
    assert clf.assess("explain in detail 1000").output_tokens(big) > \
        5 * clf.assess("answer yes or no 1000").output_tokens(big)

    card = tmp_path / "README.md"
    card.write_text(f"# Card\n\nintro\n\n{START}\nold\n{END}\n\ntail\n")
    write_training_section(card, result)
    text = card.read_text()
    assert "old" not in text and "| small |" in text and text.endswith("tail\n")
