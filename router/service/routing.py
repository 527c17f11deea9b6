"""Route: pick the cheapest adequate model that the caller's budget, the budgets in force and the
constraints allow, hold its predicted cost, and record the decision.

No gRPC and no SQL here: the edge converts protobuf to ``RouteInput``; the budgets are asked
through the gate; the decision is queued for the group commit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from time import perf_counter

import numpy as np

from router.auth import SYSTEM, Principal
from router.budgeting import BudgetGate, HoldRaced
from router.core import decision_token
from router.core.budgets import BudgetStatus, enforcement
from router.core.catalog import Catalog, ModelSpec
from router.core.classifier import Classifier
from router.core.clock import Clock
from router.core.errors import BudgetExhausted, Conflict, quoted
from router.core.policy import (
    Candidates,
    CandidateTable,
    Constraints,
    Decision,
    Exclusion,
    ReasonCode,
    RoutableModel,
    choose,
    choose_learned,
    evaluate,
)
from router.core.records import CandidateRecord, DecisionRecord, kept_candidates, payload_hash
from router.core.requests import RouteInput, route_payload, validate_route
from router.core.tokens import estimate_tokens
from router.metrics import CLASSIFIER_LATENCY
from router.service.calibration import Calibration
from router.service.decisions import Decisions, new_id
from router.service.learning import Learning
from router.settings import Settings
from router.store.recorder import Recorder

_FOREVER = 2**63 - 1


@dataclass(frozen=True, slots=True)
class _Routable:
    table: CandidateTable
    position: dict[str, int]
    until_us: int


@dataclass(frozen=True, slots=True)
class RouteResult:
    decision: DecisionRecord
    replayed: bool = False
    budgets: tuple[BudgetStatus, ...] = ()
    token: str = ""  # the decision, signed (router.core.decision_token)
    # every model the policy considered, cheapest first, for a response that asks for them all;
    # a replay has only what its decision record kept
    considered: Sequence[CandidateRecord] = ()


class RoutingService:
    def __init__(self, settings: Settings, catalog: Catalog, classifier: Classifier,
                 decisions: Decisions, recorder: Recorder, gate: BudgetGate,
                 calibration: Calibration, clock: Clock, *, local_reads: bool,
                 decision_key: bytes, learning: Learning | None = None) -> None:
        self.catalog = catalog
        self.classifier = classifier
        self._decisions = decisions
        self._recorder = recorder
        self._gate = gate
        self._calibration = calibration
        self._learning = learning
        self._clock = clock
        self._max_description_chars = settings.max_description_chars
        self._default_target = settings.default_quality_target
        self._local_reads = local_reads
        self._decision_key = decision_key
        self._slots = {spec.id: classifier.resolve(spec.judged_by) for spec in catalog.enabled()}
        self._routable = self._build_table(clock.now_us())

    def _build_table(self, now_us: int) -> _Routable:
        """The table of the models routable at ``now_us``, and until when it holds (the next
        deprecation): a deprecated model leaves the table as a disabled one is never in it."""
        table = CandidateTable(RoutableModel(spec, self._slots[spec.id])
                               for spec in self.catalog.routable(now_us))
        until = self.catalog.next_deprecation_us(now_us)
        return _Routable(table, {mid: i for i, mid in enumerate(table.ids)},
                         _FOREVER if until is None else until)

    def table_at(self, now_us: int) -> _Routable:
        routable = self._routable
        if now_us >= routable.until_us:  # a deprecation passed: one rebuild, then cached again
            routable = self._routable = self._build_table(now_us)
        return routable

    def models(self, include_disabled: bool = False) -> tuple[ModelSpec, ...]:
        return self.catalog.models if include_disabled else self.catalog.enabled()

    def needs_store_read(self, req: RouteInput) -> bool:
        """True when ``route`` may wait on a remote store (the edge then runs it off-loop):
        a shared ledger is asked on every Route that budgets apply to."""
        if self._local_reads:
            return False
        return self._gate.active or (bool(req.request_id)
                                     and not self._decisions.cached_request(req.request_id))

    def abandon(self, result: RouteResult) -> None:
        """Undo a Route whose caller has gone: its holds are released at once (a decision nobody
        holds cannot be reported against by the caller that asked for it)."""
        if result.budgets and not result.replayed:
            self._gate.release(result.decision.decision_id)

    def route(self, req: RouteInput, who: Principal = SYSTEM) -> RouteResult:
        """Route as ``who``: its key fills an empty team and may spend only as its team."""
        validate_route(req, catalog=self.catalog,
                       max_description_chars=self._max_description_chars)
        attribution = who.attribute(req.attribution)
        if attribution is not req.attribution:
            req = dataclasses.replace(req, attribution=attribution)
        request_hash = ""
        if req.request_id:
            request_hash = payload_hash(route_payload(req))
            prior = self._decisions.by_request(req.request_id)
            if prior is not None:
                who.check_owns(prior.attribution, "the request_id's decision")
                if prior.request_hash != request_hash:
                    raise Conflict(f"request_id {quoted(req.request_id)} was used for a different "
                                   "request")
                rules = self._gate.rules_for(prior.attribution, prior.model)
                return RouteResult(prior, replayed=True, budgets=tuple(
                    self._gate.statuses(rules, self._clock.now_us())),
                    token=decision_token.sign(prior, self._decision_key),
                    considered=prior.candidates)
        try:
            return self._route(req, request_hash, fresh=False)
        except HoldRaced:  # a hold lost the race for a budget's last room: once more, fresh
            return self._route(req, request_hash, fresh=True)

    def _route(self, req: RouteInput, request_hash: str, fresh: bool) -> RouteResult:
        now = self._clock.now_us()
        gate = self._gate
        paused_models = gate.check_paused(req.attribution)
        statuses = gate.statuses(gate.rules_for(req.attribution), now, fresh)
        started = perf_counter()
        assessment = self.classifier.assess(req.task_description)
        CLASSIFIER_LATENCY.observe(perf_counter() - started)
        input_tokens = req.estimated_input_tokens
        if input_tokens is None:
            input_tokens = estimate_tokens(req.task_description)
        target = req.quality_target if req.quality_target is not None else self._default_target
        caller_budget = req.remaining_budget.nanos if req.remaining_budget is not None else None
        budget, token_budget, model_room = caller_budget, None, None
        if statuses:
            ladder = enforcement(statuses)
            gate.check_throttles(ladder, now)
            if ladder.quality_cap is not None:
                target = min(target, ladder.quality_cap)
            if ladder.money_room is not None:
                budget = ladder.money_room if budget is None else min(budget, ladder.money_room)
            token_budget, model_room = ladder.token_room, ladder.model_room or None
        constraints = Constraints(
            capabilities=req.capabilities,
            min_context_tokens=req.min_context_tokens,
            allowed=frozenset(self.catalog.get(m).id for m in req.allowed_models) or None,
            excluded=frozenset(self.catalog.get(m).id for m in req.excluded_models)
            | paused_models,
            max_output_tokens=req.max_output_tokens,
        )
        routable = self.table_at(now)
        table = routable.table
        factors = self._calibration.factors_for(req.attribution.task_type,
                                                req.attribution.agent, table.ids)
        learning = self._learning
        learned = (learning.offsets_for(req.attribution.task_type, req.attribution.agent,
                                        table.ids) if learning is not None else None)

        def decide(offsets: np.ndarray | None) -> tuple[Candidates, Decision]:
            candidates = evaluate(table, assessment, input_tokens, constraints, target, budget,
                                  factors, token_budget, model_room, offsets)
            try:
                return candidates, choose(candidates, target, budget, input_tokens,
                                          self.catalog.currency)
            except BudgetExhausted as exc:
                over = candidates.first(Exclusion.OVER_BUDGET)
                if over is not None and statuses:
                    raise gate.refusal(statuses, over, input_tokens, now,
                                       all_rules=True) from exc
                raise

        if learned is None:
            candidates, decision = decide(None)
            reason_message = decision.reason_message
        else:  # only exclusion BELOW_QUALITY depends on the offsets
            assert learning is not None
            sampled = learning.sample(learned) if learning.explores(req.attribution) else None
            picked = choose_learned(decide, table, assessment, learned[0], sampled, target,
                                    learning.spend)
            candidates, decision = picked.candidates, picked.decision
            reason_message = decision.reason_message
            if picked.extra:
                reason_message += (
                    f"; explored: a sampled quality chose {decision.chosen.model}, "
                    f"{abs(picked.extra)} nanos {'over' if picked.extra > 0 else 'under'} the "
                    "posterior mean's choice")
        if decision.reason is ReasonCode.BEST_AFFORDABLE and statuses:
            # a budget priced the adequate models out: downgrade only where its rule allows
            adequate = next((c for c in candidates if c.exclusion == Exclusion.OVER_BUDGET
                             and c.quality >= target and (caller_budget is None
                                                          or c.cost <= caller_budget)), None)
            if adequate is not None:
                refusal = gate.refusal(statuses, adequate, input_tokens, now, all_rules=False)
                if refusal.violations:
                    raise refusal
        chosen = decision.chosen
        fallbacks = tuple(c.model for c in decision.fallbacks)
        record = DecisionRecord(
            decision_id=new_id("d", now),
            request_id=req.request_id or None,
            request_hash=request_hash,
            created_us=now,
            attribution=req.attribution,
            model=chosen.model,
            provider=chosen.provider,
            complexity_label=assessment.label,
            complexity_score=assessment.score,
            quality_target=target,
            predicted_quality=chosen.quality,
            # the classifier's own, where the learner moved the quality
            prior_quality=None if learned is None else assessment.quality(
                table.slots[routable.position[chosen.model]]),
            input_tokens=input_tokens,
            output_tokens=chosen.output_tokens,
            predicted_cost=chosen.cost,
            currency=self.catalog.currency,
            reason_code=int(decision.reason),
            reason_message=reason_message,
            fallbacks=fallbacks,
            candidates=kept_candidates(decision.candidates.records(), chosen.model, fallbacks),
            classifier_version=self.classifier.version,
        )
        held: tuple[BudgetStatus, ...] = ()
        holding = [s for s in statuses if s.rule.scope.model in (None, chosen.model)]
        if holding:
            held = gate.hold(record.decision_id, holding, record.predicted_cost,
                             record.input_tokens + record.output_tokens, now, fresh=fresh)
        try:
            self._recorder.record_decision(record)
        except BaseException:
            if held:  # a Route that fails never leaves a hold behind
                gate.release(record.decision_id)
            raise
        self._decisions.remember(record)
        return RouteResult(record, budgets=held,
                           token=decision_token.sign(record, self._decision_key),
                           considered=decision.candidates)
