"""The training corpus: number cells, prompt merging, the held-out mark and every file it reads."""

import csv
import json
import math

import pytest

from router.core.tokens import FRAMING, estimate_tokens
from router.settings import ROOT
from router.training.corpus import (
    ROUTELLM_PRICES,
    Corpus,
    load_corpus,
    parse_number,
    source_counts,
)

DATA = ROOT.parent / "shared" / "data" / "routing"
# rows tests/evaluation/test_split.py pins: held out under seed 0, and not
HELD, KEPT = ("routeprofile", "gsm8k:3"), ("routerbench", "0")


def write_csv(path, header, rows):
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


@pytest.mark.parametrize(("text", "value"), [
    ("1.5", 1.5), ("0", 0.0), ("-2", -2.0), ("1e3", 1000.0), (" 7 ", 7.0),
    ("", None), (None, None), ("abc", None), ("nan", None), ("inf", None), ("-inf", None),
])
def test_parse_number_keeps_finite_numbers_and_drops_blank_text_nan_and_infinity(text, value):
    assert parse_number(text) == value


def test_prompts_that_differ_only_in_case_and_whitespace_are_one_row():
    corpus = Corpus()
    first = corpus.row("a", "1", "Hello  World\n")
    assert corpus.row("b", "7", "hello world") == first
    assert corpus.row("a", "2", "hello there") != first
    assert corpus.prompts == ["Hello  World\n", "hello there"]  # the first text is kept
    assert corpus.sources == [{"a", "b"}, {"a"}]
    assert corpus.index == {"hello world": 0, "hello there": 1}


@pytest.mark.parametrize("order", [(KEPT, HELD), (HELD, KEPT)])
def test_a_merged_prompt_is_held_out_when_any_of_its_copies_is(order):
    corpus = Corpus()
    for source, row_id in order:
        corpus.row(source, row_id, "the same prompt")
    assert corpus.held_out == [True]
    alone = Corpus()
    alone.row(*KEPT, "the same prompt")
    assert alone.held_out == [False]


def test_the_held_out_mark_follows_the_corpus_seed():
    # ("toy", "r5") is kept under seed 0 and held out under seed 1 (tests/evaluation/test_split)
    assert Corpus(seed=0).held_out == []
    for seed, held in ((0, False), (1, True)):
        corpus = Corpus(seed=seed)
        corpus.row("toy", "r5", "p")
        assert corpus.held_out == [held]


@pytest.fixture
def folder(tmp_path):
    write_csv(tmp_path / "routerbench_train.csv",
              ["id", "source", "task", "prompt", "score__a", "score__b", "cost_usd__a",
               "cost_usd__b"],
              [["s1", "routerbench", "t", "first prompt", "1", "0.5", "0.001", "0.02"],
               ["s2", "routerbench", "t", "second prompt", "", "nan", "", "0.03"]])
    write_csv(tmp_path / "plain_train.csv", ["id", "prompt", "score__a"],
              [["p1", "a plain prompt", "0"]])
    write_csv(tmp_path / "routeprofile_tokens.csv",
              ["qid", "task", "prompt", "model", "score", "prompt_tokens", "completion_tokens",
               "cost_usd"],
              [["3", "gsm8k", "First  PROMPT", "c", "1", "12", "0", "0.004"],
               ["4", "gsm8k", "a profile prompt", "c", "", "", "40", ""]])
    with (tmp_path / "routerbench_train_responses.jsonl").open("w") as fh:
        fh.write(json.dumps({"sample_id": "s1", "responses": {"a": "four words right here",
                                                             "b": None}}) + "\n")
        fh.write(json.dumps({"sample_id": "unknown", "responses": {"a": "ignored"}}) + "\n")
    write_csv(tmp_path / "models.csv", ["source", "model", "input_usd_per_1m",
                                        "output_usd_per_1m"],
              [["llmrouter", "x", "0.1", "0.2"], ["llmrouter", "y", "", "0.2"],
               ["routellm", "gpt-4-1106-preview", "11", "33"]])
    return tmp_path


def test_load_corpus_reads_scores_and_costs_of_the_wide_files_skipping_blank_cells(folder):
    corpus = load_corpus(folder)
    first, second, plain = (corpus.index[k] for k in ("first prompt", "second prompt",
                                                      "a plain prompt"))
    assert sorted(corpus.outcomes) == sorted([
        (first, "a", 1.0, "routerbench"), (first, "b", 0.5, "routerbench"),
        (plain, "a", 0.0, "plain"),  # no source column: the file name without "_train"
        (first, "c", 1.0, "routeprofile")])
    assert corpus.costs == {(first, "a", "routerbench"): 0.001,
                            (first, "b", "routerbench"): 0.02,
                            (second, "b", "routerbench"): 0.03,
                            (first, "c", "routeprofile"): 0.004}


def test_load_corpus_reads_output_lengths_of_routeprofile_and_routerbench_answers(folder):
    corpus = load_corpus(folder)
    first, profile = corpus.index["first prompt"], corpus.index["a profile prompt"]
    assert sorted(corpus.lengths) == sorted([
        (first, "c", 1.0, "routeprofile"),  # 0 completion tokens count as 1
        (profile, "c", 40.0, "routeprofile"),
        (first, "a", float(estimate_tokens("four words right here") - FRAMING), "routerbench"),
        (first, "b", 1.0, "routerbench"),  # an empty answer: at least one token
    ])  # the "unknown" sample matches no row and is skipped
    assert corpus.prompt_tokens == [("First  PROMPT", "gsm8k", "c", 12)]
    assert corpus.sources[first] == {"routerbench", "routeprofile"}


def test_load_corpus_takes_prices_from_models_csv_and_routellm_list_prices_as_fallback(folder):
    prices = load_corpus(folder).prices
    assert prices[("llmrouter", "x")] == (0.1, 0.2)
    assert ("llmrouter", "y") not in prices  # half a price is no price
    assert prices[("routellm", "gpt-4-1106-preview")] == (11.0, 33.0)  # the file wins
    assert prices[("routellm", "mixtral-8x7b-instruct")] == ROUTELLM_PRICES[
        "mixtral-8x7b-instruct"]


def test_load_corpus_needs_only_a_wide_file_and_refuses_a_folder_without_one(tmp_path):
    with pytest.raises(ValueError, match=r"no \*_train\.csv"):
        load_corpus(tmp_path)
    write_csv(tmp_path / "x_train.csv", ["id", "prompt", "score__m"], [["1", "p", "1"]])
    corpus = load_corpus(tmp_path)
    assert corpus.prompts == ["p"] and corpus.lengths == [] and corpus.prompt_tokens == []
    assert set(corpus.prices) == {("routellm", m) for m in ROUTELLM_PRICES}


def test_source_counts_count_a_shared_prompt_in_each_of_its_sources():
    corpus = Corpus()
    corpus.row("b", "1", "shared")
    corpus.row(*HELD, "shared")
    corpus.row(*KEPT, "alone")
    assert source_counts(corpus) == {"b": {"prompts": 1, "held_out": 1},
                                     "routerbench": {"prompts": 1, "held_out": 0},
                                     "routeprofile": {"prompts": 1, "held_out": 1}}
    assert list(source_counts(corpus)) == ["b", "routeprofile", "routerbench"]  # sorted


@pytest.mark.skipif(not (DATA / "routeprofile_tokens.csv").exists(),
                    reason=f"no shared routing data at {DATA}")
def test_the_real_corpus_holds_out_the_prompts_the_committed_artifact_held_out():
    corpus = load_corpus(DATA)
    # the counts of models/README.md's training section (models/complexity.npz)
    assert (len(corpus.prompts), sum(corpus.held_out)) == (18_600, 3_680)
    assert source_counts(corpus) == {
        "llmrouter": {"prompts": 5_608, "held_out": 1_081},
        "routellm": {"prompts": 10_706, "held_out": 2_159},
        "routeprofile": {"prompts": 219, "held_out": 54},
        "routerbench": {"prompts": 2_205, "held_out": 436}}
    assert math.isclose(sum(corpus.held_out) / len(corpus.prompts), 0.2, abs_tol=0.01)
