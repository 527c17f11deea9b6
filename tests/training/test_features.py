"""The training design matrix: terms, cues and cue pairs, each scaled on the training rows."""

import math

import numpy as np
import pytest

from router.core.features import CUES, N_PAIRS, cues, tokenize
from router.training.features import featurize
from router.training.params import PAIR_SHRINK

PROMPTS = [
    "solve the integral of x squared",
    "solve the equation 2 x + 3 = 7",
    "what is the capital of france ?",
    "solve solve solve the riddle",
    "name the capital of spain",
    "a held out prompt about zebras and 12345 numbers\nwith\nmany\nlines\n" * 20,
]
FIT = np.arange(5)  # the last prompt is held out


@pytest.fixture(scope="module")
def feats():
    return featurize(PROMPTS, FIT)


def test_the_matrix_is_terms_then_cues_then_cue_pairs(feats):
    assert feats.x.shape == (len(PROMPTS), len(feats.vocab) + len(CUES) + N_PAIRS)
    assert len(feats.idf) == len(feats.vocab)
    assert feats.cue_mean.shape == (len(CUES),) and feats.pair_std.shape == (N_PAIRS,)


def test_the_vocabulary_and_idf_come_from_the_training_rows_only():
    prompts = ["the zebra", "the zebra", "the zebra", "the lion", "the lion", "the lion"]
    f = featurize(prompts, np.arange(3, 6))  # the zebras are held out
    assert f.vocab == ["lion", "the", "the lion"]  # sorted: column j is term j
    n = 3
    assert f.idf[f.vocab.index("the")] == pytest.approx(math.log((1 + n) / (1 + 3)) + 1)


def test_idf_is_smoothed_over_the_training_rows(feats):
    n = len(FIT)
    the = feats.vocab.index("the")  # in all 5 training prompts
    solve = feats.vocab.index("solve")  # in 3
    assert feats.vocab == ["of", "solve", "solve the", "the"]  # the terms in >= 3 prompts
    assert feats.idf[the] == pytest.approx(math.log((1 + n) / (1 + 5)) + 1)
    assert feats.idf[solve] == pytest.approx(math.log((1 + n) / (1 + 3)) + 1)


def test_term_weights_are_one_plus_log_count_times_idf_normalised_per_prompt(feats):
    terms = feats.x[:, :len(feats.vocab)].toarray()
    assert np.allclose(np.linalg.norm(terms[:5], axis=1), 1.0)
    row = terms[3]  # "solve" three times, "the" once
    solve, the = feats.vocab.index("solve"), feats.vocab.index("the")
    assert row[solve] / row[the] == pytest.approx(
        (1 + math.log(3)) * feats.idf[solve] / feats.idf[the])


def test_cues_are_clipped_to_the_training_range_then_standardised(feats):
    raw = np.array([cues(p, tokenize(p)) for p in PROMPTS])
    assert np.allclose(feats.cue_lo, raw[:5].min(axis=0))
    assert np.allclose(feats.cue_hi, raw[:5].max(axis=0))
    scaled = feats.x[:, len(feats.vocab):len(feats.vocab) + len(CUES)].toarray()
    assert np.allclose(scaled[:5].mean(axis=0), 0.0, atol=1e-9)
    # the long held-out prompt lies past the training range: it gets the range's edge
    chars = CUES.index("log_chars")
    assert raw[5, chars] > feats.cue_hi[chars]
    assert scaled[5, chars] == pytest.approx(
        (feats.cue_hi[chars] - feats.cue_mean[chars]) / feats.cue_std[chars])


def test_cue_pairs_are_standardised_on_the_training_rows_and_shrunk(feats):
    pairs = feats.x[:, len(feats.vocab) + len(CUES):].toarray()
    assert np.allclose(pairs[:5].mean(axis=0), 0.0, atol=1e-9)
    varying = feats.pair_std > 0.1
    assert varying.any()
    assert np.allclose(pairs[:5, varying].std(axis=0), PAIR_SHRINK, rtol=1e-4)


def test_min_df_shrinks_to_the_number_of_training_rows():
    few = featurize(["solve it now", "solve this now", "never seen"], np.arange(2))
    assert few.vocab == ["now", "solve"]  # in both training rows; min_df 3 would leave none


def test_max_terms_keeps_the_most_frequent_terms():
    prompts = ["alpha"] * 5 + ["beta"] * 4 + ["gamma"] * 3 + ["delta"]
    assert featurize(prompts, np.arange(13), max_terms=2).vocab == ["alpha", "beta"]
    assert featurize(prompts, np.arange(13)).vocab == ["alpha", "beta", "gamma"]  # df >= 3
