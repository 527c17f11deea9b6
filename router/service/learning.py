"""Learning from outcomes as a running service: what routing reads (quality offsets per model)
and what usage and feedback teach it (a score of a routed call).

The learner itself (``router.core.learning``) is pure; this module loads its state from the
store, feeds it outcomes, saves what changed through the group commit and refreshes what other
replicas learned.
"""

from __future__ import annotations

from typing import Protocol

from router.core.records import DecisionRecord


class OutcomeSink(Protocol):
    """Where the usage and feedback services send each first-time score of a routed call."""

    def observe(self, decision: DecisionRecord, model: str, score: float, now_us: int) -> None:
        """``model`` (the one that answered ``decision``'s call) scored ``score`` in [0, 1]."""


class NoLearning:
    """An ``OutcomeSink`` that learns nothing (tests, and services wired without a learner)."""

    def observe(self, decision: DecisionRecord, model: str, score: float, now_us: int) -> None:
        return None
