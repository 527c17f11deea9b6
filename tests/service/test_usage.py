"""UsageService: pricing from the catalog, attribution, exactly-once recording, backfill bounds,
answers for reports whose model left the catalog, and what the calibration learns."""

from __future__ import annotations

import pytest

from router.core.calibration import OutputCalibrator
from router.core.catalog import Catalog
from router.core.errors import Conflict, InvalidRequest, PreconditionFailed
from router.core.pricing import ComputeUse, ReviewUse, TokenCounts, ToolUse, usage_cost
from router.core.records import Attribution
from router.core.requests import RouteInput, ToolInput, UsageInput
from router.core.timeunits import DAY_US, MINUTE_US
from router.service import Services, build_services
from router.settings import Settings

TASK = "Draft a polite reply declining the meeting invitation."
KEYS = Attribution(team="growth", agent="mailer", task_type="reply", labels={"env": "prod"})
MODEL = "gpt-4o-mini"  # $0.15 in, $0.075 cached in, $0.60 out per 1M tokens
SETTINGS = Settings(decision_lookup_grace_ms=0)


@pytest.fixture
def svc(store, recorder, catalog, classifier, clock) -> Services:
    return build_services(SETTINGS, catalog, classifier, store, recorder, clock)


def route(svc: Services, model: str = MODEL, keys: Attribution = KEYS):
    return svc.routing.route(RouteInput(task_description=TASK, attribution=keys,
                                        allowed_models=(model,))).decision


def test_tokens_are_priced_from_the_catalog(svc, catalog):
    tokens = TokenCounts(input=1000, cached_input=2000, output=500, reasoning=0)
    result = svc.usage.report(UsageInput(usage_id="u1", attribution=KEYS, model=MODEL,
                                         tokens=tokens))
    # (1000 x 0.15 + 2000 x 0.075 + 500 x 0.60) USD per 1M tokens = 0.0006 USD
    assert result.usage.cost.tokens == 600_000
    assert result.usage.cost == usage_cost(catalog.get(MODEL).prices, catalog.rates, tokens)
    assert result.usage.model == MODEL and result.usage.provider == "openai"
    assert result.usage.currency == "USD" and not result.replayed


def test_tools_compute_and_review_are_priced_like_usage_cost(svc, catalog):
    req = UsageInput(usage_id="u1", attribution=KEYS, model="GPT-4o-Mini-2024-07-18",
                     tokens=TokenCounts(input=10, output=5),
                     tool_calls=(ToolInput("web_search", 2), ToolInput("unknown_tool", 3)),
                     cpu_seconds=1.5, gpu_seconds=0.25, review_seconds=60)
    cost = svc.usage.report(req).usage.cost
    assert cost == usage_cost(catalog.get(MODEL).prices, catalog.rates, req.tokens,
                              tools=(ToolUse("web_search", 2), ToolUse("unknown_tool", 3)),
                              compute=ComputeUse(1500, 250), review=ReviewUse(60_000))
    assert cost.tools == 2 * 10_000_000  # web_search: 0.01 USD a call; unknown tools are free
    assert cost.human_review == 750_000_000  # a minute at 45 USD an hour


def test_a_report_is_attributed_to_its_decision_keys_overridden_by_its_own(svc, store):
    d = route(svc)
    result = svc.usage.report(UsageInput(
        usage_id="u1", decision_id=d.decision_id,
        attribution=Attribution(agent="mailer-2", labels={"run": "7"}),
        tokens=TokenCounts(input=100, output=40)))
    expected = Attribution(team="growth", agent="mailer-2", task_type="reply",
                           labels={"env": "prod", "run": "7"})
    assert result.usage.attribution == expected
    assert result.usage.decision_id == d.decision_id and result.usage.model == d.model
    assert store.get_usage("u1").attribution == expected


@pytest.mark.parametrize("restarted", [False, True])
def test_a_report_on_a_fallback_is_compared_with_that_models_prediction(svc, recorder,
                                                                         restarted):
    d = svc.routing.route(RouteInput(task_description=TASK, attribution=KEYS)).decision
    assert len(d.fallbacks) == 3  # the last one: the furthest from the chosen model
    fallback = next(c for c in d.candidates if c.model == d.fallbacks[-1])
    if restarted:  # the decision as the store keeps it
        recorder.flush()
        svc.decisions.forget()
    u = svc.usage.report(UsageInput(usage_id="u1", decision_id=d.decision_id,
                                    model=fallback.model,
                                    tokens=TokenCounts(input=100, output=40))).usage
    assert u.model == fallback.model
    assert u.predicted_cost == fallback.cost != d.predicted_cost
    assert u.predicted_output_tokens == fallback.output_tokens


def test_a_report_on_a_model_the_decision_did_not_keep_has_no_prediction(svc):
    """The record keeps the chosen model, its fallbacks and a few others, not the whole
    catalog: a call on some other model is priced and recorded, just not compared."""
    d = route(svc, model="gpt-4o")
    assert MODEL not in {c.model for c in d.candidates}
    u = svc.usage.report(UsageInput(usage_id="u1", decision_id=d.decision_id, model=MODEL,
                                    tokens=TokenCounts(input=100, output=40))).usage
    assert u.model == MODEL and u.decision_id == d.decision_id and u.cost.tokens > 0
    assert u.predicted_cost is None and u.predicted_output_tokens is None


def test_a_replay_answers_with_the_stored_record(svc, clock):
    d = route(svc)
    req = UsageInput(usage_id="u1", decision_id=d.decision_id,
                     tokens=TokenCounts(input=100, output=40))
    first = svc.usage.report(req)
    clock.advance(seconds=30)
    again = svc.usage.report(req)
    assert again.replayed and not first.replayed
    assert again.usage.cost == first.usage.cost
    assert again.usage.recorded_us == first.usage.recorded_us


def test_the_same_usage_id_with_a_different_payload_is_a_conflict(svc):
    d = route(svc)
    svc.usage.report(UsageInput(usage_id="u1", decision_id=d.decision_id,
                                tokens=TokenCounts(input=100, output=40)))
    with pytest.raises(Conflict, match="u1"):
        svc.usage.report(UsageInput(usage_id="u1", decision_id=d.decision_id,
                                    tokens=TokenCounts(input=100, output=41)))


def test_occurred_at_is_bounded_by_the_backfill_window(svc, clock):
    oldest = clock.now_us() - SETTINGS.max_backfill_days * DAY_US
    with pytest.raises(InvalidRequest) as bad:
        svc.usage.report(UsageInput(usage_id="u-old", attribution=KEYS, model=MODEL,
                                    occurred_us=oldest - 1))
    assert [v.field for v in bad.value.violations] == ["occurred_at"]
    with pytest.raises(InvalidRequest) as ahead:
        svc.usage.report(UsageInput(usage_id="u-new", attribution=KEYS, model=MODEL,
                                    occurred_us=clock.now_us() + 5 * MINUTE_US + 1))
    assert [v.field for v in ahead.value.violations] == ["occurred_at"]
    edge = svc.usage.report(UsageInput(usage_id="u-edge", attribution=KEYS, model=MODEL,
                                       occurred_us=oldest))
    assert edge.usage.recorded_us == oldest
    assert svc.usage.report(UsageInput(usage_id="u-now", attribution=KEYS,
                                       model=MODEL)).usage.recorded_us == clock.now_us()


def test_a_report_whose_model_left_the_catalog_replays_its_stored_answer(
        svc, store, recorder, catalog, classifier, clock):
    d = route(svc)
    req = UsageInput(usage_id="u1", decision_id=d.decision_id,
                     tokens=TokenCounts(input=100, output=40))
    first = svc.usage.report(req)
    recorder.flush()

    smaller = Catalog(currency=catalog.currency, default_model=catalog.default_model,
                      models=tuple(m for m in catalog.models if m.id != MODEL),
                      rates=catalog.rates)
    later = build_services(SETTINGS, smaller, classifier, store, recorder, clock)
    replay = later.usage.report(req)
    assert replay.replayed and replay.usage.cost == first.usage.cost
    assert replay.usage.model == MODEL
    with pytest.raises(Conflict):
        later.usage.report(UsageInput(usage_id="u1", decision_id=d.decision_id,
                                      tokens=TokenCounts(input=100, output=41)))
    with pytest.raises(PreconditionFailed, match="no longer in the catalog"):
        later.usage.report(UsageInput(usage_id="u2", decision_id=d.decision_id,
                                      tokens=TokenCounts(input=100, output=40)))


def test_calibration_learns_from_a_first_time_report_only(svc):
    svc.calibration.calibrator = OutputCalibrator(min_count=1)  # one report moves the factor
    calibrator = svc.calibration.calibrator
    d = route(svc)
    before = calibrator.factor(MODEL, KEYS.task_type, KEYS.agent)
    req = UsageInput(usage_id="u1", decision_id=d.decision_id,
                     tokens=TokenCounts(input=100, output=4 * d.output_tokens))
    svc.usage.report(req)
    learned = calibrator.factor(MODEL, KEYS.task_type, KEYS.agent)
    assert before == 1.0 and learned == pytest.approx(4.0)
    assert svc.usage.report(req).replayed
    assert calibrator.factor(MODEL, KEYS.task_type, KEYS.agent) == learned


def test_a_report_without_a_decision_teaches_nothing(svc):
    svc.calibration.calibrator = OutputCalibrator(min_count=1)
    svc.usage.report(UsageInput(usage_id="u1", attribution=KEYS, model=MODEL,
                                tokens=TokenCounts(input=100, output=400)))
    assert len(svc.calibration.calibrator) == 0


# The two tests below pin the usage_id contract ("the same id returns the stored result",
# protos/router/v1/usage.proto) where current state has moved on since the first report: a
# replay must not be refused by validation against today's catalog and clock.

def test_a_replay_naming_a_model_that_left_the_catalog_gets_its_stored_answer(
        svc, store, recorder, catalog, classifier, clock):
    req = UsageInput(usage_id="u1", attribution=KEYS, model=MODEL,
                     tokens=TokenCounts(input=100, output=40))
    first = svc.usage.report(req)
    recorder.flush()
    smaller = Catalog(currency=catalog.currency, default_model=catalog.default_model,
                      models=tuple(m for m in catalog.models if m.id != MODEL),
                      rates=catalog.rates)
    later = build_services(SETTINGS, smaller, classifier, store, recorder, clock)
    replay = later.usage.report(req)
    assert replay.replayed and replay.usage.cost == first.usage.cost


def test_a_replay_whose_occurred_at_aged_out_gets_its_stored_answer(svc, clock):
    req = UsageInput(usage_id="u1", attribution=KEYS, model=MODEL,
                     tokens=TokenCounts(input=100, output=40),
                     occurred_us=clock.now_us() - (SETTINGS.max_backfill_days - 1) * DAY_US)
    first = svc.usage.report(req)
    clock.advance(seconds=2 * 86_400)  # the client retries two days later
    replay = svc.usage.report(req)
    assert replay.replayed and replay.usage.recorded_us == first.usage.recorded_us
