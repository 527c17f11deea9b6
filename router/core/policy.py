"""The routing policy: the cheapest model that is adequate, allowed and affordable.

Pure functions over the catalog and the classifier's assessment; no I/O, no clock.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from router.core.catalog import ModelSpec
from router.core.classifier import Assessment
from router.core.errors import BudgetExhausted, PreconditionFailed, QuotaViolation
from router.core.pricing import predicted_cost
from router.core.records import CandidateRecord

MAX_FALLBACKS = 3


class Exclusion(enum.IntEnum):
    """Why a candidate was not eligible (values match the wire enum)."""

    NONE = 0
    OVER_BUDGET = 1
    BELOW_QUALITY = 2
    MISSING_CAPABILITY = 3
    CONTEXT_TOO_SMALL = 4
    NOT_ALLOWED = 5


class ReasonCode(enum.IntEnum):
    CHEAPEST_ADEQUATE = 1
    BEST_AFFORDABLE = 2
    ONLY_CANDIDATE = 3


@dataclass(frozen=True, slots=True)
class RoutableModel:
    """A catalog model paired with its slot in the classifier's output, flattened for speed."""

    spec: ModelSpec
    slot: int

    @property
    def id(self) -> str:
        return self.spec.id


@dataclass(frozen=True, slots=True)
class Constraints:
    capabilities: frozenset[str] = frozenset()
    min_context_tokens: int = 0
    allowed: frozenset[str] | None = None  # catalog ids; None means all
    excluded: frozenset[str] = frozenset()
    max_output_tokens: int | None = None

    def is_open(self) -> bool:
        return not (self.capabilities or self.min_context_tokens or self.allowed is not None
                    or self.excluded)


@dataclass(frozen=True, slots=True)
class Decision:
    chosen: CandidateRecord
    fallbacks: tuple[CandidateRecord, ...]
    reason: ReasonCode
    reason_message: str
    candidates: tuple[CandidateRecord, ...]  # every model considered, cheapest first
    quality_target: float
    input_tokens: int


def _hard_exclusion(spec: ModelSpec, c: Constraints, input_tokens: int) -> Exclusion:
    if (c.allowed is not None and spec.id not in c.allowed) or spec.id in c.excluded:
        return Exclusion.NOT_ALLOWED
    if not c.capabilities <= spec.capabilities:
        return Exclusion.MISSING_CAPABILITY
    if spec.context_window < max(c.min_context_tokens, input_tokens + 1):
        return Exclusion.CONTEXT_TOO_SMALL
    return Exclusion.NONE


def evaluate(
    models: Sequence[RoutableModel],
    assessment: Assessment,
    input_tokens: int,
    constraints: Constraints,
    quality_target: float,
    budget: int | None,
    output_factor: Callable[[str], float] | None = None,
    token_budget: int | None = None,
    model_room: Mapping[str, tuple[int | None, int | None]] | None = None,
) -> list[CandidateRecord]:
    """Predict quality, output tokens and cost of every model; mark why each is ineligible.

    ``output_factor(model_id)`` corrects the classifier's output-token prediction (online
    calibration from reported usage). ``token_budget`` caps a call's input + output tokens;
    ``model_room`` adds (money, tokens) caps for single models (budgets scoped to a model).
    Runs for every catalog model on every Route, so the loop is kept flat: no per-model function
    calls beyond the assessment's.
    """
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
            exclusion = _hard_exclusion(spec, constraints, input_tokens)
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


def choose(
    candidates: Sequence[CandidateRecord],
    quality_target: float,
    budget: int | None,
    input_tokens: int,
    currency: str = "",
) -> Decision:
    """Pick from ``evaluate``'s output (sorted cheapest first).

    Cheapest adequate and affordable model if there is one; else the best-quality affordable one;
    else BudgetExhausted (something fits the constraints, nothing fits the money) or
    PreconditionFailed (nothing fits the constraints at all).
    """
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
        return Decision(chosen, tuple(rest[:MAX_FALLBACKS]), code, why, tuple(candidates),
                        quality_target, input_tokens)

    affordable = [c for c in candidates if c.exclusion == Exclusion.BELOW_QUALITY]
    if affordable:
        ranked = sorted(affordable, key=lambda c: (-c.quality, c.cost, c.model))
        chosen = ranked[0]
        why = (f"no model is predicted to reach quality {quality_target:.2f}"
               + (" within budget" if budget is not None else "")
               + f"; chose the best affordable ({chosen.quality:.2f})")
        return Decision(chosen, tuple(ranked[1:1 + MAX_FALLBACKS]), ReasonCode.BEST_AFFORDABLE,
                        why, tuple(candidates), quality_target, input_tokens)

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
