"""Input-token calibration: the refit and the errors of the shipped estimate."""

import pytest

from router.core.tokens import counts, estimate_tokens
from router.training.calibration import token_calibration
from router.training.corpus import Corpus

TEXTS = [f"question {i}: add {i} and {2 * i}" + " please" * (i % 7) + "?" * (i % 4)
         + "\nthanks" * (i % 3) for i in range(30)]
LLAMA = "llama-3.1-8b-instruct"


def corpus_with(tokens_of, models=(LLAMA, "qwen")):
    """RouteProfile-like rows: every text under two tasks' templates and two tokenizers."""
    rows = [(t, task, model, tokens_of(t, task, model))
            for t in TEXTS for task in ("gsm8k", "mmlu") for model in models]
    return Corpus(prompt_tokens=rows)


def template(task, model):
    return {"gsm8k": 30, "mmlu": 80}[task] + (5 if model == "qwen" else 0)


def test_without_real_token_counts_there_is_nothing_to_calibrate():
    assert token_calibration(Corpus()) == {}


def test_an_estimate_off_by_one_template_per_task_and_tokenizer_has_no_error():
    out = token_calibration(corpus_with(lambda t, task, m: estimate_tokens(t) + template(task, m)))
    assert out["rows"] == 4 * len(TEXTS) and out["tokenizer_fit"] == LLAMA
    assert out["estimate_tokens"] == {"mdape_all_tokenizers": 0.0, f"mdape_{LLAMA}": 0.0}
    assert out["chars_div_4"]["mdape_all_tokenizers"] > 0.01


def test_the_refit_recovers_per_class_coefficients_on_the_chosen_tokenizer():
    def real(t, task, model):
        words, digits, symbols, newlines, _ = counts(t)
        return 2 * words + 1 * digits + 3 * symbols + 0.5 * newlines + template(task, model)

    out = token_calibration(corpus_with(real))
    assert out["coefficients"] == {"word": 2.0, "digit": 1.0, "symbol": 3.0, "newline": 0.5}
    assert out["fit_mdape"] == pytest.approx(0.0, abs=1e-9)
    assert out["fit_mdape_leave_one_out"] == pytest.approx(0.0, abs=1e-9)


def test_without_the_llama_tokenizer_the_first_model_by_name_is_fitted():
    out = token_calibration(corpus_with(lambda t, task, m: estimate_tokens(t) + 9,
                                        models=("qwen", "gemma")))
    assert out["tokenizer_fit"] == "gemma"
    assert set(out["estimate_tokens"]) == {"mdape_all_tokenizers", "mdape_gemma"}
    assert token_calibration(corpus_with(lambda t, task, m: 50), "qwen")["tokenizer_fit"] == "qwen"
