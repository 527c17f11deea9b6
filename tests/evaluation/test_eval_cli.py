"""`router eval --data`: bad input exits 2 with a clear message; a small file runs end to end."""

from __future__ import annotations

import csv
import json
import random

import pytest

from router.cli import main


def write(path, header, rows):
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.mark.parametrize(("header", "rows", "message"), [
    (["id", "score__gpt-4o"], [["1", "1"]], "missing column(s) prompt"),
    (["id", "prompt", "answer"], [["1", "hi", "x"]], "no score__<model> columns"),
    (["id", "prompt", "score__gpt-99"], [["1", "hi", "1"]], "unknown model(s) gpt-99"),
    (["id", "prompt", "score__gpt-4o"], [["1", "hi", "often"]], "not a number"),
    (["id", "prompt", "score__gpt-4o"], [["1", "hi", "7"]], "scores must lie in [0, 1]"),
    (["id", "prompt", "score__gpt-4o"], [], "no rows"),
])
def test_bad_input_exits_2_naming_the_problem(tmp_path, capsys, header, rows, message):
    data = write(tmp_path / "bad.csv", header, rows)
    assert main(["eval", "--data", str(data), "--out", str(tmp_path / "o"),
                 "--train-data", str(tmp_path / "none")]) == 2
    assert message in capsys.readouterr().err.replace("\n", " ")


def test_missing_file_exits_2(tmp_path, capsys):
    assert main(["eval", "--data", str(tmp_path / "nope.csv"), "--out", str(tmp_path)]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_a_small_two_model_file_gets_every_metric_and_a_plot(tmp_path):
    rng = random.Random(1)
    rows = []
    for i in range(120):
        hard = i % 3 == 0
        task = "gsm8k" if i % 2 else "mmlu/anatomy"
        prompt = ("Prove the theorem about primes and integrals " if hard else
                  "What colour is the sky? ") + str(i)
        weak = 0 if hard else int(rng.random() < 0.9)
        rows.append([f"x{i}", "fresh", task, prompt, weak, int(rng.random() < 0.95)])
    data = write(tmp_path / "fresh_test.csv",
                 ["id", "source", "task", "prompt", "score__mixtral-8x7b-instruct",
                  "score__gpt-4-1106-preview"], rows)
    train_rows = [[f"t{i}", "fresh", "mmlu/x", ("Prove lemma " if i % 3 == 0 else "Sky colour ")
                   + str(i), int(i % 3 != 0), 1] for i in range(200)]
    train_dir = tmp_path / "train"
    train_dir.mkdir()
    write(train_dir / "fresh_train.csv", ["id", "source", "task", "prompt",
                                          "score__mixtral-8x7b-instruct",
                                          "score__gpt-4-1106-preview"], train_rows)
    out = tmp_path / "out"
    assert main(["eval", "--data", str(data), "--out", str(out),
                 "--train-data", str(train_dir)]) == 0
    m = json.loads((out / "metrics.json").read_text())["fresh_test"]
    assert m["n"] == 120 and m["models"] == ["mixtral-8x7b-instruct", "gpt-4-1106-preview"]
    assert m["best_single"]["model"] == "gpt-4-1106-preview"
    assert m["oracle"]["quality"] >= m["best_single"]["quality"]
    assert set(m["cost_fraction_at_quality"]) == {"0.95", "0.98", "1.00"}
    for key in ("aiq", "apgr", "cpt50", "cpt80", "router_curve"):
        assert key in m and all(key in b for b in m["baselines"].values())
    assert set(m["by_task"]) == {"gsm8k", "mmlu"}
    assert m["baselines"]["random"]["apgr"] == pytest.approx(0.5, abs=0.01)
    curve = m["router_curve"]
    assert curve[0]["cost_usd_per_query"] <= curve[-1]["cost_usd_per_query"]
    assert (out / "cost_quality.png").stat().st_size > 10_000
