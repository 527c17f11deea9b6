"""The per-model factors routing reads: one cached array per (task type, agent), rebuilt when
the calibration changes, equal to asking the calibrator model by model."""

from __future__ import annotations

from router.core.calibration import Factor
from router.service.calibration import Calibration


class Store:
    def __init__(self, rows: list[Factor]) -> None:
        self.rows = rows

    def load_calibration(self) -> list[Factor]:
        return self.rows


class Recorder:
    def record_factors(self, rows: list[Factor]) -> None:
        pass


MODELS = ("a", "b", "c")


def test_nothing_calibrated_is_none():
    assert Calibration(Store([]), Recorder()).factors_for("t", "x", MODELS) is None


def test_factors_are_the_calibrators_cached_until_it_changes():
    cal = Calibration(Store([Factor("b", "t", "", 0.5, 5, 1)]), Recorder())
    first = cal.factors_for("t", "x", MODELS)
    assert first is not None and not first.flags.writeable
    assert first.tolist() == [cal.calibrator.factor(m, "t", "x") for m in MODELS]
    assert first[0] == 1.0 and first[1] > 1.6
    assert cal.factors_for("t", "x", MODELS) is first  # cached
    assert cal.factors_for("t", "y", MODELS) is not first  # per agent

    for k in range(3):  # "a" becomes calibrated for task type t
        cal.calibrator.update("a", "t", "x", 100, 300, 10 + k)
    after = cal.factors_for("t", "x", MODELS)
    assert after is not first
    assert after.tolist() == [cal.calibrator.factor(m, "t", "x") for m in MODELS]
    assert after[0] > 2.0
    assert cal.factors_for("t", "x", ("c", "b")).tolist() == [1.0, after[1]]  # in the ids' order
