"""A decision the service lost (a crash between Route's answer and its commit) still takes its
usage, with the decision's attribution and prediction, when the caller hands back its token."""

from __future__ import annotations

import pytest

from router.core.errors import InvalidRequest, UnknownDecision
from router.core.pricing import TokenCounts
from router.core.records import Attribution
from router.core.requests import RouteInput, UsageInput
from router.server import build_app
from router.service import build_services
from router.store.recorder import Recorder
from tests.conftest import make_settings

KEYS = Attribution(team="ops", agent="triage", task_id="t-1", user="ana")


def _lost_route(tmp_path, request_id: str = ""):
    """Route on a process whose write queue never reaches the store, then 'crash' it."""
    settings = make_settings(tmp_path)
    app = build_app(settings)
    dead = Recorder(app.store)  # never started: what it queues is lost with the process
    services = build_services(settings, app.catalog, app.classifier, app.store, dead)
    result = services.routing.route(RouteInput(task_description="Summarise the ticket thread.",
                                               attribution=KEYS, request_id=request_id))
    app.close()
    return settings, result


def test_a_lost_decisions_usage_is_recorded_from_its_token(tmp_path):
    settings, routed = _lost_route(tmp_path, request_id="r-1")
    app = build_app(settings)  # the restarted process
    try:
        d = routed.decision
        assert app.store.get_decision(d.decision_id) is None  # it was really lost
        report = UsageInput(usage_id="u-1", decision_id=d.decision_id,
                            decision_token=routed.token,
                            tokens=TokenCounts(input=d.input_tokens, output=d.output_tokens))
        recorded = app.services.usage.report(report).usage
        assert recorded.attribution == KEYS
        assert recorded.model == d.model and recorded.predicted_cost == d.predicted_cost
        app.recorder.flush()
        assert app.store.get_decision(d.decision_id) is not None  # the decision is restored
        assert app.services.usage.report(report).replayed  # and counted once
        # routing again with the same request_id answers the restored decision
        again = app.services.routing.route(RouteInput(
            task_description="Summarise the ticket thread.", attribution=KEYS,
            request_id="r-1"))
        assert again.replayed and again.decision.decision_id == d.decision_id
    finally:
        app.close()


def test_without_its_token_a_lost_decisions_usage_is_unknown(tmp_path):
    settings, routed = _lost_route(tmp_path)
    app = build_app(settings)
    try:
        with pytest.raises(UnknownDecision):
            app.services.usage.report(UsageInput(usage_id="u-1",
                                                 decision_id=routed.decision.decision_id,
                                                 tokens=TokenCounts(input=10, output=5)))
    finally:
        app.close()


def test_a_token_from_another_deployment_is_refused(tmp_path):
    _, foreign = _lost_route(tmp_path / "other")
    settings, _ = _lost_route(tmp_path / "ours")
    app = build_app(settings)
    try:
        with pytest.raises(InvalidRequest, match="decision_token"):
            app.services.usage.report(UsageInput(
                usage_id="u-1", decision_id=foreign.decision.decision_id,
                decision_token=foreign.token, tokens=TokenCounts(input=10, output=5)))
    finally:
        app.close()
