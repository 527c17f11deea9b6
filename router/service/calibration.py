"""Output-token calibration as a running service: corrections learned from reported usage,
read by routing, saved through the group commit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from router.core.calibration import OutputCalibrator
from router.core.records import DecisionRecord, UsageRecord
from router.store.base import RecordStore
from router.store.recorder import Recorder

SAVE_INTERVAL_S = 1.0  # changed factors are queued for commit at most this often


class Calibration:
    def __init__(self, store: RecordStore, recorder: Recorder) -> None:
        self.calibrator = OutputCalibrator()
        self.calibrator.load(store.load_calibration())
        self._recorder = recorder
        self._lock = threading.Lock()
        self._saved = time.monotonic()

    def factor_for(self, task_type: str, agent: str) -> Callable[[str], float] | None:
        """The per-model correction for this task type and agent; None while nothing is
        calibrated (routing then skips the per-model lookups)."""
        if len(self.calibrator) == 0:
            return None
        calibrator = self.calibrator

        def factor(model: str) -> float:
            return calibrator.factor(model, task_type, agent)

        return factor

    def learn(self, decision: DecisionRecord, usage: UsageRecord) -> None:
        """Fold the actual output of a routed call into the calibration."""
        predicted = next((c.output_tokens for c in decision.candidates
                          if c.model == usage.model), None)
        actual = usage.tokens.output + usage.tokens.reasoning
        if predicted is None or actual <= 0:
            return
        keys = decision.attribution
        with self._lock:
            self.calibrator.update(usage.model, keys.task_type, keys.agent, predicted, actual,
                                   usage.recorded_us)
            if time.monotonic() - self._saved >= SAVE_INTERVAL_S:
                self.save()

    def save(self) -> None:
        """Queue the changed calibration factors for the next group commit."""
        self._saved = time.monotonic()
        self._recorder.record_factors(self.calibrator.take_dirty())
