"""The fits: soft-label logistic regression, the heads, the IRT scale, the MMLU line, lengths."""

import math

import numpy as np
import pytest
from scipy import sparse

from router.core.classifier import LABELS
from router.training.corpus import PUBLIC_MMLU, Corpus
from router.training.fits import (
    Outcomes,
    classification,
    difficulty_metrics,
    fit_heads,
    fit_irt,
    fit_lengths,
    fit_mmlu,
    mean_auc,
    sigmoid,
    soft_logistic,
)
from router.training.params import DEFAULT_OUTPUT_TOKENS, MIN_LENGTH_ROWS


def test_soft_logistic_counts_a_score_as_that_share_of_a_positive():
    # one constant feature, so only the intercept can move: it lands on the mean score
    x = sparse.csr_matrix(np.zeros((3, 1)))
    model = soft_logistic(x, np.array([0.75, 0.75, 0.75]), c=1.0)
    assert model.predict_proba(x[:1])[0, 1] == pytest.approx(0.75, abs=1e-3)
    mixed = soft_logistic(x, np.array([1.0, 0.0, 0.2]), c=1.0)
    assert mixed.predict_proba(x[:1])[0, 1] == pytest.approx(0.4, abs=1e-3)


def test_soft_logistic_fits_scores_of_one_class_instead_of_failing():
    x = sparse.csr_matrix(np.eye(4))
    model = soft_logistic(x, np.ones(4), c=1.0)
    assert (model.predict_proba(x)[:, 1] > 0.99).all()


def test_classification_reports_auc_log_loss_brier_and_base_rate():
    y, p = np.array([0.0, 0.2, 0.9, 1.0]), np.array([0.1, 0.3, 0.6, 0.8])
    got = classification(y, p)
    assert got["auc"] == 1.0 and got["base_rate"] == 0.5
    assert got["brier"] == pytest.approx(np.mean((p - [0, 0, 1, 1]) ** 2))
    assert got["log_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.7, 0.6, 0.8])))
    assert math.isnan(classification(np.ones(3), np.full(3, 0.5))["auc"])  # one class: no AUC


def test_mean_auc_skips_heads_without_an_auc_and_is_nan_without_any():
    assert mean_auc({"a": {"auc": 0.6}, "b": {"auc": 0.8}, "c": {"auc": math.nan},
                     "d": {"n_val": 0}}) == pytest.approx(0.7)
    assert math.isnan(mean_auc({"a": {"n_val": 0}}))


def test_sigmoid_is_the_logistic_function():
    assert sigmoid(np.array([0.0, math.log(3)])).tolist() == pytest.approx([0.5, 0.75])


def toy_outcomes(n=120, seed=0):
    """A feature that makes prompts hard; "weak" solves only easy ones, "strong" most."""
    rng = np.random.default_rng(seed)
    hard = np.arange(n) % 2 == 0
    x = sparse.csr_matrix(np.column_stack([hard.astype(float), rng.normal(size=n) * 0.01]))
    corpus = Corpus()
    for i in range(n):
        corpus.outcomes.append((i, "weak", 0.0 if hard[i] else 1.0, "toy"))
        corpus.outcomes.append((i, "strong", float(not hard[i] or rng.random() < 0.7), "toy"))
    val = np.arange(n) % 5 == 0
    return x, Outcomes.of(corpus, ["strong", "weak"], val), val


def test_outcomes_are_arrays_of_rows_models_and_scores_marking_training_rows():
    corpus = Corpus(outcomes=[(0, "b", 1.0, "s"), (1, "a", 0.5, "s"), (2, "b", 0.0, "s")])
    obs = Outcomes.of(corpus, ["a", "b"], np.array([False, True, False]))
    assert obs.rows.tolist() == [0, 1, 2] and obs.model.tolist() == [1, 0, 1]
    assert obs.score.tolist() == [1.0, 0.5, 0.0] and obs.fit.tolist() == [True, False, True]


def test_fit_heads_fills_one_column_per_head_and_reports_held_out_metrics():
    x, obs, val = toy_outcomes()
    w, bias = np.zeros((2, 4)), np.zeros(4)
    metrics = fit_heads(x, obs, ["strong", "weak"], w, bias)
    assert metrics["weak"]["n_train"] == int((~val).sum()) and metrics["weak"]["n_val"] == 24
    assert metrics["weak"]["auc"] == 1.0 and metrics["strong"]["auc"] > 0.6
    assert w[0, 1] < -1 and (w[:, 2:] == 0).all() and (bias[2:] == 0).all()


def test_fit_irt_shares_the_difficulty_and_ranks_the_abilities():
    x, obs, _ = toy_outcomes()
    ease, ability = fit_irt(x, obs, 2)
    assert ease.shape == (2,) and ability.shape == (2,)
    assert ease[0] < 0  # the "hard" feature lowers every model's chance
    assert ability[0] > ability[1]  # strong over weak


def test_difficulty_metrics_score_the_ability_path_and_label_the_held_out_prompts():
    x, obs, val = toy_outcomes()
    heads = ["strong", "mixtral-8x7b-instruct"]  # the second has a public MMLU
    ease, ability = fit_irt(x, obs, 2)
    z = -(x @ ease)
    fit = fit_mmlu(heads, ability)
    out = difficulty_metrics(obs, heads, ability, z, np.flatnonzero(~val), val, fit)
    assert set(out["label_share_held_out"]) == set(LABELS)
    assert sum(out["label_share_held_out"].values()) == pytest.approx(1.0)
    assert out["ability_path"]["mean_auc"] > 0.8 and "mmlu_path" in out
    assert out["abilities"] == {"strong": ability[0], "mixtral-8x7b-instruct": ability[1]}
    unknown = difficulty_metrics(obs, ["strong", "weak"], ability, z, np.flatnonzero(~val),
                                 val, fit)
    assert "mmlu_path" not in unknown  # no head with a public MMLU


def test_fit_mmlu_is_a_theil_sen_line_one_outlier_cannot_tilt():
    heads = ["gpt-4-1106-preview", "mixtral-8x7b-instruct", "llama-2-70b-chat",
             "mistral-7b-chat", "claude-v2", "unknown-model"]
    ability = np.array([-3 + 0.05 * PUBLIC_MMLU.get(h, 0) for h in heads])
    ability[heads.index("mistral-7b-chat")] -= 2.0  # one model far below its MMLU line
    fit = fit_mmlu(heads, ability)
    assert fit["slope"] == pytest.approx(0.05) and fit["intercept"] == pytest.approx(-3)
    assert fit["models"] == 5 and 0 < fit["corr"] < 1


@pytest.mark.parametrize("heads", [["a", "b", "gpt-4-1106-preview"],  # fewer than 3 anchors
                                   ["gpt-4-1106-preview", "mistral-7b-chat", "claude-v2"]])
def test_fit_mmlu_falls_back_to_a_fixed_slope_without_a_rising_line(heads):
    ability = np.array([-1.0, 0.0, 1.0]) if heads[0] == "a" else np.array([-1.0, 1.0, 0.0])
    fit = fit_mmlu(heads, ability)
    assert fit["slope"] == 0.04 and fit["models"] == 0 and math.isnan(fit["corr"])
    assert fit["intercept"] == pytest.approx(ability.mean() - 70 * 0.04)


def test_fit_lengths_without_length_data_predicts_the_default_everywhere():
    coef, intercept, metrics = fit_lengths(Corpus(), sparse.csr_matrix(np.ones((3, 2))),
                                           ["a", "b"], np.zeros(3, dtype=bool))
    assert (coef == 0).all() and coef.shape == (2, 3) and metrics == {}
    assert intercept.tolist() == [math.log(DEFAULT_OUTPUT_TOKENS)] * 3


def test_fit_lengths_fits_a_head_alone_only_with_enough_rows():
    n = 60
    long = np.arange(n) % 2 == 0
    x = sparse.csr_matrix(np.column_stack([long.astype(float), np.ones(n)]))
    corpus = Corpus()
    for i in range(n):
        corpus.lengths.append((i, "verbose", 400.0 if long[i] else 40.0, "src"))
    for i in range(MIN_LENGTH_ROWS - 1):
        corpus.lengths.append((i, "terse", 4.0, "src"))
    corpus.lengths.append((0, "no-head", 10.0, "other"))
    val = np.arange(n) % 6 == 5
    coef, intercept, metrics = fit_lengths(corpus, x, ["verbose", "terse"], val)
    assert not np.allclose(coef[:, 1], coef[:, 0])  # "verbose" has its own model
    assert (coef[:, 2] == coef[:, 0]).all()  # "terse" has too few rows: the global one
    assert np.exp(coef[0, 1] + coef[1, 1] + intercept[1]) == pytest.approx(400, rel=0.2)
    assert list(metrics) == ["src"]  # "other"'s one row is a training row
    held = sum(bool(val[r]) for r, _, _, source in corpus.lengths if source == "src")
    assert metrics["src"]["n"] == held == 13 and metrics["src"]["mdape"] < 0.2
