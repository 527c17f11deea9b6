"""Online calibration of predicted output tokens from reported actuals.

Each key (model, task_type, agent) keeps an exponentially weighted moving average of
log(actual / predicted) output tokens; a prediction is multiplied by exp(that average) of the most
specific key with enough observations, falling back to (model, task_type), then (model), then no
correction. The corrected prediction is what Route() uses, and ``update`` divides the factor back
out so each level averages log(actual / raw prediction).

Bounded: the correction is clamped to [1/10, 10]; at most ``max_keys`` keys are kept (least
recently updated dropped). No I/O: the service loads and saves ``Factor`` rows through the store.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

MAX_LOG_FACTOR = math.log(10.0)
ANY = ""  # wildcard for task_type or agent in a key


@dataclass(frozen=True, slots=True)
class Factor:
    model: str
    task_type: str
    agent: str
    log_factor: float
    count: int
    updated_us: int


Key = tuple[str, str, str]


class OutputCalibrator:
    def __init__(self, alpha: float = 0.2, min_count: int = 3, max_keys: int = 50_000) -> None:
        if not 0 < alpha <= 1:
            raise ValueError("alpha must be in (0, 1]")
        self.alpha = alpha
        self.min_count = min_count
        self.max_keys = max_keys
        self._factors: OrderedDict[Key, Factor] = OrderedDict()
        self._dirty: set[Key] = set()
        self.version = 0  # bumped on every change: what is derived from the factors keys on it

    def __len__(self) -> int:
        return len(self._factors)

    def load(self, rows: list[Factor]) -> None:
        for f in sorted(rows, key=lambda r: r.updated_us):
            self._put((f.model, f.task_type, f.agent), f, dirty=False)

    def factor(self, model: str, task_type: str, agent: str) -> float:
        """The multiplier for a raw prediction: most specific key with ``min_count`` updates."""
        for key in ((model, task_type, agent), (model, task_type, ANY), (model, ANY, ANY)):
            f = self._factors.get(key)
            if f is not None and f.count >= self.min_count:
                return math.exp(f.log_factor)
        return 1.0

    def correct(self, model: str, task_type: str, agent: str, predicted: int) -> int:
        return max(1, round(predicted * self.factor(model, task_type, agent)))

    def update(self, model: str, task_type: str, agent: str, predicted: int, actual: int,
               now_us: int) -> None:
        """Fold one observation into every level.

        ``predicted`` is the corrected prediction Route() used; dividing by the current factor
        recovers the classifier's raw prediction, and each level averages log(actual / raw).
        """
        if predicted <= 0 or actual <= 0:
            return
        observed = math.log(actual) - math.log(predicted / self.factor(model, task_type, agent))
        for key in ((model, task_type, agent), (model, task_type, ANY), (model, ANY, ANY)):
            old = self._factors.get(key)
            if old is None:
                value, count = observed, 1
            else:
                value = (1 - self.alpha) * old.log_factor + self.alpha * observed
                count = old.count + 1
            value = max(-MAX_LOG_FACTOR, min(MAX_LOG_FACTOR, value))
            self._put(key, Factor(*key, value, count, now_us), dirty=True)

    def _put(self, key: Key, factor: Factor, *, dirty: bool) -> None:
        self.version += 1
        self._factors[key] = factor
        self._factors.move_to_end(key)
        if dirty:
            self._dirty.add(key)
        while len(self._factors) > self.max_keys:
            dropped, _ = self._factors.popitem(last=False)
            self._dirty.discard(dropped)

    def take_dirty(self) -> list[Factor]:
        """Factors changed since the last call, to persist."""
        rows = [self._factors[k] for k in self._dirty if k in self._factors]
        self._dirty.clear()
        return rows
