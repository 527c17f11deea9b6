"""Learning from outcomes through a real RoutingService over a temporary SQLite store: traffic
follows what the outcomes say, exploration stays within its budget and its scopes, and never
past the caller's or the budgets' money."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from router.core.budgets import rule_from_mapping
from router.core.errors import BudgetExhausted
from router.core.learning import TASK, logit, sigmoid
from router.core.money import Money
from router.core.records import Attribution, DecisionRecord
from router.core.requests import RouteInput
from router.service import Services, build_services
from router.settings import Settings

TASK_TEXT = "Match these invoice lines to the purchase order and flag discrepancies."
CHEAP, DEAR = "qwen2.5-7b-instruct", "gpt-4o"  # the classifier: about 0.59 and 0.79 here
KEYS = Attribution(team="ops", agent="matcher", task_type="invoice-matching")


def services(store, recorder, catalog, classifier, clock, seed: int = 7,
             **settings: object) -> Services:
    s = Settings(decision_lookup_grace_ms=0, **settings)  # type: ignore[arg-type]
    svc = build_services(s, catalog, classifier, store, recorder, clock)
    svc.learning.rng = np.random.default_rng(seed)
    return svc


def route(svc: Services, keys: Attribution = KEYS, target: float = 0.7,
          **fields: object) -> DecisionRecord:
    return svc.routing.route(RouteInput(task_description=TASK_TEXT, attribution=keys,
                                        quality_target=target, allowed_models=(CHEAP, DEAR),
                                        **fields)).decision  # type: ignore[arg-type]


def stream(svc: Services, clock, n: int, scores: dict[str, float],
           keys: Attribution = KEYS, **fields: object) -> list[DecisionRecord]:
    """Route ``n`` calls, each answered by its chosen model, which scores ``scores[model]``."""
    out = []
    for _ in range(n):
        clock.advance(seconds=1)
        d = route(svc, keys, **fields)
        svc.learning.observe(d, d.model, scores[d.model], clock.now_us())
        out.append(d)
    return out


def share(decisions: list[DecisionRecord], model: str) -> float:
    return sum(d.model == model for d in decisions) / len(decisions)


def test_traffic_moves_to_a_cheap_model_as_good_as_the_dear_one_and_back_when_it_degrades(
        store, recorder, catalog, classifier, clock):
    svc = services(store, recorder, catalog, classifier, clock)
    result = svc.routing.route(RouteInput(task_description=TASK_TEXT, attribution=KEYS,
                                          quality_target=0.7, allowed_models=(CHEAP, DEAR)))
    first = result.decision
    assert first.model == DEAR and first.prior_quality is None  # nothing learned yet
    cheap_prior = next(c.quality for c in result.considered if c.model == CHEAP)
    assert cheap_prior < 0.7 <= first.predicted_quality  # the prior: the cheap one falls short

    # both answer as well as each other: exploration tries the cheap one, and it stays
    learned = stream(svc, clock, 400, {CHEAP: 0.9, DEAR: 0.9})
    assert share(learned[:20], CHEAP) < share(learned[-100:], CHEAP)
    assert share(learned[-100:], CHEAP) > 0.9
    late = learned[-1]
    if late.model == CHEAP:
        assert late.prior_quality == pytest.approx(cheap_prior)  # the classifier's own
        assert late.predicted_quality > 0.7  # what the policy used: the learned quality
    mean = svc.learning.learner.posterior(TASK, KEYS.task_type, CHEAP).mean
    assert sigmoid(logit(cheap_prior) + mean) > 0.7

    # the cheap one regresses: a few dozen failures and the dear one has the traffic again
    degraded = stream(svc, clock, 300, {CHEAP: 0.0, DEAR: 0.9})
    assert share(degraded[-100:], CHEAP) < 0.1
    failures = sum(d.model == CHEAP for d in degraded)
    assert failures < 120


def test_exploration_spend_stays_under_its_cap_over_a_long_stream(
        store, recorder, catalog, classifier, clock):
    svc = services(store, recorder, catalog, classifier, clock, learning_explore_share=0.05)
    budget = svc.learning.budget
    # the cheap model answers just well enough: its sampled quality often falls short, and the
    # dear one (about 30 times the price) is what exploring would pick
    explored = 0
    for d in stream(svc, clock, 1500, {CHEAP: 0.74, DEAR: 0.8}):
        assert budget.spent <= budget.share * budget.total
        explored += "over the posterior mean's choice" in d.reason_message
    assert explored > 0 and budget.spent > 0
    assert budget.spent <= 0.05 * budget.total


def test_a_no_explore_scope_never_explores_but_uses_the_learned_means(
        store, recorder, catalog, classifier, clock):
    svc = services(store, recorder, catalog, classifier, clock,
                   learning_no_explore="team:finance, task_type:payroll")
    sampled: list[object] = []
    real_sample = svc.learning.sample
    svc.learning.sample = lambda offsets: sampled.append(offsets) or real_sample(offsets)
    stream(svc, clock, 30, {CHEAP: 0.9, DEAR: 0.9})  # the learner now knows the task type
    assert sampled
    sampled.clear()
    finance = dataclasses.replace(KEYS, team="finance")
    decisions = stream(svc, clock, 300, {CHEAP: 0.9, DEAR: 0.9}, keys=finance)
    assert sampled == []
    assert not any("explored" in d.reason_message for d in decisions)
    assert all(d.prior_quality is not None for d in decisions)  # the means were applied
    payroll = dataclasses.replace(KEYS, task_type="payroll")
    stream(svc, clock, 30, {CHEAP: 0.9, DEAR: 0.9}, keys=payroll)
    assert sampled == []
    # and a scope that may explore still does
    stream(svc, clock, 30, {CHEAP: 0.9, DEAR: 0.9})
    assert sampled


def test_offsets_never_pick_a_model_over_the_callers_remaining_budget(
        store, recorder, catalog, classifier, clock):
    svc = services(store, recorder, catalog, classifier, clock, learning_explore_share=1.0)
    # the dear model is learned to be excellent, the cheap one poor
    stream(svc, clock, 200, {CHEAP: 0.0, DEAR: 1.0})
    probe = svc.routing.route(RouteInput(task_description=TASK_TEXT, attribution=KEYS,
                                         quality_target=0.7, allowed_models=(CHEAP, DEAR)))
    costs = {c.model: c.cost for c in probe.considered}
    assert costs[CHEAP] < costs[DEAR]
    room = (costs[CHEAP] + costs[DEAR]) // 2
    for d in stream(svc, clock, 200, {CHEAP: 0.0, DEAR: 1.0},
                    remaining_budget=Money(room, "USD")):
        assert d.model == CHEAP and d.predicted_cost <= room
    with pytest.raises(BudgetExhausted):
        route(svc, remaining_budget=Money(costs[CHEAP] - 1, "USD"))


def test_offsets_never_break_a_budget(store, recorder, catalog, classifier, clock):
    svc = services(store, recorder, catalog, classifier, clock, learning_explore_share=1.0)
    stream(svc, clock, 200, {CHEAP: 0.0, DEAR: 1.0})
    svc.budgets.set(rule_from_mapping({"id": "ops", "scope": {"team": "ops"},
                                       "limit": "0.01", "window": "day"}))
    held = 0
    for _ in range(400):
        try:
            d = route(svc)
        except BudgetExhausted:
            continue
        held += d.predicted_cost
    assert 0 < held <= 10_000_000  # the holds never exceed the budget's $0.01


def test_a_fallback_teaches_against_its_own_prior(store, recorder, catalog, classifier, clock):
    # no exploration: a decision's qualities are the posterior means' exactly
    svc = services(store, recorder, catalog, classifier, clock, learning_explore_share=0.0)
    learning = svc.learning
    priors: list[float] = []
    real_observe = learning.learner.observe

    def observe(task_type: str, agent: str, model: str, prior_quality: float, score: float,
                now_us: int) -> None:
        priors.append(prior_quality)
        real_observe(task_type, agent, model, prior_quality, score, now_us)

    learning.learner.observe = observe  # type: ignore[method-assign]
    d = svc.routing.route(RouteInput(task_description=TASK_TEXT, attribution=KEYS,
                                     quality_target=0.5)).decision
    assert d.prior_quality is None and d.fallbacks
    fallback = d.fallbacks[0]
    kept = next(c.quality for c in d.candidates if c.model == fallback)
    learning.observe(d, fallback, 1.0, clock.now_us())
    assert priors == [kept]  # the classifier's own: nothing was learned when it was routed
    assert learning.learner.posterior(TASK, KEYS.task_type, fallback).mean > 0
    learning.observe(d, "a-model-it-never-considered", 1.0, clock.now_us())
    assert len(priors) == 1
    # a later decision's candidates carry learned qualities: taken back to the classifier's
    later = svc.routing.route(RouteInput(task_description=TASK_TEXT, attribution=KEYS,
                                         quality_target=0.5, excluded_models=(d.model,))
                              ).decision
    assert later.prior_quality is not None and fallback in {c.model for c in later.candidates}
    learned = next(c.quality for c in later.candidates if c.model == fallback)
    mean = learning.learner.posterior(TASK, KEYS.task_type, fallback).mean
    assert learned > kept  # the learned offset raised it
    learning.observe(later, fallback, 0.0, clock.now_us())
    assert priors[-1] == pytest.approx(sigmoid(logit(learned) - mean))
    assert priors[-1] == pytest.approx(kept)  # the same text, the same classifier


def test_with_learning_off_nothing_is_learned_or_applied(
        store, recorder, catalog, classifier, clock):
    svc = services(store, recorder, catalog, classifier, clock, learning=False)
    decisions = stream(svc, clock, 50, {CHEAP: 1.0, DEAR: 0.0})
    assert len(svc.learning.learner) == 0
    assert all(d.prior_quality is None and d.model == DEAR for d in decisions)


def test_offsets_are_cached_until_their_own_scope_changes(
        store, recorder, catalog, classifier, clock):
    svc = services(store, recorder, catalog, classifier, clock)
    ids = svc.routing.table_at(clock.now_us()).table.ids
    learning = svc.learning
    assert learning.offsets_for("invoice-matching", "", ids) is None  # nothing learned yet
    d = route(svc)
    learning.observe(d, d.model, 1.0, clock.now_us())
    other = dataclasses.replace(d, attribution=Attribution(agent="bard", task_type="poems"))
    learning.observe(other, d.model, 1.0, clock.now_us())
    mine = learning.offsets_for("invoice-matching", "matcher", ids)
    assert mine is not None and learning.offsets_for("invoice-matching", "matcher", ids) is mine
    learning.observe(other, d.model, 0.0, clock.now_us())  # another task type learns
    assert learning.offsets_for("invoice-matching", "matcher", ids) is mine
    learning.observe(d, d.model, 0.0, clock.now_us())  # this one does
    again = learning.offsets_for("invoice-matching", "matcher", ids)
    assert again is not mine and again is not None
    assert not again[0].flags.writeable
