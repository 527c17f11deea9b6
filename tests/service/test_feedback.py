"""Scores of calls: ReportUsage's optional quality and ReportFeedback, validated field by field,
recorded once per id (replays answered, reused ids refused), authorised like ReportUsage, shown
by GetDecision, and taught to the OutcomeSink once per first-time score."""

from __future__ import annotations

import dataclasses
import math

import pytest

from router.auth import Principal, Role
from router.core.errors import (
    Conflict,
    InvalidRequest,
    PermissionDenied,
    UnknownDecision,
    UnknownUsage,
)
from router.core.money import Money
from router.core.pricing import TokenCounts
from router.core.records import Attribution, DecisionRecord, payload_hash
from router.core.requests import FeedbackInput, RouteInput, UsageInput, usage_payload
from router.core.timeunits import DAY_US, MINUTE_US
from router.service import Services, build_services
from router.settings import Settings

TASK = "Draft a polite reply declining the meeting invitation."
KEYS = Attribution(team="growth", agent="mailer", task_type="reply", user="ana",
                   labels={"env": "prod"})
MODEL = "gpt-4o-mini"
SETTINGS = Settings(decision_lookup_grace_ms=0)
GROWTH = Principal("k-growth", Role.TEAM, team="growth")
MAILER = Principal("k-mailer", Role.TEAM, team="growth", agents=frozenset({"mailer"}))
OTHER_AGENT = Principal("k-other", Role.TEAM, team="growth", agents=frozenset({"other"}))
LEGAL = Principal("k-legal", Role.TEAM, team="legal")
READER = Principal("k-reader", Role.READER, team="growth")


class Sink:
    """A fake OutcomeSink: what it was told."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, float, int]] = []

    def observe(self, decision: DecisionRecord, model: str, score: float, now_us: int) -> None:
        self.seen.append((decision.decision_id, model, score, now_us))


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
def svc(store, recorder, catalog, classifier, clock, sink) -> Services:
    return build_services(SETTINGS, catalog, classifier, store, recorder, clock, outcomes=sink)


def route(svc: Services, keys: Attribution = KEYS) -> DecisionRecord:
    return svc.routing.route(RouteInput(task_description=TASK, attribution=keys,
                                        allowed_models=(MODEL, "gpt-4o"))).decision


def fields(exc: InvalidRequest) -> list[str]:
    return [v.field for v in exc.violations]


# -- validation ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "field"), [
    ({"feedback_id": ""}, "feedback_id"),
    ({"feedback_id": "f 1"}, "feedback_id"),
    ({"feedback_id": "f" * 129}, "feedback_id"),
    ({"decision_id": ""}, "decision_id"),
    ({"decision_id": "d 1"}, "decision_id"),
    ({"usage_id": "u1"}, "usage_id"),  # both targets
    ({"score": None}, "score"),
    ({"score": math.nan}, "score"),
    ({"score": math.inf}, "score"),
    ({"score": -0.01}, "score"),
    ({"score": 1.01}, "score"),
    ({"source": "x" * 65}, "source"),
    ({"source": "a user"}, "source"),
    ({"comment": "x" * 2001}, "comment"),
])
def test_each_bad_field_of_a_feedback_is_named(svc, change, field):
    req = dataclasses.replace(FeedbackInput("f1", decision_id="d1", score=0.5), **change)
    with pytest.raises(InvalidRequest) as bad:
        svc.feedback.report(req)
    assert fields(bad.value) == [field]


def test_occurred_at_is_bounded_like_a_usages(svc, clock):
    d = route(svc)
    now = clock.now_us()
    for at in (now - SETTINGS.max_backfill_days * DAY_US - 1, now + 6 * MINUTE_US):
        with pytest.raises(InvalidRequest) as bad:
            svc.feedback.report(FeedbackInput("f1", decision_id=d.decision_id, score=0.5,
                                              occurred_us=at))
        assert fields(bad.value) == ["occurred_at"]
    ok = svc.feedback.report(FeedbackInput("f1", decision_id=d.decision_id, score=0.5,
                                           occurred_us=now - DAY_US)).feedback
    assert ok.occurred_us == now - DAY_US and ok.recorded_us == now


@pytest.mark.parametrize("quality", [math.nan, -0.5, 1.5, math.inf])
def test_a_usages_quality_must_be_a_score(svc, quality):
    with pytest.raises(InvalidRequest) as bad:
        svc.usage.report(UsageInput(usage_id="u1", attribution=KEYS, model=MODEL,
                                    quality=quality))
    assert fields(bad.value) == ["quality"]


# -- usage quality ------------------------------------------------------------------------------

def test_a_report_without_quality_hashes_as_before_there_was_one():
    """The digests of these reports before quality existed: the ids stored then still replay;
    a quality changes the digest."""
    plain = UsageInput(usage_id="u1", decision_id="d1", tokens=TokenCounts(input=5))
    late = UsageInput(usage_id="u1", attribution=Attribution(team="t"), model="gpt-4o",
                      occurred_us=123, actual_cost=Money(5, "USD"))
    assert payload_hash(usage_payload(plain)) == "86f5ae2df32e1c4c9a8294b6f0c4922d"
    assert payload_hash(usage_payload(late)) == "26752f3a259e017c8c509f3ddecec061"
    assert payload_hash(usage_payload(dataclasses.replace(plain, quality=0.5))) != \
        payload_hash(usage_payload(plain))


def test_a_usages_quality_is_stored_replayed_and_a_changed_one_conflicts(svc, store, sink,
                                                                         recorder):
    d = route(svc)
    req = UsageInput(usage_id="u1", decision_id=d.decision_id,
                     tokens=TokenCounts(input=100, output=40), quality=0.75)
    first = svc.usage.report(req)
    assert first.usage.quality == 0.75 and store.get_usage("u1").quality == 0.75
    assert svc.usage.report(req).replayed
    with pytest.raises(Conflict, match="u1"):
        svc.usage.report(dataclasses.replace(req, quality=0.5))
    with pytest.raises(Conflict, match="u1"):
        svc.usage.report(dataclasses.replace(req, quality=None))
    assert sink.seen == [(d.decision_id, d.model, 0.75, first.usage.recorded_us)]


def test_a_usage_without_quality_or_decision_teaches_nothing(svc, sink):
    d = route(svc)
    svc.usage.report(UsageInput(usage_id="u1", decision_id=d.decision_id,
                                tokens=TokenCounts(input=100)))
    svc.usage.report(UsageInput(usage_id="u2", attribution=KEYS, model=MODEL, quality=0.9))
    assert sink.seen == []


# -- ReportFeedback -----------------------------------------------------------------------------

def test_feedback_on_a_decision_copies_its_call(svc, store, clock):
    d = route(svc)
    clock.advance(seconds=60)
    result = svc.feedback.report(FeedbackInput("f1", decision_id=d.decision_id, score=0.25,
                                               source="user", comment="too terse"))
    f = result.feedback
    assert not result.replayed
    assert (f.decision_id, f.usage_id, f.model, f.provider) == (d.decision_id, None, d.model,
                                                                d.provider)
    assert f.attribution == KEYS and f.call_us == d.created_us
    assert f.recorded_us == f.occurred_us == clock.now_us()
    assert store.get_feedback("f1") == f


def test_feedback_on_a_usage_resolves_to_its_decision_and_model(svc, store, sink):
    d = route(svc)
    fallback = "gpt-4o" if d.model != "gpt-4o" else MODEL
    u = svc.usage.report(UsageInput(usage_id="u1", decision_id=d.decision_id, model=fallback,
                                    attribution=Attribution(agent="mailer-2"),
                                    tokens=TokenCounts(input=100))).usage
    f = svc.feedback.report(FeedbackInput("f1", usage_id="u1", score=1.0,
                                          source="evaluator:gpt-judge")).feedback
    assert (f.decision_id, f.usage_id, f.model) == (d.decision_id, "u1", fallback)
    assert f.attribution == u.attribution and f.call_us == u.recorded_us
    assert sink.seen == [(d.decision_id, fallback, 1.0, f.recorded_us)]


def test_feedback_on_a_usage_without_decision_is_kept_and_teaches_nothing(svc, sink):
    svc.usage.report(UsageInput(usage_id="u1", attribution=KEYS, model=MODEL))
    result = svc.feedback.report(FeedbackInput("f1", usage_id="u1", score=0.5))
    assert result.feedback.decision_id is None and result.feedback.model == MODEL
    assert sink.seen == []


def test_a_replay_answers_the_stored_feedback_and_a_changed_one_conflicts(svc, clock, sink):
    d = route(svc)
    req = FeedbackInput("f1", decision_id=d.decision_id, score=0.5, source="user")
    first = svc.feedback.report(req)
    clock.advance(seconds=30)
    again = svc.feedback.report(req)
    assert again.replayed and again.feedback == first.feedback
    for change in ({"score": 0.6}, {"source": "reviewer"}, {"comment": "x"},
                   {"occurred_us": clock.now_us()}):
        with pytest.raises(Conflict, match="f1"):
            svc.feedback.report(dataclasses.replace(req, **change))
    assert len(sink.seen) == 1  # the first time only


def test_unknown_targets_are_not_found(svc):
    with pytest.raises(UnknownDecision):
        svc.feedback.report(FeedbackInput("f1", decision_id="d0000000000000000000000000",
                                          score=0.5))
    with pytest.raises(UnknownUsage):
        svc.feedback.report(FeedbackInput("f1", usage_id="nope", score=0.5))


def test_feedback_is_authorised_like_reportusage(svc, store, sink):
    d = route(svc)
    svc.usage.report(UsageInput(usage_id="u1", decision_id=d.decision_id,
                                tokens=TokenCounts(input=100)))
    assert svc.feedback.report(FeedbackInput("f-team", decision_id=d.decision_id, score=0.5),
                               GROWTH).feedback.attribution.team == "growth"
    assert svc.feedback.report(FeedbackInput("f-agent", usage_id="u1", score=0.5), MAILER)
    unknown = {}
    for what, target in (("decision", {"decision_id": "d0000000000000000000000000"}),
                         ("usage", {"usage_id": "nope"})):
        with pytest.raises(PermissionDenied) as missing:
            svc.feedback.report(FeedbackInput("f-x", score=0.5, **target), LEGAL)
        unknown[what] = str(missing.value)
    for who in (LEGAL, OTHER_AGENT):
        for what, target in (("decision", {"decision_id": d.decision_id}),
                             ("usage", {"usage_id": "u1"})):
            with pytest.raises(PermissionDenied) as refused:
                svc.feedback.report(FeedbackInput("f-x", score=0.5, **target), who)
            assert str(refused.value) == unknown[what]  # as if it did not exist
    with pytest.raises(PermissionDenied, match="reader"):
        svc.feedback.report(FeedbackInput("f-r", decision_id=d.decision_id, score=0.5), READER)
    # another team's feedback_id is neither replayed nor shown
    with pytest.raises(PermissionDenied):
        other = route(svc, Attribution(team="legal"))
        svc.feedback.report(FeedbackInput("f-team", decision_id=other.decision_id,
                                          score=0.5), LEGAL)
    assert store.get_feedback("f-x") is None and store.get_feedback("f-r") is None
    assert len(sink.seen) == 2


def test_get_decision_shows_its_feedback_oldest_first_and_the_quality(svc, clock):
    d = route(svc)
    svc.usage.report(UsageInput(usage_id="u1", decision_id=d.decision_id,
                                tokens=TokenCounts(input=100), quality=0.5))
    svc.usage.report(UsageInput(usage_id="u2", decision_id=d.decision_id,
                                tokens=TokenCounts(input=100)))
    clock.advance(seconds=5)
    svc.feedback.report(FeedbackInput("f-b", usage_id="u1", score=1.0, source="user"))
    clock.advance(seconds=5)
    svc.feedback.report(FeedbackInput("f-a", decision_id=d.decision_id, score=0.0))
    svc.decisions.forget()
    report = svc.reports.decision(d.decision_id)
    assert [(f.feedback_id, f.usage_id) for f in report.feedback] == [("f-b", "u1"),
                                                                      ("f-a", None)]
    assert report.quality.count == 3 and report.quality.mean == pytest.approx(0.5)
    everyone = Principal("k-all", Role.READER)  # a reader of every team sees no users
    assert {f.attribution.user for f in svc.reports.decision(d.decision_id, everyone).feedback} \
        == {""}
    with pytest.raises(PermissionDenied):
        svc.reports.decision(d.decision_id, LEGAL)
