"""The shipped artifact, loaded as the service loads it."""

import numpy as np
import pytest

from router.core.classifier import LABELS, Classifier, QualityRef
from router.settings import Settings


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier.load(Settings().classifier_path)


def test_assessment_is_a_probability_per_slot_and_a_labelled_difficulty(clf):
    slot = clf.resolve(QualityRef(head="gpt-4-1106-preview"))
    a = clf.assess("Write a function that returns the n-th Fibonacci number.")
    assert 0.0 <= a.score <= 1.0 and a.label in LABELS
    assert 0.0 < a.quality(slot) < 1.0 and a.output_tokens(slot) >= 1
    again = clf.assess("Write a function that returns the n-th Fibonacci number.")
    assert again.quality(slot) == a.quality(slot)  # deterministic


def test_heads_resolve_case_insensitively_and_unknown_heads_fail(clf):
    assert clf.resolve(QualityRef(head="GPT-4-1106-preview")) == \
        clf.resolve(QualityRef(head="gpt-4-1106-preview"))
    with pytest.raises(KeyError):
        clf.resolve(QualityRef(head="gpt-99"))
    with pytest.raises(ValueError):
        clf.resolve(QualityRef())


def test_a_higher_mmlu_means_a_higher_predicted_quality_on_every_text(clf):
    weak, strong = clf.resolve(QualityRef(mmlu=60.0)), clf.resolve(QualityRef(mmlu=90.0))
    for text in ("What is 2+2?", "Prove Fermat's little theorem.", "Summarise this memo."):
        a = clf.assess(text)
        assert a.quality(strong) > a.quality(weak)


def test_a_strong_head_beats_a_weak_head_on_average_over_real_prompts(clf):
    strong = clf.resolve(QualityRef(head="gpt-4-1106-preview"))
    weak = clf.resolve(QualityRef(head="mistral-7b-chat"))
    prompts = ["Which gas do plants absorb from the air?\nA. oxygen\nB. carbon dioxide",
               "Write a python function to reverse the words of a string.",
               "The trophy doesn't fit into the brown suitcase because it is too large. "
               "What is too large?", "Natalia sold clips to 48 of her friends in April, and "
               "then she sold half as many clips in May. How many clips did she sell?"]
    diffs = [clf.assess(p).quality(strong) - clf.assess(p).quality(weak) for p in prompts]
    assert np.mean(diffs) > 0.1


def test_only_the_bounded_head_and_tail_of_a_huge_input_are_read(clf):
    slot = clf.resolve(QualityRef(head="gpt-4-1106-preview"))
    head, tail = "solve the integral of x squared " * 200, " and explain." * 100
    one = head + ("lorem ipsum " * 100_000) + tail
    other = head + ("prove the lemma " * 75_000) + tail  # same length, different middle
    assert len(one) == len(other)
    assert clf.assess(one).quality(slot) == clf.assess(other).quality(slot)


def test_missing_or_corrupt_artifacts_fail_with_a_clear_message(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        Classifier.load(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a valid classifier artifact"):
        Classifier.load(bad)
    np.savez(tmp_path / "partial.npz", idf=np.zeros(3))
    with pytest.raises(ValueError, match="not a valid classifier artifact"):
        Classifier.load(tmp_path / "partial.npz")
