"""RoutingService over the real store, recorder, catalog and classifier (SQLite underneath)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from router.budgeting import BudgetBook, LocalLedger
from router.core.budgets import Scope, rule_from_mapping
from router.core.errors import Conflict, InvalidRequest, PreconditionFailed, StoreUnavailable
from router.core.records import TOP_CANDIDATES, Attribution, kept_candidates
from router.core.requests import RouteInput
from router.server import build_app
from router.service import Services, build_services
from router.service.routing import RoutingService
from router.settings import Settings
from router.store.recorder import Recorder
from router.store.tables import decisions
from tests.conftest import make_settings

TASK = "Draft a polite reply declining the meeting invitation."
KEYS = Attribution(team="growth", agent="mailer", task_type="reply")
SETTINGS = Settings(decision_lookup_grace_ms=0)


def services(store, recorder, catalog, classifier, clock, **kwargs) -> Services:
    return build_services(SETTINGS, catalog, classifier, store, recorder, clock, **kwargs)


@pytest.fixture
def svc(store, recorder, catalog, classifier, clock) -> Services:
    return services(store, recorder, catalog, classifier, clock)


def test_a_route_records_its_decision_through_the_recorder(svc, store, recorder):
    result = svc.routing.route(RouteInput(task_description=TASK, attribution=KEYS))
    d = result.decision
    assert not result.replayed and result.budgets == ()
    recorder.flush()
    assert store.get_decision(d.decision_id) == d
    assert recorder.pending_decision(d.decision_id) is None


def test_a_decision_records_its_chosen_model_fallbacks_and_a_few_others(svc, store, recorder):
    result = svc.routing.route(RouteInput(task_description=TASK, attribution=KEYS))
    d = result.decision
    assert len(result.considered) == len(svc.routing.catalog.enabled())  # for the live answer
    assert d.candidates == kept_candidates(result.considered, d.model, d.fallbacks)
    assert len(d.candidates) == 1 + len(d.fallbacks) + TOP_CANDIDATES
    assert {d.model, *d.fallbacks} <= {c.model for c in d.candidates}
    recorder.flush()
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(decisions.c.candidates)
                           .where(decisions.c.decision_id == d.decision_id)).scalar_one()
    assert [c[0] for c in json.loads(row)] == [c.model for c in d.candidates]  # only those
    svc.decisions.forget()  # GetDecision from the store: the same record
    assert svc.reports.decision(d.decision_id)[0] == d


def test_the_same_request_id_and_payload_replay_the_same_decision(svc, store, recorder):
    req = RouteInput(task_description=TASK, request_id="req-1", attribution=KEYS)
    first = svc.routing.route(req)
    again = svc.routing.route(req)
    assert again.replayed and again.decision == first.decision
    recorder.flush()
    svc.decisions.forget()  # as after a restart: the store answers the replay
    from_store = svc.routing.route(req)
    assert from_store.replayed and from_store.decision.decision_id == first.decision.decision_id
    assert store.find_decision_by_request("req-1").decision_id == first.decision.decision_id


class StoreReads:
    """Counts the decision reads the services make of ``store`` (the replay path's reads)."""

    def __init__(self, store, monkeypatch) -> None:
        self.calls: list[str] = []
        for name in ("find_decision_by_request", "get_decision"):
            monkeypatch.setattr(store, name, self._counting(name, getattr(store, name)))

    def _counting(self, name, read):
        def counted(*args):
            self.calls.append(name)
            return read(*args)
        return counted

    def take(self) -> list[str]:
        calls, self.calls = self.calls, []
        return calls


def test_a_replayed_request_id_is_answered_from_memory(svc, store, recorder, monkeypatch):
    reads = StoreReads(store, monkeypatch)
    req = RouteInput(task_description=TASK, request_id="mem-1", attribution=KEYS)
    first = svc.routing.route(req)
    assert reads.take() == ["find_decision_by_request"]  # a true miss: the one store read
    for _ in range(3):
        assert svc.routing.route(req).decision == first.decision
    recorder.flush()
    assert svc.routing.route(req).decision == first.decision
    assert reads.take() == []  # before and after its commit
    svc.decisions.forget()  # a restart: the store answers once, then memory does
    assert svc.routing.route(req).decision == first.decision
    assert reads.take() == ["find_decision_by_request"]
    assert svc.routing.route(req).replayed and reads.take() == []
    # a decision this process read by its id (a report, GetDecision) answers its request_id too
    other = svc.routing.route(RouteInput(task_description=TASK, request_id="mem-2"))
    recorder.flush()
    svc.decisions.forget()
    svc.reports.decision(other.decision.decision_id)
    reads.take()
    assert svc.routing.route(RouteInput(task_description=TASK, request_id="mem-2")).replayed
    assert reads.take() == []


def test_a_request_id_another_replica_stored_first_replays_as_that_replicas_decision(
        store, recorder, catalog, classifier, clock):
    """Two replicas answer one request_id before either commits: the store keeps the first
    commit's, and the other replica's replays follow it once its own commit lost."""
    late = Recorder(store)  # replica A: its writes wait until it starts
    a = services(store, late, catalog, classifier, clock)
    b = services(store, recorder, catalog, classifier, clock)
    req = RouteInput(task_description=TASK, request_id="race-1", attribution=KEYS)
    lost = a.routing.route(req).decision
    won = b.routing.route(req).decision  # A has not committed: B cannot know
    assert won.decision_id != lost.decision_id
    recorder.flush()
    assert a.routing.route(req).decision == lost  # until A commits, A answers its own
    late.start()
    try:
        late.flush()
        assert store.find_decision_by_request("race-1").decision_id == won.decision_id
        again = a.routing.route(req)
        assert again.replayed and again.decision.decision_id == won.decision_id
        # the losing decision still resolves (its client holds its id), without the request_id
        assert store.get_decision(lost.decision_id).request_id is None
        assert a.decisions.get(lost.decision_id).request_id is None
    finally:
        late.close()


def test_the_same_request_id_with_a_different_payload_is_a_conflict(svc):
    svc.routing.route(RouteInput(task_description=TASK, request_id="req-2"))
    with pytest.raises(Conflict, match="req-2"):
        svc.routing.route(RouteInput(task_description=TASK + " Be brief.", request_id="req-2"))
    with pytest.raises(Conflict):  # the keys are part of the payload too
        svc.routing.route(RouteInput(task_description=TASK, request_id="req-2",
                                     attribution=KEYS))


def test_a_paused_scope_is_refused_naming_the_scope(svc, clock):
    svc.budgets.pause(Scope(team="growth", agent="mailer"), "runaway loop")
    with pytest.raises(PreconditionFailed) as refused:
        svc.routing.route(RouteInput(task_description=TASK, attribution=KEYS))
    assert "team=growth, agent=mailer" in str(refused.value)
    assert "runaway loop" in str(refused.value)
    # another agent of the team is not paused; resuming lets the agent route again
    svc.routing.route(RouteInput(task_description=TASK,
                                 attribution=Attribution(team="growth", agent="other")))
    assert svc.budgets.resume(Scope(team="growth", agent="mailer"))
    svc.routing.route(RouteInput(task_description=TASK, attribution=KEYS))


def test_a_model_scoped_pause_excludes_only_that_model(svc):
    usual = svc.routing.route(RouteInput(task_description=TASK, attribution=KEYS)).decision
    svc.budgets.pause(Scope(model=usual.model), "provider incident")
    d = svc.routing.route(RouteInput(task_description=TASK, attribution=KEYS)).decision
    assert d.model != usual.model and usual.model not in d.fallbacks
    assert d.model == usual.fallbacks[0]  # the next cheapest adequate model takes over


def test_unknown_allowed_models_are_invalid_naming_the_index(svc):
    with pytest.raises(InvalidRequest) as bad:
        svc.routing.route(RouteInput(task_description=TASK,
                                     allowed_models=("no-such-model", "gpt-4o")))
    assert [v.field for v in bad.value.violations] == ["allowed_models[0]"]


def test_allowed_models_accept_an_alias_in_any_case(svc):
    d = svc.routing.route(RouteInput(task_description=TASK,
                                     allowed_models=("GPT-4o-2024-08-06",))).decision
    assert d.model == "gpt-4o"


def test_needs_store_read_is_false_on_sqlite(svc, store, recorder, catalog, classifier, clock):
    svc.budgets.set(rule_from_mapping({"id": "growth", "scope": {"team": "growth"},
                                       "limit": "10", "window": "day"}))
    req = RouteInput(task_description=TASK, request_id="never-seen", attribution=KEYS)
    assert store.local_reads
    assert svc.routing.needs_store_read(req) is False
    # the same request would wait on a remote store: budgets apply and the id is not cached
    remote = RoutingService(SETTINGS, catalog, classifier, svc.decisions, recorder, svc.gate,
                            svc.calibration, clock, local_reads=False, decision_key=b"k")
    assert remote.needs_store_read(req) is True


def test_a_route_whose_recorder_refuses_leaves_no_hold_behind(
        store, recorder, catalog, classifier, clock):
    book = BudgetBook(store)
    ledger = LocalLedger(store)
    working = services(store, recorder, catalog, classifier, clock, budgets=book, ledger=ledger)
    working.budgets.set(rule_from_mapping({"id": "mailer", "scope": {"agent": "mailer"},
                                           "limit": "10", "window": "day"}))
    req = RouteInput(task_description=TASK, attribution=KEYS)
    held = working.routing.route(req)
    assert [s.rule.id for s in held.budgets] == ["mailer"]
    assert ledger.open_holds() == 1  # a Route under this budget holds its predicted cost

    closed = Recorder(store).start()
    closed.close()
    refusing = services(store, closed, catalog, classifier, clock, budgets=book, ledger=ledger)
    with pytest.raises(StoreUnavailable):
        refusing.routing.route(req)
    assert ledger.open_holds() == 1  # only the first Route's hold; the failed one released
    [status] = ledger.statuses([book.get("mailer")], clock.now_us())
    assert status.totals.held == held.decision.predicted_cost


def test_a_route_with_a_full_write_queue_is_unavailable_and_releases_its_hold(
        store, catalog, classifier, clock):
    full = Recorder(store, queue_limit=0)  # every record_decision raises StoreUnavailable
    ledger = LocalLedger(store)
    svc = services(store, full, catalog, classifier, clock, ledger=ledger)
    svc.budgets.set(rule_from_mapping({"id": "mailer", "scope": {"agent": "mailer"},
                                       "limit": "10", "window": "day"}))
    with pytest.raises(StoreUnavailable, match="queue is full"):
        svc.routing.route(RouteInput(task_description=TASK, attribution=KEYS))
    assert ledger.open_holds() == 0
    [status] = ledger.statuses([svc.budgets.get("mailer")], clock.now_us())
    assert status.totals.held == 0


def test_an_abandoned_route_releases_its_holds(tmp_path):
    """A Route whose caller has gone (deadline passed, cancelled) leaves no hold behind."""
    path = tmp_path / "budgets.toml"
    path.write_text('schema_version = 1\n[[budgets]]\nid = "b"\nscope = { team = "t" }\n'
                    'limit = "100"\nwindow = "day"\n')
    settings = make_settings(tmp_path, budgets_path=str(path))
    app = build_app(settings)
    try:
        result = app.services.routing.route(RouteInput(
            task_description="Summarise this paragraph.", attribution=Attribution(team="t")))
        ledger = app.services.gate.ledger
        assert isinstance(ledger, LocalLedger) and ledger.open_holds() == 1
        app.services.routing.abandon(result)
        assert ledger.open_holds() == 0
    finally:
        app.close()
