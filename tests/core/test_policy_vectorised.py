"""The vectorised scorer against the scalar one it replaced: the same candidates (quality, output
tokens, integer cost, exclusion, order) and the same decision or refusal, for random catalogs and
requests, and for the real catalog and classifier."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.core.catalog import CAPABILITIES, ModelSpec, PriceTier, TokenPrices, load_catalog
from router.core.classifier import Classifier, QualityRef
from router.core.errors import BudgetExhausted, PreconditionFailed, QuotaViolation
from router.core.policy import (
    MAX_FALLBACKS,
    CandidateTable,
    Constraints,
    Exclusion,
    ReasonCode,
    RoutableModel,
    choose,
    evaluate,
)
from router.core.pricing import predicted_cost
from router.core.records import CandidateRecord
from router.settings import Settings

# --- the oracle: the scalar evaluate and choose as they were before vectorising ---------------


def _old_hard_exclusion(spec: ModelSpec, c: Constraints, input_tokens: int) -> Exclusion:
    if (c.allowed is not None and spec.id not in c.allowed) or spec.id in c.excluded:
        return Exclusion.NOT_ALLOWED
    if not c.capabilities <= spec.capabilities:
        return Exclusion.MISSING_CAPABILITY
    if spec.context_window < max(c.min_context_tokens, input_tokens + 1):
        return Exclusion.CONTEXT_TOO_SMALL
    return Exclusion.NONE


def old_evaluate(models: Sequence[RoutableModel], assessment, input_tokens: int,
                 constraints: Constraints, quality_target: float, budget: int | None,
                 output_factor: Callable[[str], float] | None = None,
                 token_budget: int | None = None,
                 model_room: Mapping[str, tuple[int | None, int | None]] | None = None,
                 ) -> list[CandidateRecord]:
    out: list[CandidateRecord] = []
    cap = constraints.max_output_tokens or 2**62
    open_constraints = constraints.is_open()
    for m in models:
        spec = m.spec
        predicted = assessment.output_tokens(m.slot)
        if output_factor is not None:
            predicted = round(predicted * output_factor(spec.id))
        output = max(1, min(predicted, spec.max_output_tokens,
                            spec.context_window - input_tokens, cap))
        quality = assessment.quality(m.slot)
        cost = predicted_cost(spec.prices, input_tokens, output)
        if open_constraints:
            exclusion = Exclusion.CONTEXT_TOO_SMALL if spec.context_window <= input_tokens \
                else Exclusion.NONE
        else:
            exclusion = _old_hard_exclusion(spec, constraints, input_tokens)
        if exclusion is Exclusion.NONE:
            money_cap, token_cap = budget, token_budget
            if model_room and spec.id in model_room:
                room_money, room_tokens = model_room[spec.id]
                money_cap = room_money if money_cap is None else money_cap \
                    if room_money is None else min(room_money, money_cap)
                token_cap = room_tokens if token_cap is None else token_cap \
                    if room_tokens is None else min(room_tokens, token_cap)
            if (money_cap is not None and cost > money_cap) or (
                    token_cap is not None and input_tokens + output > token_cap):
                exclusion = Exclusion.OVER_BUDGET
            elif quality < quality_target:
                exclusion = Exclusion.BELOW_QUALITY
        out.append(CandidateRecord(spec.id, spec.provider, quality, output, cost, exclusion))
    out.sort(key=lambda c: (c.cost, -c.quality, c.model))
    return out


def old_choose(candidates: Sequence[CandidateRecord], quality_target: float, budget: int | None,
               input_tokens: int, currency: str = ""):
    """(chosen, fallbacks, reason, message) as the scalar choose decided them."""
    adequate = [c for c in candidates if c.exclusion == Exclusion.NONE]
    if adequate:
        chosen, rest = adequate[0], adequate[1:]
        if len(adequate) == 1 and not any(
                c.exclusion == Exclusion.BELOW_QUALITY for c in candidates):
            code, why = ReasonCode.ONLY_CANDIDATE, "the only model that meets the constraints"
        else:
            code = ReasonCode.CHEAPEST_ADEQUATE
            why = (f"cheapest model predicted to reach quality {quality_target:.2f}"
                   + (" within budget" if budget is not None else ""))
        return chosen, tuple(rest[:MAX_FALLBACKS]), code, why
    affordable = [c for c in candidates if c.exclusion == Exclusion.BELOW_QUALITY]
    if affordable:
        ranked = sorted(affordable, key=lambda c: (-c.quality, c.cost, c.model))
        chosen = ranked[0]
        why = (f"no model is predicted to reach quality {quality_target:.2f}"
               + (" within budget" if budget is not None else "")
               + f"; chose the best affordable ({chosen.quality:.2f})")
        return chosen, tuple(ranked[1:1 + MAX_FALLBACKS]), ReasonCode.BEST_AFFORDABLE, why
    over_budget = [c for c in candidates if c.exclusion == Exclusion.OVER_BUDGET]
    if over_budget:
        cheapest = over_budget[0]
        raise BudgetExhausted(
            f"no model fits the remaining budget: the cheapest eligible, {cheapest.model}, "
            f"is predicted to cost {cheapest.cost} nanos {currency}, budget is {budget}",
            [QuotaViolation("remaining_budget",
                            f"cheapest eligible call is predicted at {cheapest.cost} nanos, "
                            f"remaining budget is {budget} nanos")],
        )
    raise PreconditionFailed("no model in the catalog meets the requested constraints "
                             "(capabilities, context, allowed/excluded models)")


# --- comparing the two ---------------------------------------------------------------------


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


def outcome(fn: Callable[[], object]) -> object:
    """What a call returns, or the refusal it raises (type, message, violations)."""
    try:
        return fn()
    except (BudgetExhausted, PreconditionFailed) as exc:
        return type(exc), str(exc), getattr(exc, "violations", None)


def assert_same(models: Sequence[RoutableModel], assessment, input_tokens: int,
                constraints: Constraints, target: float, budget: int | None,
                factor: dict[str, float] | None = None, token_budget: int | None = None,
                model_room: Mapping[str, tuple[int | None, int | None]] | None = None,
                table: CandidateTable | None = None) -> None:
    by_id = None if factor is None else (lambda mid: factor.get(mid, 1.0))
    want = old_evaluate(models, assessment, input_tokens, constraints, target, budget, by_id,
                        token_budget, model_room)
    table = table or CandidateTable(models)
    as_array = None if factor is None else np.array([factor.get(m, 1.0) for m in table.ids])
    for given_factor in (by_id, as_array):
        got = evaluate(table, assessment, input_tokens, constraints, target, budget,
                       given_factor, token_budget, model_room)
        records = got.records()
        assert records == tuple(want)
        assert [type(v) for c in records for v in c] == [type(v) for c in want for v in c]
        assert [got.record(i) for i in range(len(got))] == want
        assert list(got) == want and len(got) == len(want)
        for exclusion in Exclusion:
            assert got.first(exclusion) == next((c for c in want if c.exclusion == exclusion),
                                                None)
        expected = outcome(lambda: old_choose(want, target, budget, input_tokens, "USD"))
        actual = outcome(lambda got=got: choose(got, target, budget, input_tokens, "USD"))
        if isinstance(actual, tuple) and len(actual) == 3:  # a refusal: compare as is
            assert actual == expected
            continue
        assert expected == (actual.chosen, actual.fallbacks, actual.reason,
                            actual.reason_message)
        assert actual.candidates is got
        assert (actual.quality_target, actual.input_tokens) == (target, input_tokens)


# --- random catalogs and requests ------------------------------------------------------------

IDS = [f"m{i}" for i in range(12)]
CAPS = sorted(CAPABILITIES)
PRICES = st.one_of(st.sampled_from([0, 1, 499_999, 500_000, 1_000_000, 150_000_000_000]),
                   st.integers(0, 200 * 10**9), st.integers(0, 10**13))
TOKENS = st.one_of(st.sampled_from([1, 2, 1000, 8192, 128_000, 200_000]),
                   st.integers(1, 2_000_000))
BIG = st.integers(2**62, 10**22)  # past int64: the exact (Python int) path


def mostly(common: st.SearchStrategy, rare: st.SearchStrategy) -> st.SearchStrategy:
    """``common`` nine times in ten."""
    return st.integers(0, 9).flatmap(lambda k: rare if k == 0 else common)



@st.composite
def specs(draw: st.DrawFn, mid: str, huge: bool) -> ModelSpec:
    price_in, price_out = draw(PRICES), draw(PRICES)
    context = draw(mostly(st.sampled_from([8192, 128_000, 200_000, 1_000_000]),
                          st.one_of(TOKENS, BIG) if huge else TOKENS))
    # long-context tiers on some models: thresholds shared across models or their own
    thresholds = draw(st.lists(st.one_of(st.sampled_from([1000, 128_000, 200_000]), TOKENS),
                               max_size=2, unique=True))
    tiers = tuple(PriceTier(t, draw(PRICES), 0, 0, draw(PRICES), 0)
                  for t in sorted(x for x in thresholds if x > 0))
    return ModelSpec(
        id=mid, provider=draw(st.sampled_from(["a", "b", "c"])),
        prices=TokenPrices(price_in, price_in, price_out, price_out, tiers=tiers),
        context_window=context, max_output_tokens=draw(TOKENS),
        capabilities=frozenset(draw(st.lists(st.sampled_from(CAPS), max_size=4))),
        quality=QualityRef(head=mid))


@st.composite
def catalogs(draw: st.DrawFn) -> tuple[list[RoutableModel], FakeAssessment]:
    ids = draw(st.lists(st.sampled_from(IDS), min_size=draw(mostly(st.just(1), st.just(0))),
                        max_size=10, unique=True))
    if ids and draw(st.booleans()):
        ids.append(ids[0])  # a duplicate id: the scalar scorer treated each on its own
    huge = draw(st.integers(0, 9)) == 0  # a context window past int64: Python ints throughout
    models = [RoutableModel(draw(specs(mid, huge)), slot) for slot, mid in enumerate(ids)]
    # few distinct qualities and outputs, so that costs and qualities tie
    quality = st.one_of(st.sampled_from([0.0, 0.25, 0.5, 0.7, 0.9, 1.0]),
                        st.floats(0.0, 1.0, allow_nan=False))
    output = mostly(st.one_of(st.sampled_from([1, 3, 5, 100, 1000]), st.integers(1, 100_000)),
                    st.one_of(st.integers(-10, 0), BIG))
    n = len(models)
    assessment = FakeAssessment(draw(st.lists(quality, min_size=n, max_size=n)),
                                draw(st.lists(output, min_size=n, max_size=n)))
    return models, assessment


MONEY = mostly(st.one_of(st.none(), st.sampled_from([0, 1, 10, 1000, 5_000_000]),
                         st.integers(0, 10**12)),
               st.one_of(st.integers(-10, -1), BIG))
TOKEN_CAP = mostly(st.one_of(st.none(), st.sampled_from([0, 1, 1500, 10_000]),
                             st.integers(0, 3_000_000)), BIG)
FACTOR = st.one_of(st.sampled_from([0.1, 0.5, 1.0, 1.5, 2.5, 10.0]),
                   st.floats(0.05, 20.0, allow_nan=False))


@st.composite
def requests(draw: st.DrawFn, ids: list[str]) -> dict[str, object]:
    names = st.sampled_from([*ids, "unknown"]) if ids else st.just("unknown")
    constraints = Constraints(
        capabilities=frozenset(draw(st.lists(st.sampled_from([*CAPS, "telepathy"]),
                                             max_size=2))
                               if draw(st.booleans()) else ()),
        min_context_tokens=draw(mostly(st.one_of(st.just(0), st.integers(0, 200_000)),
                                       st.one_of(TOKENS, BIG))),
        allowed=frozenset(draw(st.lists(names, max_size=4))) if draw(st.booleans()) else None,
        excluded=frozenset(draw(st.lists(names, max_size=3))),
        max_output_tokens=draw(mostly(st.one_of(st.none(), st.just(0), TOKENS), BIG)),
    )
    if draw(st.booleans()):
        constraints = Constraints(max_output_tokens=constraints.max_output_tokens)  # open
    room = draw(st.one_of(st.none(), st.just({}), st.dictionaries(
        names, st.tuples(MONEY, TOKEN_CAP), max_size=4)))
    return dict(
        input_tokens=draw(mostly(st.one_of(st.sampled_from([0, 1, 1000, 128_000]),
                                           st.integers(0, 20_000)),
                                 st.one_of(st.integers(0, 3_000_000), BIG))),
        constraints=constraints,
        target=draw(st.one_of(st.sampled_from([0.0, 0.5, 0.7, 0.9, 1.0]),
                              st.floats(0.0, 1.0, allow_nan=False))),
        budget=draw(MONEY),
        factor=draw(st.one_of(st.none(), st.dictionaries(names, FACTOR))),
        token_budget=draw(TOKEN_CAP),
        model_room=room,
    )


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_catalogs_and_requests_score_as_the_scalar_policy_did(data: st.DataObject):
    models, assessment = data.draw(catalogs())
    req = data.draw(requests(sorted({m.id for m in models})))
    assert_same(models, assessment, **req)


# --- the real catalog and classifier ---------------------------------------------------------

TEXTS = ["Summarise this paragraph in two sentences.",
         "Write a Python function that parses RFC 3339 timestamps, with tests.",
         "Prove that there are infinitely many primes congruent to 3 mod 4, then generalise "
         "the argument to other residues and discuss Dirichlet's theorem.",
         "hi", "Translate 'good morning' into French, German and Japanese."]


@pytest.fixture(scope="module")
def real() -> tuple[list[RoutableModel], CandidateTable, list]:
    s = Settings()
    catalog = load_catalog(s.catalog_path)
    classifier = Classifier.load(s.classifier_path)
    models = [RoutableModel(m, classifier.resolve(m.quality)) for m in catalog.enabled()]
    return models, CandidateTable(models), [classifier.assess(t) for t in TEXTS]


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_the_real_catalog_scores_as_the_scalar_policy_did(real, data: st.DataObject):
    models, table, assessments = real
    req = data.draw(requests([m.id for m in models]))
    assert_same(models, data.draw(st.sampled_from(assessments)), table=table, **req)


def test_the_real_catalog_stays_on_int64_for_any_valid_request(real):
    from router.core.requests import MAX_TOKENS
    _, table, _ = real
    assert table.columns.price_in.dtype == np.int64 and table.input_limit > MAX_TOKENS


def test_input_beyond_the_int64_limit_is_priced_in_python_ints(real):
    models, table, assessments = real
    for input_tokens in (table.input_limit, table.input_limit + 1, 10**21):
        got = evaluate(table, assessments[0], input_tokens, Constraints(), 0.5, None)
        assert got.records() == tuple(old_evaluate(models, assessments[0], input_tokens,
                                                   Constraints(), 0.5, None))
        assert all(type(c.cost) is int for c in got)


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan, 1e300, -1e300])
def test_a_factor_round_cannot_take_fails_as_round_did(bad: float):
    models = [RoutableModel(ModelSpec("a", "p", TokenPrices(1, 1, 1, 1), 1000, 100,
                                      frozenset(), QualityRef(head="a")), 0)]
    assessment = FakeAssessment([0.5], [10])

    def result(scorer: Callable[..., Sequence[CandidateRecord]]) -> object:
        try:
            return tuple(scorer(models, assessment, 10, Constraints(), 0.5, None,
                                {"a": bad}.__getitem__))
        except (OverflowError, ValueError) as exc:
            return type(exc)

    assert result(evaluate) == result(old_evaluate)


def test_records_are_built_once_and_only_when_read(real):
    _, table, assessments = real
    got = evaluate(table, assessments[1], 1200, Constraints(), 0.7, None)
    decision = choose(got, 0.7, None, 1200)
    assert got._records is None  # the decision built its chosen and fallbacks alone
    assert decision.chosen == got.first(Exclusion.NONE) and got.records() is got.records()
    assert decision.chosen in got.records() and set(decision.fallbacks) <= set(got)
    assert got[1:3] == got.records()[1:3] and got[-1] == got.records()[-1]
