import math

import pytest

from router.core.calibration import ANY, OutputCalibrator


def test_no_correction_until_enough_observations():
    cal = OutputCalibrator(alpha=0.5, min_count=3)
    assert cal.factor("m", "t", "a") == 1.0
    for _ in range(2):
        cal.update("m", "t", "a", predicted=100, actual=200, now_us=1)
    assert cal.factor("m", "t", "a") == 1.0
    cal.update("m", "t", "a", predicted=100, actual=200, now_us=2)
    assert cal.factor("m", "t", "a") > 1.5


def test_corrected_predictions_converge_to_the_actual_ratio():
    cal = OutputCalibrator(alpha=0.3, min_count=1)
    raw = 100
    for i in range(60):
        corrected = cal.correct("m", "t", "a", raw)
        cal.update("m", "t", "a", predicted=corrected, actual=250, now_us=i)
    assert cal.correct("m", "t", "a", raw) == pytest.approx(250, rel=0.02)


def test_falls_back_from_agent_to_task_type_to_model():
    cal = OutputCalibrator(alpha=1.0, min_count=1)
    cal.update("m", "summarise", "alice", predicted=100, actual=300, now_us=1)
    assert cal.factor("m", "summarise", "alice") == pytest.approx(3.0)
    assert cal.factor("m", "summarise", "bob") == pytest.approx(3.0)  # (m, summarise, *)
    assert cal.factor("m", "other", "bob") == pytest.approx(3.0)  # (m, *, *)
    assert cal.factor("other-model", "summarise", "alice") == 1.0


def test_corrections_are_bounded_and_keys_are_capped():
    cal = OutputCalibrator(alpha=1.0, min_count=1, max_keys=6)
    cal.update("m", "t", "a", predicted=1, actual=10**9, now_us=1)
    assert cal.factor("m", "t", "a") == pytest.approx(10.0)
    for i in range(10):
        cal.update(f"m{i}", "t", "a", predicted=10, actual=20, now_us=i)
    assert len(cal) <= 6


def test_dirty_factors_are_handed_out_once_and_reload():
    cal = OutputCalibrator(alpha=1.0, min_count=1)
    cal.update("m", "t", "a", predicted=100, actual=50, now_us=7)
    rows = cal.take_dirty()
    assert {(r.model, r.task_type, r.agent) for r in rows} == {
        ("m", "t", "a"), ("m", "t", ANY), ("m", ANY, ANY)}
    assert cal.take_dirty() == []
    fresh = OutputCalibrator(min_count=1)
    fresh.load(rows)
    assert fresh.factor("m", "t", "a") == pytest.approx(0.5)
    assert all(math.isfinite(r.log_factor) for r in rows)
