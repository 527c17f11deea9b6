"""Replaying usage through the service: the prediction error falls and survives a restart."""

from __future__ import annotations

import statistics

from router.core.clock import ManualClock
from router.core.pricing import TokenCounts
from router.core.records import Attribution
from router.core.requests import RouteInput, UsageInput
from router.server import build_app
from tests.conftest import make_settings

KEYS = Attribution(team="ops", agent="summariser", task_type="summarise")
MODEL = "gpt-4o-mini"  # corrections are per model: pinned, so every round feeds the same one


def replay(app, rounds: int, start: int, clock: ManualClock) -> list[float]:
    """Route, then report an output 4x what the classifier would say; return |error| ratios."""
    errors = []
    for i in range(start, start + rounds):
        clock.advance(seconds=1)
        d = app.services.routing.route(RouteInput(task_description=f"Summarise meeting notes #{i}",
                                         attribution=KEYS, allowed_models=(MODEL,))).decision
        assert d.model == MODEL
        actual = 4 * max(1, round(d.output_tokens / app.services.calibration.calibrator.factor(
            d.model, KEYS.task_type, KEYS.agent)))
        errors.append(abs(d.output_tokens - actual) / actual)
        app.services.usage.report(UsageInput(
            usage_id=f"u{i}", decision_id=d.decision_id,
            tokens=TokenCounts(input=100, output=actual)))
    return errors


def test_prediction_error_falls_as_usage_is_reported_and_persists(tmp_path):
    clock = ManualClock()
    app = build_app(make_settings(tmp_path), clock)
    errors = replay(app, 30, 0, clock)
    early, late = statistics.mean(errors[:3]), statistics.mean(errors[-5:])
    assert early > 0.7  # the classifier alone predicts a quarter of the real output
    assert late < 0.15 < early
    app.close()

    again = build_app(make_settings(tmp_path), clock)  # restart: factors come from the store
    assert statistics.mean(replay(again, 3, 100, clock)) < 0.15
    again.close()
