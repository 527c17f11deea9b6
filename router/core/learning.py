"""Learning from outcomes: a Bayesian correction of the classifier's quality, per task type and
per agent, with Thompson sampling for exploration. Pure: no I/O, no clock, no randomness of its
own (the caller passes the generator).

The classifier stays the prior. For a call of task type ``t`` by agent ``a`` on model ``m`` whose
quality the classifier predicts as ``q0``, the learner believes

    quality = sigmoid(logit(q0) + d[t, m] + d[a, m])

where each offset ``d`` has a Gaussian posterior N(mean, 1 / precision), starting at N(0,
prior_sd^2). An agent's offset counts only once it has ``min_agent_count`` observations (before
that, the task type's offset speaks for it); a call without a task type learns under the model's
own "" task type.

Each observed score y in [0, 1] (a Bernoulli outcome, or a graded one) is folded in by one Laplace
step, as in Chapelle & Li's online Bayesian logistic regression (NIPS 2011): the mean moves to the
maximum of prior x likelihood, and the precision grows by p(1 - p) at that mean. The task type's
offset learns first, then the agent's, each with the other's mean fixed.

The precision a step sees is capped (``max_precision``): the posterior never grows so sure that
it stops listening, so the learner keeps tracking a model whose quality changes (a regression
moves traffic away within a few dozen bad outcomes). The stored sums are the Laplace steps'
increments of precision and precision x mean, which are additive: replicas each add their own
increments to the shared store, and every replica reads the sum (``Evidence``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

TASK, AGENT = "task_type", "agent"  # the two levels a correction is kept at
LEVELS = (TASK, AGENT)
_EPS = 1e-6  # classifier qualities are clipped to [eps, 1 - eps] before the logit
_MAX_STEPS = 60  # safeguarded Newton: about 4 steps where the prior is firm, a bound elsewhere
_TOLERANCE = 1e-12


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the store keeps per (level, scope, model): the sums of every Laplace step's
    increments of precision and of precision x mean, and how many outcomes they came from.
    Sums from several replicas add up to the sums of all their outcomes."""

    level: str  # TASK or AGENT
    scope: str  # the task type or the agent
    model: str
    precision: float
    weighted: float  # sum of the increments of precision x mean
    count: int
    updated_us: int

    def plus(self, other: Evidence) -> Evidence:
        return Evidence(self.level, self.scope, self.model, self.precision + other.precision,
                        self.weighted + other.weighted, self.count + other.count,
                        max(self.updated_us, other.updated_us))


@dataclass(frozen=True, slots=True)
class Posterior:
    """One offset's belief, for ``router learning show`` and for routing."""

    level: str
    scope: str
    model: str
    mean: float
    sd: float
    count: int
    updated_us: int


Key = tuple[str, str, str]  # (level, scope, model)


def logit(p: float) -> float:
    p = min(max(p, _EPS), 1.0 - _EPS)
    return math.log(p / (1.0 - p))


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def laplace_step(mean: float, precision: float, base: float, score: float) -> tuple[float, float]:
    """The posterior (mean, precision) of an offset ``d`` with prior N(mean, 1/precision) after
    one outcome ``score`` of a call whose logit is ``base + d``.

    The mode is the root of the gradient ``score - sigmoid(base + d) - precision (d - mean)``,
    which falls with ``d`` and changes sign between ``mean`` and ``mean + (score - p0) /
    precision`` (p0 = sigmoid(base + mean)). Newton's steps from ``mean``, each kept inside that
    bracket (bisecting where a step would leave it): plain Newton overshoots, and diverges, where
    the prior is weak (precision well under 1) and the logit is far from 0."""
    p0 = sigmoid(base + mean)
    lo, hi = mean, mean + (score - p0) / precision
    if lo > hi:
        lo, hi = hi, lo
    d = mean
    for _ in range(_MAX_STEPS):
        p = sigmoid(base + d)
        gradient = score - p - precision * (d - mean)
        if gradient > 0:
            lo = d
        else:
            hi = d
        step = gradient / (precision + p * (1.0 - p))
        nxt = d + step
        if not lo < nxt < hi:
            nxt = 0.5 * (lo + hi)
        if abs(nxt - d) <= _TOLERANCE * (1.0 + abs(d)):
            d = nxt
            break
        d = nxt
    p = sigmoid(base + d)
    return d, precision + p * (1.0 - p)


class Learner:
    """The offsets of every (level, scope, model) seen, with what changed since ``take_dirty``.

    ``version`` grows with every change, and ``scope_version(level, scope)`` with every change
    of that one task type's (or agent's) offsets, so what routing derives from them (arrays per
    task type and agent) is rebuilt only when its own scopes change: a busy task type's outcomes
    leave every other's arrays as they are.
    """

    def __init__(self, prior_sd: float = 0.5, max_precision: float = 50.0,
                 min_agent_count: int = 30, max_keys: int = 100_000) -> None:
        if not prior_sd > 0:
            raise ValueError("prior_sd must be > 0")
        if not max_precision > 1.0 / prior_sd**2:
            raise ValueError("max_precision must exceed the prior's precision (1 / prior_sd^2)")
        self.prior_precision = 1.0 / prior_sd**2
        self.max_precision = max_precision
        self.min_agent_count = min_agent_count
        self.max_keys = max_keys
        self._shared: dict[Key, Evidence] = {}  # the store's sums, as last loaded
        self._local: dict[Key, Evidence] = {}  # this process's increments not yet taken
        self._taken: dict[Key, Evidence] = {}  # taken for saving, not yet in a load
        self._merged: dict[Key, Evidence] = {}  # shared + taken + local
        self._scope_versions: dict[tuple[str, str], int] = {}  # (level, scope) -> changes
        self.version = 0

    def __len__(self) -> int:
        return len(self._merged)

    def scope_version(self, level: str, scope: str) -> int:
        """How often the offsets of one task type (or agent) have changed; 0: never."""
        return self._scope_versions.get((level, scope), 0)

    def _changed(self, scopes: Iterable[tuple[str, str]]) -> None:
        # after the change itself, so a reader that sees the new version sees the new state
        versions = self._scope_versions
        for scope in scopes:
            versions[scope] = versions.get(scope, 0) + 1
        self.version += 1

    # -- state ----------------------------------------------------------------------------------

    def load(self, rows: Iterable[Evidence]) -> None:
        """Replace the shared sums with the store's (which hold every increment saved so far,
        this process's included); increments not yet saved stay on top."""
        self._shared = {(r.level, r.scope, r.model): r for r in rows}
        self._taken = {}
        self._rebuild()

    def take_dirty(self) -> list[Evidence]:
        """This process's increments since the last call, for the store to add to its sums."""
        out = list(self._local.values())
        for key, inc in self._local.items():
            old = self._taken.get(key)
            self._taken[key] = inc if old is None else old.plus(inc)
        self._local = {}
        return out

    def restore(self, rows: Iterable[Evidence]) -> None:
        """Put back increments ``take_dirty`` gave out that could not be saved."""
        for r in rows:
            key = (r.level, r.scope, r.model)
            taken = self._taken.get(key)
            if taken is not None:
                rest = Evidence(r.level, r.scope, r.model, taken.precision - r.precision,
                                taken.weighted - r.weighted, taken.count - r.count,
                                taken.updated_us)
                if rest.count > 0:
                    self._taken[key] = rest
                else:
                    del self._taken[key]
            old = self._local.get(key)
            self._local[key] = r if old is None else old.plus(r)
        # usually a move from taken to local, which changes no sum; but a ``load`` between
        # ``take_dirty`` and here dropped the taken increments from the sums: they come back
        self._rebuild()

    def _rebuild(self) -> None:
        merged = dict(self._shared)
        for part in (self._taken, self._local):
            for key, inc in part.items():
                old = merged.get(key)
                merged[key] = inc if old is None else old.plus(inc)
        if len(merged) > self.max_keys:  # keep the most recently updated
            keep = sorted(merged.values(), key=lambda e: e.updated_us)[-self.max_keys:]
            merged = {(e.level, e.scope, e.model): e for e in keep}
        before = self._merged
        changed = {(k[0], k[1]) for k, e in merged.items() if before.get(k) != e}
        changed.update((k[0], k[1]) for k in before.keys() - merged.keys())
        self._merged = merged
        self._changed(changed)

    # -- beliefs --------------------------------------------------------------------------------

    def _belief(self, key: Key) -> tuple[float, float, int]:
        """(mean, precision as a step sees it, count) of one offset."""
        e = self._merged.get(key)
        if e is None:
            return 0.0, self.prior_precision, 0
        total = self.prior_precision + e.precision
        return e.weighted / total, min(total, self.max_precision), e.count

    def posterior(self, level: str, scope: str, model: str) -> Posterior:
        mean, precision, count = self._belief((level, scope, model))
        e = self._merged.get((level, scope, model))
        return Posterior(level, scope, model, mean, 1.0 / math.sqrt(precision), count,
                         e.updated_us if e is not None else 0)

    def posteriors(self, level: str | None = None, scope: str | None = None) -> list[Posterior]:
        """Every offset with evidence, optionally of one level and scope, sorted."""
        return [self.posterior(*k) for k in sorted(self._merged)
                if (level is None or k[0] == level) and (scope is None or k[1] == scope)]

    def offsets(self, task_type: str, agent: str, models: Sequence[str]
                ) -> tuple[np.ndarray, np.ndarray] | None:
        """The logit offsets of ``models`` for a call (means, and sds for sampling), aligned
        with ``models``; None when nothing is known of any of them here."""
        if not self._merged:
            return None
        means = np.zeros(len(models))
        variances = np.zeros(len(models))
        known = False
        for i, model in enumerate(models):
            mean, precision, _ = self._belief((TASK, task_type, model))
            if (TASK, task_type, model) in self._merged:
                known = True
            var = 1.0 / precision
            if agent:
                a_mean, a_precision, a_count = self._belief((AGENT, agent, model))
                if a_count >= self.min_agent_count:
                    mean, var, known = mean + a_mean, var + 1.0 / a_precision, True
            means[i], variances[i] = mean, var
        if not known:
            return None
        return means, np.sqrt(variances)

    # -- learning -------------------------------------------------------------------------------

    def observe(self, task_type: str, agent: str, model: str, prior_quality: float,
                score: float, now_us: int) -> None:
        """Fold one outcome in: ``model``, which the classifier expected to reach
        ``prior_quality`` on this call, scored ``score``."""
        if not 0.0 <= score <= 1.0 or not 0.0 <= prior_quality <= 1.0:
            raise ValueError("score and prior_quality must lie in [0, 1]")
        base = logit(prior_quality)
        task_key = (TASK, task_type, model)
        agent_key = (AGENT, agent, model) if agent else None
        a_mean = 0.0
        if agent_key is not None:
            a_mean, _, a_count = self._belief(agent_key)
            if a_count < self.min_agent_count:
                a_mean = 0.0
        t_mean = self._step(task_key, base + a_mean, score, now_us)
        if agent_key is not None:
            self._step(agent_key, base + t_mean, score, now_us)
            self._changed(((TASK, task_type), (AGENT, agent)))
        else:
            self._changed(((TASK, task_type),))

    def _step(self, key: Key, base: float, score: float, now_us: int) -> float:
        """One Laplace step of ``key``'s offset; returns its new mean."""
        e = self._merged.get(key)
        total = self.prior_precision + (e.precision if e is not None else 0.0)
        weighted = e.weighted if e is not None else 0.0
        mean = weighted / total
        new_mean, stepped = laplace_step(mean, min(total, self.max_precision), base, score)
        gain = stepped - min(total, self.max_precision)  # p(1 - p) at the new mean
        # increments that make the sums' mean the new mean, at the sums' full precision
        inc = Evidence(key[0], key[1], key[2], gain, (total + gain) * new_mean - weighted, 1,
                       now_us)
        self._merged[key] = inc if e is None else e.plus(inc)
        old = self._local.get(key)
        self._local[key] = inc if old is None else old.plus(inc)
        return new_mean


# -- exploration ---------------------------------------------------------------------------------

def adjusted(quality: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The classifier's qualities with logit offsets added: sigmoid(logit(q) + offsets), in
    place on one new array (every Route with offsets pays for these few ufuncs)."""
    q = np.maximum(quality, _EPS)
    np.minimum(q, 1.0 - _EPS, out=q)
    z = np.log(q)
    z -= np.log1p(-q)
    z += offsets
    np.negative(z, out=z)
    np.exp(z, out=z)
    z += 1.0
    return np.reciprocal(z, out=z)


@dataclass
class ExplorationBudget:
    """Bounds what exploration costs. A call explores when the sampled choice differs from the
    posterior mean's (``extra``: its predicted cost minus the mean choice's, nonzero). It may
    while the calls that explored stay within ``call_share`` of all calls (a cheaper choice
    risks quality, so it counts too) and, when it is dearer, while the extra cost of
    exploring stays within ``share`` of all the predicted spend routed."""

    share: float = 0.05
    call_share: float = 0.05
    spent: int = 0  # extra nanos of exploring choices
    total: int = 0  # nanos of every routed choice
    calls: int = 0
    explored: int = 0

    def open(self) -> bool:
        """Whether some exploring call could be allowed now: else there is no point in
        drawing a sample (the posterior means decide)."""
        return self.explored + 1 <= self.call_share * (self.calls + 1)

    def allows(self, extra: int, cost: int) -> bool:
        if extra == 0:
            return True
        if self.explored + 1 > self.call_share * (self.calls + 1):
            return False
        return extra < 0 or self.spent + extra <= self.share * (self.total + cost)

    def take(self, extra: int, cost: int) -> bool:
        """Record the choice if ``allows`` it; whether it did."""
        if not self.allows(extra, cost):
            return False
        self.record(extra, cost)
        return True

    def record(self, extra: int, cost: int) -> None:
        self.total += cost
        self.calls += 1
        if extra != 0:
            self.explored += 1
        if extra > 0:
            self.spent += extra
