"""The shipped artifact, loaded as the service loads it, and the loader's error handling."""

import json
import math

import numpy as np
import pytest

from router.core.classifier import (
    FORMAT,
    LABELS,
    Classifier,
    QualityRef,
    pack_text,
    unpack_text,
)
from router.settings import Settings

EASY = "What is 2+2?"
HARD = (
    "Let $n \\ge 3$ be an integer and let $a_1, \\dots, a_n$ be positive reals with "
    "$\\sum_{i=1}^n a_i = 1$. Prove that $\\sum_{i=1}^n \\frac{a_i}{\\sqrt{1 - a_i}} \\ge "
    "\\sqrt{\\frac{n}{n-1}}$, and determine all cases of equality. Then find the smallest "
    "constant $C$ such that for every polynomial $P$ of degree $n$ with all roots on the unit "
    "circle, $\\max_{|z|=1} |P'(z)| \\le C \\max_{|z|=1} |P(z)|$, with a complete proof."
)
PROMPTS = [
    "Which gas do plants absorb from the air?\nA. oxygen\nB. carbon dioxide\nC. helium",
    "Write a python function to reverse the words of a string.",
    "The trophy doesn't fit into the brown suitcase because it is too large. What is too "
    "large?\nOption 1: trophy\nOption 2: suitcase",
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips "
    "in May. How many clips did Natalia sell altogether in April and May?",
    "Who wrote the novel Nineteen Eighty-Four?",
    "Find all real x such that x^4 - 5x^2 + 4 = 0.",
]


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier.load(Settings().classifier_path)


def test_the_shipped_artifact_describes_itself(clf):
    assert clf.version.startswith("complexity-")
    assert "gpt-4-1106-preview" in clf.heads and len(clf.heads) == len(set(clf.heads))
    assert clf.meta["format"] == FORMAT


def test_an_assessment_has_a_probability_and_tokens_per_slot_and_a_labelled_score(clf):
    slots = [clf.resolve(QualityRef(head=h)) for h in clf.heads]
    slots.append(clf.resolve(QualityRef(mmlu=88.7)))
    for text in [EASY, HARD, *PROMPTS, ""]:
        a = clf.assess(text)
        assert 0.0 <= a.score <= 1.0 and a.label == LABELS[min(int(a.score * 3), 2)]
        for slot in slots:
            assert 0.0 < a.quality(slot) < 1.0
            tokens = a.output_tokens(slot)
            assert isinstance(tokens, int) and tokens >= 1
    assert clf.assess(HARD).quality(slots[0]) == clf.assess(HARD).quality(slots[0])


def test_an_obviously_hard_prompt_scores_harder_than_an_obviously_easy_one(clf):
    easy, hard = clf.assess(EASY), clf.assess(HARD)
    assert hard.score > easy.score and hard.label == "hard"
    assert clf.difficulty(HARD) > clf.difficulty(EASY) + 1.0  # logits: a wide margin
    gpt4 = clf.resolve(QualityRef(head="gpt-4-1106-preview"))
    assert hard.quality(gpt4) < easy.quality(gpt4)


def test_a_strong_head_beats_a_weak_head_on_average(clf):
    strong = clf.resolve(QualityRef(head="gpt-4-1106-preview"))
    weak = clf.resolve(QualityRef(head="mistral-7b-chat"))
    diffs = [clf.assess(p).quality(strong) - clf.assess(p).quality(weak) for p in PROMPTS]
    assert np.mean(diffs) > 0.1


def test_a_higher_mmlu_or_ability_means_a_higher_quality_on_every_text(clf):
    weak, strong = clf.resolve(QualityRef(mmlu=60.0)), clf.resolve(QualityRef(mmlu=90.0))
    assert clf.mmlu_ability(90.0) > clf.mmlu_ability(60.0)
    for text in [EASY, HARD, *PROMPTS]:
        a = clf.assess(text)
        assert a.quality(strong) > a.quality(weak)


def test_an_ability_slot_follows_the_irt_formula(clf):
    slot = clf.resolve(QualityRef(ability=0.5))
    for text in (EASY, HARD):
        z = clf.difficulty(text)
        assert math.isclose(clf.assess(text).quality(slot), 1 / (1 + math.exp(z - 0.5)),
                            rel_tol=1e-9)
    assert clf.difficulty(HARD) > clf.difficulty(EASY)


def test_heads_resolve_case_insensitively_and_bad_references_fail(clf):
    assert clf.resolve(QualityRef(head="GPT-4-1106-preview")) == \
        clf.resolve(QualityRef(head="gpt-4-1106-preview"))
    with pytest.raises(KeyError, match="gpt-99"):
        clf.resolve(QualityRef(head="gpt-99"))
    with pytest.raises(ValueError):
        clf.resolve(QualityRef())
    with pytest.raises(ValueError):
        clf.resolve(QualityRef(ability=float("nan")))


def test_only_the_bounded_head_and_tail_of_a_huge_input_are_read(clf):
    slot = clf.resolve(QualityRef(head="gpt-4-1106-preview"))
    head, tail = "solve the integral of x squared " * 200, " and explain." * 100
    one = head + ("lorem ipsum " * 100_000) + tail
    other = head + ("prove the lemma " * 75_000) + tail  # same length, different middle
    assert len(one) == len(other)
    assert clf.assess(one).quality(slot) == clf.assess(other).quality(slot)


def write_artifact(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_missing_or_corrupt_artifacts_fail_with_a_clear_message(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        Classifier.load(tmp_path / "nope.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a valid classifier artifact"):
        Classifier.load(tmp_path / "bad.npz")
    shipped = Settings().classifier_path
    with open(shipped, "rb") as fh:
        data = fh.read()
    (tmp_path / "truncated.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a valid classifier artifact"):
        Classifier.load(tmp_path / "truncated.npz")
    with pytest.raises(ValueError, match="not a valid classifier artifact"):
        Classifier.load(write_artifact(tmp_path / "partial.npz", idf=np.zeros(3)))


def test_artifacts_of_another_format_or_with_inconsistent_arrays_are_refused(tmp_path):
    with np.load(Settings().classifier_path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(unpack_text(arrays["meta"]))
    old = {**arrays, "meta": pack_text(json.dumps({**meta, "format": FORMAT - 1}))}
    with pytest.raises(ValueError, match="format"):
        Classifier.load(write_artifact(tmp_path / "old.npz", **old))
    short = {**arrays, "idf": arrays["idf"][:-1]}
    with pytest.raises(ValueError, match="idf"):
        Classifier.load(write_artifact(tmp_path / "short.npz", **short))
    nan = {**arrays, "bias": np.full_like(arrays["bias"], np.nan)}
    with pytest.raises(ValueError, match="non-finite"):
        Classifier.load(write_artifact(tmp_path / "nan.npz", **nan))
    assert Classifier.load(write_artifact(tmp_path / "same.npz", **arrays)).heads  # control
