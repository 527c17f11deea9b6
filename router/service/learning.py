"""Learning from outcomes as a running service: what routing reads (quality offsets per model)
and what usage and feedback teach it (a score of a routed call).

The learner itself (``router.core.learning``) is pure; this module loads its state from the
store, feeds it outcomes, saves what changed and refreshes what other replicas learned:

- ``observe`` folds one score in (the usage and feedback services call it, as the
  ``OutcomeSink``), under a lock;
- ``offsets_for`` is what Route asks: the learned logit offsets of every model for a (task type,
  agent), kept until one of those two scopes' evidence changes;
- ``explores`` / ``sample`` / ``spend``: Thompson sampling, bounded by an ``ExplorationBudget``;
- ``save`` adds this process's increments to the store's sums (the server runs it every
  ``SAVE_INTERVAL_S`` and at shutdown; what a failed save took is put back), ``refresh``
  re-reads the sums (on the refresh schedule of budgets and keys), so replicas share what each
  learned within that interval.
"""

from __future__ import annotations

import threading
from typing import Protocol

import numpy as np

from router.core.learning import AGENT, TASK, ExplorationBudget, Learner, logit, sigmoid
from router.core.records import Attribution, DecisionRecord
from router.settings import Settings, no_explore_scopes
from router.store.base import LearningStore

SAVE_INTERVAL_S = 1.0  # increments are added to the store's sums at most this far apart
MAX_CACHED_OFFSETS = 4096  # (task_type, agent) pairs whose per-model offsets are kept

Offsets = tuple[np.ndarray, np.ndarray]  # (means, sds), aligned with routing's models


class OutcomeSink(Protocol):
    """Where the usage and feedback services send each first-time score of a routed call."""

    def observe(self, decision: DecisionRecord, model: str, score: float, now_us: int) -> None:
        """``model`` (the one that answered ``decision``'s call) scored ``score`` in [0, 1]."""


class NoLearning:
    """An ``OutcomeSink`` that learns nothing (tests, and services wired without a learner)."""

    def observe(self, decision: DecisionRecord, model: str, score: float, now_us: int) -> None:
        return None


class Learning:
    """The learner of one process, its exploration budget and generator, and its store.

    ``rng`` (a numpy Generator) draws the Thompson samples; tests replace it with a seeded one.
    With ``settings.learning`` off it learns nothing and routing gets no offsets.
    """

    def __init__(self, store: LearningStore, settings: Settings,
                 rng: np.random.Generator | None = None) -> None:
        self.enabled = settings.learning
        self.learner = Learner(prior_sd=settings.learning_prior_sd,
                               max_precision=settings.learning_max_precision,
                               min_agent_count=settings.learning_min_agent_count)
        share = settings.learning_explore_share  # of spend, and of calls
        self.budget = ExplorationBudget(share, share)
        self.rng = rng if rng is not None else np.random.default_rng()
        self._no_explore = no_explore_scopes(settings.learning_no_explore)
        self._store = store
        self._lock = threading.Lock()  # the learner's state
        self._budget_lock = threading.Lock()
        self._sync = threading.Lock()  # save and refresh, one at a time
        # (task_type, agent) -> (task version, agent version, model ids, offsets or None)
        self._cached: dict[tuple[str, str], tuple[int, int, tuple[str, ...], Offsets | None]] = {}
        if self.enabled:
            self.learner.load(store.load_learning())

    # -- routing --------------------------------------------------------------------------------

    def offsets_for(self, task_type: str, agent: str, models: tuple[str, ...]
                    ) -> Offsets | None:
        """The learned logit offsets (means, sds) of each of ``models`` (ids, in routing's
        order) for this task type and agent; None while nothing is known of them here (routing
        then evaluates exactly as without a learner).

        Kept per (task type, agent) until that task type's or that agent's evidence changes:
        a Route reads two versions and one cached pair of arrays.
        """
        learner = self.learner
        if not self.enabled or len(learner) == 0:
            return None
        # read first: a change while building means a rebuild next time
        task_version = learner.scope_version(TASK, task_type)
        agent_version = learner.scope_version(AGENT, agent) if agent else 0
        key = (task_type, agent)
        hit = self._cached.get(key)
        if (hit is not None and hit[0] == task_version and hit[1] == agent_version
                and hit[2] is models):
            return hit[3]
        offsets = learner.offsets(task_type, agent, models)
        if offsets is not None:
            for array in offsets:
                array.flags.writeable = False
        if len(self._cached) >= MAX_CACHED_OFFSETS:
            self._cached.clear()
        self._cached[key] = (task_version, agent_version, models, offsets)
        return offsets

    def explores(self, attribution: Attribution) -> bool:
        """Whether a call of ``attribution`` may explore: its scopes allow it and the
        exploration budget is not spent."""
        if self._no_explore and any(
                (key, value) in self._no_explore for key, value in (
                    ("team", attribution.team), ("agent", attribution.agent),
                    ("task_type", attribution.task_type), ("user", attribution.user))):
            return False
        budget = self.budget
        return budget.share > 0 and budget.spent <= budget.share * budget.total and budget.open()

    def sample(self, offsets: Offsets) -> np.ndarray:
        """One Thompson sample of the offsets: means + sds x standard normal."""
        means, sds = offsets
        return means + sds * self.rng.standard_normal(len(means))

    def spend(self, extra: int, cost: int) -> bool:
        """Record a routed choice that cost ``cost``, ``extra`` more than the posterior mean's
        choice, if the exploration budget allows the extra; False (nothing recorded) if not."""
        with self._budget_lock:
            return self.budget.take(extra, cost)

    # -- outcomes -------------------------------------------------------------------------------

    def observe(self, decision: DecisionRecord, model: str, score: float, now_us: int) -> None:
        """Fold in that ``model`` scored ``score`` on ``decision``'s call: against the
        classifier's own quality for the chosen model; for a fallback, against its kept
        candidate's quality (without the learned means, when the decision had them applied).
        A model the decision did not consider teaches nothing."""
        if not self.enabled or not 0.0 <= score <= 1.0:  # (nan included)
            return
        keys = decision.attribution
        with self._lock:
            if model == decision.model:
                prior = (decision.prior_quality if decision.prior_quality is not None
                         else decision.predicted_quality)
            else:
                kept = next((c.quality for c in decision.candidates if c.model == model), None)
                if kept is None:
                    return
                prior = kept
                if decision.prior_quality is not None:  # the candidates carry learned qualities
                    offsets = self.learner.offsets(keys.task_type, keys.agent, (model,))
                    if offsets is not None:
                        prior = sigmoid(logit(kept) - float(offsets[0][0]))
            self.learner.observe(keys.task_type, keys.agent, model,
                                 min(max(prior, 0.0), 1.0), score, now_us)

    # -- persistence ----------------------------------------------------------------------------

    def save(self) -> None:
        """Add this process's increments since the last save to the store's sums; on failure
        they are put back for the next save (StoreUnavailable is raised on)."""
        if not self.enabled:
            return
        with self._sync:
            with self._lock:
                rows = self.learner.take_dirty()
            if not rows:
                return
            try:
                self._store.add_learning(rows)
            except BaseException:
                with self._lock:
                    self.learner.restore(rows)
                raise

    def refresh(self) -> None:
        """Re-read the store's sums: what every replica has saved (this one's included)."""
        if not self.enabled:
            return
        with self._sync:
            rows = self._store.load_learning()
            with self._lock:
                self.learner.load(rows)
