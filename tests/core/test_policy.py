"""The routing policy on its own: a fake assessment, hand-made models, no server."""

from dataclasses import dataclass

import pytest

from router.core.catalog import ModelSpec, TokenPrices
from router.core.classifier import QualityRef
from router.core.errors import BudgetExhausted, PreconditionFailed
from router.core.policy import (
    Constraints,
    Exclusion,
    ReasonCode,
    RoutableModel,
    choose,
    evaluate,
)


@dataclass
class FakeAssessment:
    qualities: list[float]
    outputs: list[int]
    score: float = 0.5
    label: str = "medium"

    def quality(self, slot: int) -> float:
        return self.qualities[slot]

    def output_tokens(self, slot: int) -> int:
        return self.outputs[slot]


def model(mid: str, price_in: float, price_out: float, *, caps=(), context=100_000,
          max_out=8_000) -> ModelSpec:
    return ModelSpec(
        id=mid, provider="p",
        prices=TokenPrices(int(price_in * 1e9), int(price_in * 1e9), int(price_out * 1e9),
                           int(price_out * 1e9)),
        context_window=context, max_output_tokens=max_out, capabilities=frozenset(caps),
        quality=QualityRef(head=mid))


MODELS = [model("tiny", 0.1, 0.1), model("mid", 1, 2, caps=("tools",)),
          model("big", 10, 30, caps=("tools", "vision"), context=200_000)]
ROUTABLE = [RoutableModel(m, i) for i, m in enumerate(MODELS)]
ASSESS = FakeAssessment(qualities=[0.4, 0.75, 0.95], outputs=[100, 100, 100])


def route(target=0.7, budget=None, constraints=Constraints(), input_tokens=1000,
          assessment=ASSESS):
    cands = evaluate(ROUTABLE, assessment, input_tokens, constraints, target, budget)
    return choose(cands, target, budget, input_tokens, "USD")


def test_picks_the_cheapest_model_that_meets_the_quality_target():
    d = route(target=0.7)
    assert d.chosen.model == "mid" and d.reason is ReasonCode.CHEAPEST_ADEQUATE
    assert [c.model for c in d.fallbacks] == ["big"]
    assert [c.model for c in d.candidates] == ["tiny", "mid", "big"]  # cheapest first
    assert d.candidates[0].exclusion == Exclusion.BELOW_QUALITY


def test_a_low_target_takes_the_cheapest_and_a_high_one_the_best():
    assert route(target=0.3).chosen.model == "tiny"
    assert route(target=0.9).chosen.model == "big"


def test_predicted_cost_is_input_plus_predicted_output_at_list_price():
    d = route(target=0.9)
    # big: 1000 in at 10/M + 100 out at 30/M = 0.01 + 0.003
    assert d.chosen.cost == 13_000_000 and d.chosen.output_tokens == 100


def test_budget_excludes_what_does_not_fit_and_falls_back_to_best_affordable():
    d = route(target=0.9, budget=5_000_000)  # big costs 13_000_000
    assert d.chosen.model == "mid" and d.reason is ReasonCode.BEST_AFFORDABLE
    assert "no model is predicted to reach quality 0.90" in d.reason_message
    big = next(c for c in d.candidates if c.model == "big")
    assert big.exclusion == Exclusion.OVER_BUDGET


def test_nothing_affordable_is_budget_exhausted_with_details():
    with pytest.raises(BudgetExhausted) as info:
        route(target=0.5, budget=10)
    assert info.value.violations[0].subject == "remaining_budget"
    assert "tiny" in str(info.value)


def test_constraints_filter_by_capability_context_and_lists():
    assert route(target=0.1, constraints=Constraints(capabilities=frozenset({"vision"}))
                 ).chosen.model == "big"
    assert route(target=0.1, constraints=Constraints(min_context_tokens=150_000)
                 ).chosen.model == "big"
    assert route(target=0.1, constraints=Constraints(excluded=frozenset({"tiny"}))
                 ).chosen.model == "mid"
    d = route(target=0.1, constraints=Constraints(allowed=frozenset({"mid"})))
    assert d.chosen.model == "mid" and d.reason is ReasonCode.ONLY_CANDIDATE
    assert {c.model: c.exclusion for c in d.candidates}["tiny"] == Exclusion.NOT_ALLOWED


def test_input_larger_than_a_context_window_excludes_that_model():
    d = route(target=0.1, input_tokens=150_000)
    assert d.chosen.model == "big"
    assert {c.model: c.exclusion for c in d.candidates}["tiny"] == \
        Exclusion.CONTEXT_TOO_SMALL


def test_no_model_meeting_constraints_is_a_failed_precondition():
    with pytest.raises(PreconditionFailed):
        route(constraints=Constraints(capabilities=frozenset({"audio"})))


def test_output_prediction_is_capped_by_request_and_model():
    big_out = FakeAssessment([0.9, 0.9, 0.9], [50_000, 50_000, 50_000])
    d = route(target=0.1, assessment=big_out)
    assert d.chosen.output_tokens == 8_000  # model max
    d = route(target=0.1, assessment=big_out, constraints=Constraints(max_output_tokens=256))
    assert d.chosen.output_tokens == 256


def test_ties_on_cost_prefer_higher_quality():
    twins = [RoutableModel(model("a", 1, 1), 0), RoutableModel(model("b", 1, 1), 1)]
    a = FakeAssessment([0.8, 0.9], [10, 10])
    cands = evaluate(twins, a, 10, Constraints(), 0.5, None)
    assert choose(cands, 0.5, None, 10).chosen.model == "b"
