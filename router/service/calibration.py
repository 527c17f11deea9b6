"""Output-token calibration as a running service: corrections learned from reported usage,
read by routing, saved through the group commit."""

from __future__ import annotations

import threading
import time

import numpy as np

from router.core.calibration import OutputCalibrator
from router.core.records import DecisionRecord, UsageRecord
from router.store.base import RecordStore
from router.store.recorder import Recorder

SAVE_INTERVAL_S = 1.0  # changed factors are queued for commit at most this often
MAX_CACHED_FACTORS = 4096  # (task_type, agent) pairs whose per-model factors are kept


class Calibration:
    def __init__(self, store: RecordStore, recorder: Recorder) -> None:
        self.calibrator = OutputCalibrator()
        self.calibrator.load(store.load_calibration())
        self._recorder = recorder
        self._lock = threading.Lock()
        self._saved = time.monotonic()
        # (task_type, agent) -> (calibrator version, model ids, factor per model)
        self._cached: dict[tuple[str, str], tuple[int, tuple[str, ...], np.ndarray]] = {}

    def factors_for(self, task_type: str, agent: str, models: tuple[str, ...]
                    ) -> np.ndarray | None:
        """The correction of each of ``models`` (ids, in routing's order) for this task type and
        agent; None while nothing is calibrated (routing then skips the correction).

        Kept until the calibration changes: a Route reads one cached array instead of asking the
        calibrator about every model.
        """
        calibrator = self.calibrator
        if len(calibrator) == 0:
            return None
        version = calibrator.version  # read first: a change while building means a rebuild
        key = (task_type, agent)
        hit = self._cached.get(key)
        if hit is not None and hit[0] == version and hit[1] is models:
            return hit[2]
        factors = np.array([calibrator.factor(m, task_type, agent) for m in models],
                           dtype=np.float64)
        factors.flags.writeable = False
        if len(self._cached) >= MAX_CACHED_FACTORS:
            self._cached.clear()
        self._cached[key] = (version, models, factors)
        return factors

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
