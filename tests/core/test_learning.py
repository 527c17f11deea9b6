"""The pure learner: its Laplace step, additive evidence, take/restore, and per-scope versions."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from router.core.learning import (
    AGENT,
    TASK,
    Evidence,
    ExplorationBudget,
    Learner,
    adjusted,
    laplace_step,
    logit,
    sigmoid,
)


def _argmax(f: Callable[[float], float], lo: float, hi: float) -> float:
    """The maximum of a concave ``f`` on [lo, hi], by golden-section search."""
    g = (math.sqrt(5) - 1) / 2
    a, b = lo, hi
    for _ in range(200):
        c, d = b - g * (b - a), a + g * (b - a)
        if f(c) > f(d):
            b = d
        else:
            a = c
    return (a + b) / 2


def _log_posterior(mean: float, precision: float, base: float, score: float
                   ) -> Callable[[float], float]:
    def f(d: float) -> float:
        z = base + d
        # log sigmoid(z) and log(1 - sigmoid(z)), stable for large |z|
        log_p = -math.log1p(math.exp(-z)) if z > 0 else z - math.log1p(math.exp(z))
        log_q = -z + log_p
        return score * log_p + (1 - score) * log_q - precision / 2 * (d - mean) ** 2
    return f


@pytest.mark.parametrize("precision", [0.01, 0.1, 1.0, 4.0, 50.0])
@pytest.mark.parametrize("base", [-13.0, -3.0, 0.0, 2.0, 9.0])
@pytest.mark.parametrize("mean", [-3.0, 0.0, 1.5])
@pytest.mark.parametrize("score", [0.0, 0.3, 0.9, 1.0])
def test_a_laplace_step_lands_on_the_posterior_mode(precision, base, mean, score):
    d, stepped = laplace_step(mean, precision, base, score)
    assert d == pytest.approx(_argmax(_log_posterior(mean, precision, base, score), -80, 80),
                              abs=1e-6)
    p = sigmoid(base + d)
    assert stepped == pytest.approx(precision + p * (1 - p))


def test_weak_priors_far_from_even_odds_no_longer_diverge():
    # plain Newton from the prior mean went to d = 32 here; the mode is near -0.72
    d, _ = laplace_step(2.0, 0.01, 0.0, 0.3)
    assert d == pytest.approx(_argmax(_log_posterior(2.0, 0.01, 0.0, 0.3), -80, 80), abs=1e-6)


def _stream(learner: Learner, outcomes: list[float], start_us: int = 0) -> None:
    for i, score in enumerate(outcomes):
        learner.observe("summarise", "bot", "cheap", 0.6, score, start_us + i)


def test_evidence_from_two_learners_adds_up_to_what_one_would_have_learned():
    rng = np.random.default_rng(3)
    a_scores = list((rng.random(40) < 0.9).astype(float))
    b_scores = list((rng.random(40) < 0.9).astype(float))
    one, a, b = Learner(), Learner(), Learner()
    _stream(one, a_scores + b_scores)
    _stream(a, a_scores)
    _stream(b, b_scores, start_us=1000)
    rows: dict[tuple[str, str, str], Evidence] = {}
    for r in a.take_dirty() + b.take_dirty():  # what the store's ON CONFLICT adds up
        key = (r.level, r.scope, r.model)
        rows[key] = r if key not in rows else rows[key].plus(r)
    a.load(rows.values())
    b.load(rows.values())
    for level, scope in ((TASK, "summarise"), (AGENT, "bot")):
        pa, pb, p1 = (x.posterior(level, scope, "cheap") for x in (a, b, one))
        assert pa == pb  # both replicas read the same sums
        assert pa.count == 80 and pa.updated_us == 1039
        # each half was learned from the prior, not from the other half's posterior: near what
        # the one stream learned, a little past it (replicas refresh every few seconds, so
        # in service the halves are far smaller than these 40 outcomes each)
        assert p1.mean <= pa.mean <= p1.mean + 0.25
        assert pa.mean > 0.5  # a 0.6 prior whose model succeeds 90% of the time moves up


def test_restore_puts_back_what_take_dirty_gave_out():
    learner = Learner()
    _stream(learner, [1.0] * 10)
    before = learner.posteriors()
    rows = learner.take_dirty()
    assert learner.take_dirty() == []
    learner.restore(rows)  # the save failed
    assert learner.posteriors() == before
    again = learner.take_dirty()
    assert sorted(again, key=lambda r: r.level) == sorted(rows, key=lambda r: r.level)


def test_restore_after_a_load_that_missed_the_taken_rows_keeps_them():
    learner = Learner()
    _stream(learner, [1.0] * 10)
    before = learner.posteriors()
    rows = learner.take_dirty()
    learner.load([])  # read before the save committed, then the save failed
    learner.restore(rows)
    assert learner.posteriors() == before
    assert sum(r.count for r in learner.take_dirty()) == 20


def test_a_task_types_outcomes_leave_other_scopes_versions_alone():
    learner = Learner()
    learner.observe("invoices", "", "cheap", 0.5, 1.0, 1)
    learner.observe("poems", "bard", "cheap", 0.5, 1.0, 1)
    invoices, poems = learner.scope_version(TASK, "invoices"), learner.scope_version(TASK, "poems")
    bard = learner.scope_version(AGENT, "bard")
    for i in range(5):
        learner.observe("invoices", "", "cheap", 0.5, 1.0, 2 + i)
    assert learner.scope_version(TASK, "invoices") == invoices + 5
    assert learner.scope_version(TASK, "poems") == poems
    assert learner.scope_version(AGENT, "bard") == bard
    # a load that changes nothing of a scope leaves its version too
    rows = learner.take_dirty()
    learner.load(rows)
    assert learner.scope_version(TASK, "poems") == poems
    learner.load([*rows, Evidence(TASK, "other", "cheap", 1.0, 1.0, 1, 9)])
    assert learner.scope_version(TASK, "other") == 1
    assert learner.scope_version(TASK, "poems") == poems


def test_an_agent_speaks_only_after_enough_outcomes():
    learner = Learner(min_agent_count=5)
    for i in range(4):
        learner.observe("", "bot", "m", 0.5, 1.0, i)
    means, _ = learner.offsets("", "bot", ["m"]) or (None, None)
    task_only = learner.posterior(TASK, "", "m").mean
    assert means is not None and means[0] == pytest.approx(task_only)
    learner.observe("", "bot", "m", 0.5, 1.0, 5)
    means, _ = learner.offsets("", "bot", ["m"]) or (None, None)
    assert means is not None
    assert means[0] == pytest.approx(task_only + learner.posterior(AGENT, "bot", "m").mean,
                                     rel=0.2)
    assert learner.offsets("other", "", ["m"]) is None


def test_adjusted_qualities_and_the_exploration_budget():
    q = adjusted(np.array([0.5, 0.9]), np.array([logit(0.8), 0.0]))
    assert q == pytest.approx([0.8, 0.9])
    budget = ExplorationBudget(share=0.1, call_share=1.0)
    assert not budget.allows(20, 100)  # 20 > 0.1 x 100
    assert budget.allows(-50, 100)  # a cheaper choice costs no money
    assert budget.allows(0, 100)  # the mean's own choice is no exploration
    budget.record(0, 1000)
    assert budget.allows(10, 100)
    budget.record(10, 100)
    assert budget.spent == 10 and budget.total == 1100
    # a cheaper choice still counts as an exploring call: at most call_share of the calls
    calls = ExplorationBudget(share=1.0, call_share=0.25)
    assert not calls.allows(-5, 100)  # the first call would make 1 of 1 explore
    for _ in range(3):
        calls.record(0, 100)
    assert calls.allows(-5, 100)  # 1 of 4
    calls.record(-5, 100)
    assert not calls.allows(-5, 100) and not calls.allows(5, 100)  # 2 of 5 > 25%
    assert calls.allows(0, 100) and (calls.explored, calls.calls) == (1, 4)
    assert not calls.open()  # no exploring call could be allowed: don't even draw
    for _ in range(3):
        calls.record(0, 100)
    assert calls.open()  # 2 of 8 would be allowed
    assert not ExplorationBudget(share=0.5, call_share=0.0).open()
