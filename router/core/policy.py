"""The routing policy: the cheapest model that is adequate, allowed and affordable.

Pure functions over the catalog and the classifier's assessment; no I/O, no clock.

Route scores every catalog model on every call, so the catalog is kept as arrays
(``CandidateTable``, built once per catalog) and each prediction, cost and exclusion is one numpy
expression over all models. ``evaluate`` returns those arrays (``Candidates``); a
``CandidateRecord`` is built only where one is read.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, overload

import numpy as np

from router.core.catalog import ModelSpec
from router.core.classifier import Assessment
from router.core.errors import BudgetExhausted, PreconditionFailed, QuotaViolation
from router.core.learning import adjusted
from router.core.pricing import predicted_costs
from router.core.records import CandidateRecord

MAX_FALLBACKS = 3
_NO_OUTPUT_CAP = 2**62  # what no max_output_tokens stands for
_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1
_I64_SAFE = 2**62  # catalog integers and scaled predictions above this stay Python ints
_HALF_MTOK = 500_000  # the rounding term of pricing.predicted_cost


class Exclusion(enum.IntEnum):
    """Why a candidate was not eligible (values match the wire enum)."""

    NONE = 0
    OVER_BUDGET = 1
    BELOW_QUALITY = 2
    MISSING_CAPABILITY = 3
    CONTEXT_TOO_SMALL = 4
    NOT_ALLOWED = 5


_EXCLUSIONS = tuple(Exclusion)  # by value: the members are 0..5 in order
assert all(e.value == i for i, e in enumerate(_EXCLUSIONS))
_NONE, _OVER_BUDGET, _BELOW_QUALITY, _MISSING_CAPABILITY, _CONTEXT_TOO_SMALL, _NOT_ALLOWED = (
    range(6))


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
class _Columns:
    """A table's integer columns, all of one dtype: int64, or object (Python ints)."""

    price_in: np.ndarray  # nanos per 1M input tokens
    price_out: np.ndarray  # nanos per 1M output tokens
    context: np.ndarray
    max_output: np.ndarray


def _columns(specs: Sequence[ModelSpec], dtype: Any) -> _Columns:
    def column(values: Iterable[int]) -> np.ndarray:
        array = np.array(list(values), dtype=dtype)
        array.flags.writeable = False
        return array

    return _Columns(column(s.prices.input for s in specs), column(s.prices.output for s in specs),
                    column(s.context_window for s in specs),
                    column(s.max_output_tokens for s in specs))


class CandidateTable:
    """The routable models as arrays, in the given order: built once per catalog, only read after.

    Integer columns are int64. ``input_limit`` is the most input tokens for which no term of
    ``evaluate`` (cost before rounding, input + output tokens) can overflow int64: about 6 x 10**8
    for the shipped catalog, over the 10**8 a request may claim. Beyond it (or when a catalog
    value is past 2**62) ``evaluate`` computes on object arrays of Python ints instead: slower,
    and every cost still exactly the integer ``pricing.predicted_cost`` gives.
    """

    def __init__(self, models: Iterable[RoutableModel]) -> None:
        self.models = tuple(models)
        specs = [m.spec for m in self.models]
        n = self.size = len(specs)
        self.ids = tuple(s.id for s in specs)
        self.slots = tuple(m.slot for m in self.models)
        self.providers = tuple(s.provider for s in specs)
        self.id_array = np.array(self.ids, dtype=object)
        self.provider_array = np.array(self.providers, dtype=object)
        positions: dict[str, list[int]] = {}
        for i, mid in enumerate(self.ids):
            positions.setdefault(mid, []).append(i)
        self._positions = {mid: tuple(p) for mid, p in positions.items()}
        # ties on cost and quality go to the smaller id; equal ids keep their order
        self.rank = np.empty(n, dtype=np.int64)
        self.rank[sorted(range(n), key=self.ids.__getitem__)] = np.arange(n)
        self._bits = {c: 1 << k for k, c in
                      enumerate(sorted(set().union(*(s.capabilities for s in specs))))}
        self.capabilities = np.array(
            [sum(self._bits[c] for c in s.capabilities) for s in specs],
            dtype=np.int64 if len(self._bits) < 63 else object)
        self.max_output_bound = max([1, *(s.max_output_tokens for s in specs)])
        self.ones = np.ones(n, dtype=np.int64)  # the least output: an array, cheaper than a scalar
        self.exact = _columns(specs, object)
        # long-context tiers, by threshold: above it, these positions pay these prices
        by_threshold: dict[int, list[tuple[int, int, int]]] = {}
        for i, s in enumerate(specs):
            for tier in s.prices.tiers:
                by_threshold.setdefault(tier.above_input_tokens, []).append(
                    (i, tier.input, tier.output))
        self.tier_steps = tuple(
            (t, np.array([i for i, _, _ in rows], dtype=np.intp), [p for _, p, _ in rows],
             [p for _, _, p in rows]) for t, rows in sorted(by_threshold.items()))
        self.first_tier = self.tier_steps[0][0] if self.tier_steps else _I64_MAX
        tier_in = [p for *_, ins, _ in self.tier_steps for p in ins]
        tier_out = [p for *_, outs in self.tier_steps for p in outs]
        magnitudes = [abs(v) for s in specs for v in (s.prices.input, s.prices.output,
                                                       s.context_window, s.max_output_tokens)]
        magnitudes += map(abs, tier_in + tier_out)
        if max(magnitudes, default=0) <= _I64_SAFE:
            self.columns = _columns(specs, np.int64)
            # input x price_in + output x price_out + 1/2 M, input + output and context - input
            # all stay within int64
            price_in = max([1, *(abs(s.prices.input) for s in specs), *map(abs, tier_in)])
            out_cost = self.max_output_bound * max(
                [0, *(abs(s.prices.output) for s in specs), *map(abs, tier_out)])
            self.input_limit = min((_I64_MAX - _HALF_MTOK - out_cost) // price_in,
                                   _I64_MAX - self.max_output_bound, _I64_SAFE)
        else:
            self.columns, self.input_limit = self.exact, -1

    def prices_for(self, input_tokens: int, col: _Columns) -> tuple[np.ndarray, np.ndarray]:
        """Input and output prices per model for a prompt of ``input_tokens``: the base columns,
        or, past a tier's threshold, copies with each tiered model's price for that length."""
        if input_tokens <= self.first_tier:  # every call of a catalog without tiers
            return col.price_in, col.price_out
        price_in, price_out = col.price_in.copy(), col.price_out.copy()
        for threshold, positions, ins, outs in self.tier_steps:
            if input_tokens <= threshold:
                break
            price_in[positions] = ins  # thresholds ascend: a model's highest tier is set last
            price_out[positions] = outs
        return price_in, price_out

    def positions(self, ids: Iterable[str]) -> list[int]:
        """Where these model ids sit in the table (ids not in it are skipped)."""
        get = self._positions.get
        return [i for mid in ids for i in get(mid, ())]

    def capability_mask(self, required: frozenset[str]) -> int | None:
        """The bits of ``required``; None when some capability is one no model has."""
        if not required <= self._bits.keys():
            return None
        return sum(self._bits[c] for c in required)


class Candidates(Sequence[CandidateRecord]):
    """``evaluate``'s result: every model's prediction, cheapest first, as arrays.

    A sequence of ``CandidateRecord``: ``record(i)`` builds one, ``records()`` all (once, then
    cached). ``order`` holds the table positions; ``quality``, ``output_tokens``, ``cost`` and
    ``exclusion`` are aligned with it (``cost`` is int64, or object where it could overflow).
    """

    __slots__ = ("_columns", "_records", "_table", "cost", "exclusion", "order", "output_tokens",
                 "quality")

    def __init__(self, table: CandidateTable, order: np.ndarray, quality: np.ndarray,
                 output_tokens: np.ndarray, cost: np.ndarray, exclusion: np.ndarray) -> None:
        self._table = table
        self.order = order
        self.quality = quality
        self.output_tokens = output_tokens
        self.cost = cost
        self.exclusion = exclusion
        self._columns: tuple[list[Any], ...] | None = None
        self._records: tuple[CandidateRecord, ...] | None = None

    def __len__(self) -> int:
        return len(self.order)

    @overload
    def __getitem__(self, i: int) -> CandidateRecord: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[CandidateRecord, ...]: ...

    def __getitem__(self, i: int | slice) -> CandidateRecord | tuple[CandidateRecord, ...]:
        if isinstance(i, slice):
            return self.records()[i]
        return self.record(i)

    def __iter__(self) -> Iterator[CandidateRecord]:
        return iter(self.records())

    def __repr__(self) -> str:
        return f"Candidates({list(self.records())!r})"

    def columns(self) -> tuple[list[Any], ...]:
        """The arrays as Python lists, cheapest first: table position, quality, output tokens,
        cost, exclusion (an int; ``Exclusion(e)`` names it). Built once."""
        if self._columns is None:
            self._columns = (self.order.tolist(), self.quality.tolist(),
                             self.output_tokens.tolist(), self.cost.tolist(),
                             self.exclusion.tolist())
        return self._columns

    def record(self, i: int) -> CandidateRecord:
        """The ``i``-th cheapest candidate."""
        position, quality, output, cost, exclusion = self.columns()
        j = position[i]
        return _new_record((self._table.ids[j], self._table.providers[j], quality[i], output[i],
                            cost[i], _EXCLUSIONS[exclusion[i]]))

    def records(self) -> tuple[CandidateRecord, ...]:
        """Every candidate, cheapest first (what a decision records)."""
        if self._records is None:
            _, *numbers, exclusion = self.columns()
            table, order = self._table, self.order
            self._records = tuple(map(_new_record, zip(
                table.id_array[order].tolist(), table.provider_array[order].tolist(), *numbers,
                map(_EXCLUSIONS.__getitem__, exclusion), strict=True)))
        return self._records

    def first(self, exclusion: Exclusion) -> CandidateRecord | None:
        """The cheapest candidate excluded for ``exclusion`` (NONE: the cheapest eligible)."""
        codes = self.columns()[4]
        return self.record(codes.index(exclusion)) if exclusion in codes else None


# tuple.__new__ skips the named tuple's Python-level __new__: the fields come in order
_new_record: Callable[[Iterable[Any]], CandidateRecord] = partial(tuple.__new__, CandidateRecord)


@dataclass(frozen=True, slots=True)
class Decision:
    chosen: CandidateRecord
    fallbacks: tuple[CandidateRecord, ...]
    reason: ReasonCode
    reason_message: str
    candidates: Candidates  # every model considered, cheapest first
    quality_target: float
    input_tokens: int


def _clamp64(value: int) -> int:
    """A bound as an int64 that compares to any table value exactly as ``value`` does."""
    return min(max(value, _I64_MIN), _I64_MAX)


def _same(value: int) -> int:
    return value


def evaluate(
    models: CandidateTable | Sequence[RoutableModel],
    assessment: Assessment,
    input_tokens: int,
    constraints: Constraints,
    quality_target: float,
    budget: int | None,
    output_factor: Callable[[str], float] | np.ndarray | None = None,
    token_budget: int | None = None,
    model_room: Mapping[str, tuple[int | None, int | None]] | None = None,
    quality_offset: np.ndarray | None = None,
) -> Candidates:
    """Predict quality, output tokens and cost of every model; mark why each is ineligible.

    ``output_factor`` corrects the classifier's output-token prediction (online calibration from
    reported usage): per model id, or an array aligned with the table. ``token_budget`` caps a
    call's input + output tokens; ``model_room`` adds (money, tokens) caps for single models
    (budgets scoped to a model). ``quality_offset`` adds what the learner has learned to the
    classifier's qualities, as logit offsets aligned with the table
    (``router.core.learning.adjusted``). Pass a ``CandidateTable`` (a plain sequence of models
    is turned into one, per call). Per model:

    - output = max(1, min(round(predicted x factor), max_output, context - input, request cap))
    - cost = ``pricing.predicted_cost`` of input and output
    - exclusion, first that applies: NOT_ALLOWED, MISSING_CAPABILITY, CONTEXT_TOO_SMALL, then
      OVER_BUDGET (money or tokens over the caller's, a budget's or the model's room), then
      BELOW_QUALITY (quality < target)

    sorted by (cost, -quality, id).
    """
    table = models if isinstance(models, CandidateTable) else CandidateTable(models)
    n, slots = table.size, table.slots
    quality = np.fromiter(map(assessment.quality, slots), np.float64, n)
    if quality_offset is not None:
        if quality_offset.shape != (n,):
            raise ValueError(f"{quality_offset.shape} quality offsets for {n} models")
        quality = adjusted(quality, quality_offset)
    exact = not 0 <= input_tokens <= table.input_limit
    predicted: np.ndarray | None = None
    if not exact:
        try:
            predicted = np.fromiter(map(assessment.output_tokens, slots), np.int64, n)
        except OverflowError:
            exact = True
    factors: np.ndarray | None = None
    if output_factor is not None:
        factors = (np.fromiter(map(output_factor, table.ids), np.float64, n)
                   if callable(output_factor) else np.asarray(output_factor, dtype=np.float64))
        if factors.shape != (n,):
            raise ValueError(f"{factors.shape} output factors for {n} models")
        if predicted is not None and not exact:
            scaled = np.rint(predicted * factors)  # round() of the same float: half to even
            if np.abs(scaled).max(initial=0.0) <= _I64_SAFE:  # also False for inf and nan
                predicted = scaled.astype(np.int64)
            else:
                exact = True
    if exact:  # Python ints throughout, and round() itself (it raises for inf and nan)
        raw = list(map(assessment.output_tokens, slots))
        predicted = np.array(raw if factors is None else [
            round(p * f) for p, f in zip(raw, factors.tolist(), strict=True)], dtype=object)
    assert predicted is not None
    col = table.exact if exact else table.columns
    fit = _same if exact else _clamp64
    context = col.context

    upper = np.minimum(col.max_output, context - input_tokens)
    cap = constraints.max_output_tokens or _NO_OUTPUT_CAP
    if cap < table.max_output_bound:  # else no model's output can reach it
        upper = np.minimum(upper, fit(cap))
    output = np.maximum(np.minimum(predicted, upper), table.ones)
    price_in, price_out = table.prices_for(input_tokens, col)
    cost = predicted_costs(price_in, price_out, input_tokens, output)

    # Each reason is written over the ones it takes precedence over: BELOW_QUALITY, then
    # OVER_BUDGET, then CONTEXT_TOO_SMALL, MISSING_CAPABILITY, NOT_ALLOWED.
    exclusion = np.zeros(n, dtype=np.int8)
    exclusion[quality < quality_target] = _BELOW_QUALITY
    money_cap: np.ndarray | int | None
    token_cap: np.ndarray | int | None
    if model_room:  # budgets scoped to single models
        money_cap = _room_caps(table, budget, model_room, 0, exact)
        token_cap = _room_caps(table, token_budget, model_room, 1, exact)
    else:
        money_cap = None if budget is None else fit(budget)
        token_cap = None if token_budget is None else fit(token_budget)
    if money_cap is not None:
        exclusion[cost > money_cap] = _OVER_BUDGET
    if token_cap is not None:
        exclusion[output + input_tokens > token_cap] = _OVER_BUDGET
    if constraints.is_open():
        exclusion[context <= input_tokens] = _CONTEXT_TOO_SMALL
    else:
        min_context = max(constraints.min_context_tokens, input_tokens + 1)
        exclusion[context < fit(min_context)] = _CONTEXT_TOO_SMALL
        if constraints.capabilities:
            bits = table.capability_mask(constraints.capabilities)
            if bits is None:
                exclusion[:] = _MISSING_CAPABILITY
            else:
                exclusion[(table.capabilities & bits) != bits] = _MISSING_CAPABILITY
        if constraints.allowed is not None:
            blocked = np.ones(n, dtype=bool)
            blocked[table.positions(constraints.allowed)] = False
            exclusion[blocked] = _NOT_ALLOWED
        exclusion[table.positions(constraints.excluded)] = _NOT_ALLOWED

    order = np.lexsort((table.rank, -quality, cost))
    return Candidates(table, order, quality[order], output[order], cost[order], exclusion[order])


def _room_caps(table: CandidateTable, base: int | None,
               model_room: Mapping[str, tuple[int | None, int | None]], which: int,
               exact: bool) -> np.ndarray | int | None:
    """Caps with rooms for single models (money: ``which`` 0, tokens: 1): per model, the smaller
    of ``base`` and the model's own room, either one where the other is None; None where neither
    caps anything (an array stands for no cap with the largest value of its dtype)."""
    fit = _same if exact else _clamp64
    own: list[tuple[list[int], int]] = []
    for mid, room in model_room.items():
        cap, positions = room[which], table.positions((mid,))
        if cap is not None and positions:
            own.append((positions, fit(cap if base is None else min(cap, base))))
    if not own:
        return None if base is None else fit(base)
    caps = np.full(table.size, (float("inf") if exact else _I64_MAX) if base is None
                   else fit(base), dtype=object if exact else np.int64)
    for positions, cap in own:
        caps[positions] = cap
    return caps


def choose(
    candidates: Candidates,
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
    codes = candidates.columns()[4]
    adequate = _first_positions(codes, _NONE, 1 + MAX_FALLBACKS)
    if adequate:
        chosen, *rest = map(candidates.record, adequate)
        if len(adequate) == 1 and _BELOW_QUALITY not in codes:
            code, why = ReasonCode.ONLY_CANDIDATE, "the only model that meets the constraints"
        else:
            code = ReasonCode.CHEAPEST_ADEQUATE
            why = (f"cheapest model predicted to reach quality {quality_target:.2f}"
                   + (" within budget" if budget is not None else ""))
        return Decision(chosen, tuple(rest), code, why, candidates, quality_target, input_tokens)

    if _BELOW_QUALITY in codes:
        quality = candidates.columns()[1]
        # best quality first; a stable sort keeps equal qualities cheapest (then smallest id) first
        ranked = sorted((i for i, e in enumerate(codes) if e == _BELOW_QUALITY),
                        key=lambda i: -quality[i])
        chosen, *rest = map(candidates.record, ranked[:1 + MAX_FALLBACKS])
        why = (f"no model is predicted to reach quality {quality_target:.2f}"
               + (" within budget" if budget is not None else "")
               + f"; chose the best affordable ({chosen.quality:.2f})")
        return Decision(chosen, tuple(rest), ReasonCode.BEST_AFFORDABLE, why, candidates,
                        quality_target, input_tokens)

    cheapest = candidates.first(Exclusion.OVER_BUDGET)
    if cheapest is not None:
        raise BudgetExhausted(
            f"no model fits the remaining budget: the cheapest eligible, {cheapest.model}, "
            f"is predicted to cost {cheapest.cost} nanos {currency}, budget is {budget}",
            [QuotaViolation("remaining_budget",
                            f"cheapest eligible call is predicted at {cheapest.cost} nanos, "
                            f"remaining budget is {budget} nanos")],
        )
    raise PreconditionFailed("no model in the catalog meets the requested constraints "
                             "(capabilities, context, allowed/excluded models)")


def _first_positions(codes: list[int], code: int, limit: int) -> list[int]:
    """Where ``code`` first occurs in ``codes``, at most ``limit`` times (list scans run in C)."""
    found: list[int] = []
    start = 0
    while len(found) < limit:
        try:
            start = codes.index(code, start)
        except ValueError:
            break
        found.append(start)
        start += 1
    return found


def choice_cost(candidates: Candidates, quality: np.ndarray, quality_target: float) -> int | None:
    """The predicted cost of the model ``choose`` would pick from ``candidates`` if each model's
    quality were ``quality`` (aligned with the table) instead of what ``evaluate`` was given:
    what a sampled (exploring) choice is compared with. None when nothing is eligible.

    Only the quality exclusion depends on quality, so the costs and the other exclusions are
    read from ``candidates`` as they are."""
    codes = candidates.exclusion
    open_ = (codes == _NONE) | (codes == _BELOW_QUALITY)
    if not open_.any():
        return None
    q = quality[candidates.order]
    adequate = open_ & (q >= quality_target)
    if adequate.any():
        return int(candidates.cost[int(np.argmax(adequate))])
    # best quality, ties to the cheapest (candidates are sorted cheapest first)
    return int(candidates.cost[int(np.argmax(np.where(open_, q, -np.inf)))])


@dataclass(frozen=True, slots=True)
class LearnedChoice:
    """What ``choose_learned`` decided: the candidates and decision kept, and how much more
    (or, below zero, less) it is predicted to cost than the posterior mean's choice (0: it is
    the mean's choice, or as dear)."""

    candidates: Candidates
    decision: Decision
    extra: int


def choose_learned(decide: Callable[[np.ndarray], tuple[Candidates, Decision]],
                   table: CandidateTable, assessment: Assessment, means: np.ndarray,
                   sampled: np.ndarray | None, quality_target: float,
                   take: Callable[[int, int], bool]) -> LearnedChoice:
    """Route with the learner's offsets, exploring with a Thompson draw when there is one.

    ``decide(offsets)`` evaluates and chooses (``evaluate`` over ``table`` and ``assessment``)
    with those offsets; ``take(extra, cost)`` asks the exploration budget for a choice
    ``extra`` over the mean's and records it when granted (a choice with extra 0 is always
    granted). Without a draw the means decide. A draw's choice stands if the budget grants its
    extra; else the means decide after all. Exactly one choice is recorded with ``take``."""
    if sampled is None:
        candidates, decision = decide(means)
        take(0, decision.chosen.cost)
        return LearnedChoice(candidates, decision, 0)
    candidates, decision = decide(sampled)
    prior = np.fromiter(map(assessment.quality, table.slots), np.float64, table.size)
    mean_cost = choice_cost(candidates, adjusted(prior, means), quality_target)
    extra = 0 if mean_cost is None else decision.chosen.cost - mean_cost
    if take(extra, decision.chosen.cost):
        return LearnedChoice(candidates, decision, extra)
    candidates, decision = decide(means)
    take(0, decision.chosen.cost)
    return LearnedChoice(candidates, decision, 0)
