"""Prequential evaluation of the learning router on replayed outcomes (``router eval --online``).

Each file's held-out prompts (the rows the classifier never saw) are streamed in a seeded random
order through the real policy (``router.core.policy.evaluate`` and ``choose``) and the real
learner (``router.core.learning.Learner``), as production would see them: the task type is the
file's ``task`` column, the agent its benchmark family (``mmlu`` for ``mmlu/anatomy``: an
orchestrator's agent runs a family of tasks), and after each call only the chosen model's score
is revealed to the learner (bandit feedback). Exploration is Thompson sampling, bounded by the
same ``ExplorationBudget`` the service uses.

Every quality target of a sweep replays the whole stream from a fresh learner (several times,
with different exploration draws, averaged), so each point of the cost-quality curve is what a
deployment at that target would have done on average; the metrics are those
of the static evaluation (``router.evaluation.offline``), over the part of the stream after the
warm-up. The static classifier is replayed on the same stream with the same targets
(``static``), and the two are compared pairwise: a bootstrap over the stream's rows of the
difference in AIQ, and of quality and cost at one target, in the warm-up and after it.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from router.core.catalog import Catalog
from router.core.classifier import Assessment, Classifier
from router.core.learning import ExplorationBudget, Learner
from router.core.policy import (
    Candidates,
    CandidateTable,
    Constraints,
    Decision,
    RoutableModel,
    choose,
    choose_learned,
    evaluate,
)
from router.core.tokens import estimate_tokens
from router.evaluation.data import DataError, OutcomeTable, load_table
from router.evaluation.metrics import aiq, apgr, cpt
from router.evaluation.offline import FRACTIONS, _resolve, _summary, training_rows
from router.evaluation.routers import CurvePoint, thresholds
from router.settings import Settings

Progress = Callable[[str], None]
NANOS_PER_USD = 10**9


@dataclass(frozen=True)
class LearningSettings:
    """The learner and exploration settings a replay uses: the service's (``from_settings``)."""

    prior_sd: float = 0.5
    max_precision: float = 50.0
    min_agent_count: int = 30
    explore_share: float = 0.05
    explore_calls: float = 0.05
    explore: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> LearningSettings:
        return cls(prior_sd=settings.learning_prior_sd,
                   max_precision=settings.learning_max_precision,
                   min_agent_count=settings.learning_min_agent_count,
                   explore_share=settings.learning_explore_share,
                   explore_calls=settings.learning_explore_share)


@dataclass(frozen=True)
class Stream:
    """One file's held-out rows in stream order, with everything a replay needs precomputed."""

    name: str
    models: list[str]  # the file's model names, aligned with the table and the columns below
    table: CandidateTable
    assessments: list[Assessment]
    input_tokens: list[int]
    prior: np.ndarray  # (n, m) the classifier's quality of each model
    scores: np.ndarray  # (n, m) recorded outcome
    costs: np.ndarray  # (n, m) USD per call: recorded, else priced from the catalog
    tasks: list[str]
    agents: list[str]

    def __len__(self) -> int:
        return len(self.tasks)


@dataclass(frozen=True)
class Replay:
    picks: np.ndarray  # (n,) column of the chosen model per call, in stream order
    explored: np.ndarray  # (n,) whether the call took a sampled choice unlike the mean's
    explore_share: float  # exploration's extra predicted cost / all predicted cost


def make_stream(table: OutcomeTable, trained: dict[str, OutcomeTable], catalog: Catalog,
                classifier: Classifier, seed: int, limit: int | None = None) -> Stream:
    specs, slots = _resolve(table.models, catalog, classifier)
    seen = {(s, i) for t in trained.values() for s, i in zip(t.sources, t.ids, strict=True)}
    fresh = np.array([(s, i) not in seen for s, i in zip(table.sources, table.ids, strict=True)])
    test = table.subset(fresh)
    if len(test) == 0:
        raise DataError(f"{table.name}: every row was used to train the classifier")
    order = np.random.default_rng(seed).permutation(len(test))[:limit]
    test = test.subset(order)
    cand = CandidateTable(RoutableModel(s, slot) for s, slot in zip(specs, slots, strict=True))
    assessments = [classifier.assess(p) for p in test.prompts]
    in_tokens = [estimate_tokens(p) for p in test.prompts]
    prior = np.array([[a.quality(s) for s in slots] for a in assessments])
    if test.costs is not None:
        costs = test.costs
    else:
        out = np.array([[a.output_tokens(s) for s in slots] for a in assessments])
        price_in = np.array([s.prices.input for s in specs]) / 1e15
        price_out = np.array([s.prices.output for s in specs]) / 1e15
        costs = np.array(in_tokens)[:, None] * price_in + out * price_out
    return Stream(table.name, table.models, cand, assessments, in_tokens, prior, test.scores,
                  costs, test.tasks, [t.split("/")[0] for t in test.tasks])


def replay(stream: Stream, target: float, learning: LearningSettings | None, seed: int
           ) -> Replay:
    """Route every call of ``stream`` at ``target``; with ``learning``, learn from each outcome.

    Routes as ``RoutingService._route`` does without budgets: ``choose_learned`` with the
    learner's means, or a Thompson draw while an exploring call could be allowed."""
    table, n = stream.table, len(stream)
    ids = table.ids
    column = {mid: j for j, mid in enumerate(ids)}
    picks = np.empty(n, dtype=np.int64)
    explored = np.zeros(n, dtype=bool)
    open_ = Constraints()
    learner = budget = None
    rng = np.random.default_rng(seed)
    if learning is not None:
        learner = Learner(learning.prior_sd, learning.max_precision, learning.min_agent_count)
        budget = ExplorationBudget(learning.explore_share, learning.explore_calls)
    for i in range(n):
        a, tokens = stream.assessments[i], stream.input_tokens[i]
        offsets = None if learner is None else learner.offsets(stream.tasks[i],
                                                               stream.agents[i], ids)
        if offsets is None:
            decision = choose(evaluate(table, a, tokens, open_, target, None), target, None,
                              tokens)
        else:
            assert budget is not None and learning is not None
            means, sds = offsets
            sampled = means + sds * rng.standard_normal(len(ids)) \
                if learning.explore and budget.open() else None

            def decide(offset: np.ndarray, a: Assessment = a, tokens: int = tokens
                       ) -> tuple[Candidates, Decision]:
                candidates = evaluate(table, a, tokens, open_, target, None,
                                      quality_offset=offset)
                return candidates, choose(candidates, target, None, tokens)

            picked = choose_learned(decide, table, a, means, sampled, target, budget.take)
            decision, explored[i] = picked.decision, picked.extra != 0
        j = column[decision.chosen.model]
        picks[i] = j
        if learner is not None:
            learner.observe(stream.tasks[i], stream.agents[i], ids[j],
                            float(stream.prior[i, j]), float(stream.scores[i, j]), i)
    share = 0.0 if budget is None or budget.total == 0 else budget.spent / budget.total
    return Replay(picks, explored, share)


# -- the sweep, in worker processes ----------------------------------------------------------------

_STREAMS: dict[str, Stream] = {}  # set before the pool forks: workers read, never pickle, them


def _replay_job(job: tuple[str, float, LearningSettings | None, int]) -> Replay:
    name, target, learning, seed = job
    return replay(_STREAMS[name], target, learning, seed)


def sweep_targets(stream: Stream) -> np.ndarray:
    """Quality targets from 'always the cheapest' to 'always the best', as the static sweep's."""
    return thresholds(stream.prior, n=100)


@dataclass(frozen=True)
class Outcomes:
    """What a router did at one target, per call of the stream: averaged over its replays."""

    quality: np.ndarray  # (n,) the chosen model's recorded score
    cost: np.ndarray  # (n,) USD
    strong: np.ndarray  # (n,) share of the replays that chose the file's dearest model
    explored: np.ndarray  # (n,) share of the replays that explored
    explore_share: float  # the largest exploration share of any replay


def outcomes(stream: Stream, replays: list[Replay], strong: int) -> Outcomes:
    rows = np.arange(len(stream))
    return Outcomes(
        np.mean([stream.scores[rows, r.picks] for r in replays], axis=0),
        np.mean([stream.costs[rows, r.picks] for r in replays], axis=0),
        np.mean([r.picks == strong for r in replays], axis=0),
        np.mean([r.explored for r in replays], axis=0),
        max(r.explore_share for r in replays))


def _curve(targets: np.ndarray, runs: list[Outcomes], rows: np.ndarray) -> list[CurvePoint]:
    return [CurvePoint(float(t), float(o.quality[rows].mean()), float(o.cost[rows].mean()),
                       float(o.strong[rows].mean())) for t, o in zip(targets, runs, strict=True)]


def _by_task(stream: Stream, targets: np.ndarray, runs: list[Outcomes], rows: np.ndarray,
             strong: int) -> dict[str, Any]:
    families = np.array(stream.agents)
    weak = 1 - strong
    out: dict[str, Any] = {}
    for fam in sorted(set(families[rows].tolist())):
        sub = rows[families[rows] == fam]
        q_weak, q_strong = stream.scores[sub, weak].mean(), stream.scores[sub, strong].mean()
        if q_strong <= q_weak:
            out[fam] = {"n": len(sub), "note": "the strong model is not better here"}
            continue
        share = [(p.strong_share, p.quality) for p in _curve(targets, runs, sub)]
        out[fam] = {"n": len(sub), "apgr": apgr(share, q_weak, q_strong),
                    "cpt50": cpt(share, q_weak, q_strong, 0.5),
                    "cpt80": cpt(share, q_weak, q_strong, 0.8)}
    return out


def _strong(stream: Stream) -> int:
    """The file's dearest model (RouteLLM's strong model)."""
    return int(np.argmax(stream.costs.mean(axis=0)))


def _metrics(stream: Stream, targets: np.ndarray, runs: list[Outcomes], rows: np.ndarray
             ) -> dict[str, Any]:
    """The static evaluation's keys over ``rows`` of the stream."""
    m = len(stream.models)
    singles = {mdl: {"quality": float(stream.scores[rows, j].mean()),
                     "cost_usd_per_query": float(stream.costs[rows, j].mean())}
               for j, mdl in enumerate(stream.models)}
    best = max(singles, key=lambda k: (singles[k]["quality"], -singles[k]["cost_usd_per_query"]))
    strong = _strong(stream)
    costs = [v["cost_usd_per_query"] for v in singles.values()]
    two = None
    if m == 2:
        two = (singles[stream.models[1 - strong]]["quality"],
               singles[stream.models[strong]]["quality"])
    out = _summary(_curve(targets, runs, rows), singles, best, (min(costs), max(costs)), two)
    if two is not None:
        out["by_task"] = _by_task(stream, targets, runs, rows, strong)
    out["best_single"] = {"model": best, **singles[best]}
    out["explore_share"] = max(o.explore_share for o in runs)
    out["explored_calls"] = float(np.mean([o.explored[rows].mean() for o in runs]))
    return out


def _learning_curve(online: Outcomes, static: Outcomes, target: float) -> list[dict[str, Any]]:
    """Quality and cost per tenth of the stream at one target, online against static."""
    out = []
    for k, part in enumerate(np.array_split(np.arange(len(online.quality)), 10)):
        entry: dict[str, Any] = {"decile": k + 1, "calls": len(part), "target": target}
        for name, o in (("online", online), ("static", static)):
            entry[name] = {"quality": float(o.quality[part].mean()),
                           "cost_usd_per_query": float(o.cost[part].mean())}
        out.append(entry)
    return out


def _interval(values: np.ndarray) -> dict[str, float]:
    lo, hi = np.quantile(values, [0.025, 0.975])
    return {"mean": float(values.mean()), "lo95": float(lo), "hi95": float(hi)}


def _paired_bootstrap(stream: Stream, targets: np.ndarray, online: list[Outcomes],
                      static: list[Outcomes], rows: np.ndarray, headline: int, seed: int,
                      resamples: int = 400) -> dict[str, Any]:
    """Online minus static over resamples of ``rows`` (the same rows for both): AIQ over the
    sweep, and quality and cost per call at the headline target."""
    rng = np.random.default_rng(seed)
    q_on, q_st = np.stack([o.quality for o in online]), np.stack([o.quality for o in static])
    c_on, c_st = np.stack([o.cost for o in online]), np.stack([o.cost for o in static])
    singles_cost = stream.costs[rows].mean(axis=0)
    lo, hi = float(singles_cost.min()), float(singles_cost.max())
    d_aiq, d_q, d_c = [], [], []
    for _ in range(resamples):
        idx = rows[rng.integers(0, len(rows), len(rows))]
        on = list(zip(c_on[:, idx].mean(axis=1).tolist(), q_on[:, idx].mean(axis=1).tolist(),
                      strict=True))
        st = list(zip(c_st[:, idx].mean(axis=1).tolist(), q_st[:, idx].mean(axis=1).tolist(),
                      strict=True))
        d_aiq.append(aiq(on, lo, hi) - aiq(st, lo, hi))
        d_q.append(q_on[headline, idx].mean() - q_st[headline, idx].mean())
        d_c.append(c_on[headline, idx].mean() - c_st[headline, idx].mean())
    return {"rows": len(rows), "aiq": _interval(np.array(d_aiq)),
            "quality_at_target": _interval(np.array(d_q)),
            "cost_usd_per_query_at_target": _interval(np.array(d_c)),
            "target": float(targets[headline])}


def evaluate_online(paths: list[Path], train_dir: Path, catalog: Catalog,
                    classifier: Classifier, *, seed: int = 0, warmup: int = 100,
                    replays: int = 3, learning: LearningSettings | None = None,
                    workers: int | None = None, limit: int | None = None,
                    progress: Progress = lambda _: None) -> dict[str, Any]:
    """Replay every file (``replays`` exploration seeds per target for the learner; the static
    classifier is deterministic) and score both after the first ``warmup`` calls; ``limit``
    keeps the first calls of each stream."""
    learning = learning or LearningSettings.from_settings(Settings())
    trained = training_rows(train_dir) if train_dir.exists() else {}
    streams = {}
    for p in paths:
        table = load_table(p)
        progress(f"{table.name}: classifier on its held-out prompts")
        stream = make_stream(table, trained, catalog, classifier, seed, limit)
        if warmup >= len(stream):
            raise DataError(f"{table.name}: --warmup {warmup} leaves none of its "
                            f"{len(stream)} held-out prompts to measure")
        streams[stream.name] = stream
    _STREAMS.clear()
    _STREAMS.update(streams)
    grid = {name: sweep_targets(s) for name, s in streams.items()}
    jobs = [(name, float(t), learn, seed * 1_000_003 + k * 101 + r)
            for name, targets in grid.items() for k, t in enumerate(targets)
            for learn, r in [(None, 0), *((learning, r) for r in range(replays))]]
    progress(f"replaying {len(jobs)} streams")
    workers = workers or os.cpu_count() or 1
    if workers > 1:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            done = iter(pool.map(_replay_job, jobs, chunksize=4))
    else:
        done = iter([_replay_job(j) for j in jobs])
    results: dict[str, Any] = {}
    for name, targets in grid.items():
        stream = streams[name]
        strong = _strong(stream)
        online, static = [], []
        for _ in targets:
            static.append(outcomes(stream, [next(done)], strong))
            online.append(outcomes(stream, [next(done) for _ in range(replays)], strong))
        after, during = np.arange(warmup, len(stream)), np.arange(0, warmup)
        on, st = _metrics(stream, targets, online, after), _metrics(stream, targets, static, after)
        # the headline target: the lowest at which the static router reaches 95% of the best
        # single model's quality after the warm-up (else the highest)
        best_q = st["best_single"]["quality"]
        headline = next((k for k, p in enumerate(st["router_curve"])
                         if p["quality"] >= 0.95 * best_q), len(targets) - 1)
        results[name] = {
            "n": len(stream), "warmup": warmup, "measured": len(after), "seed": seed,
            "replays": replays, "models": stream.models, "learning": learning.__dict__,
            **on, "static": st,
            "learning_curve": _learning_curve(online[headline], static[headline],
                                              float(targets[headline])),
            "paired_bootstrap": {
                "after_warmup": _paired_bootstrap(stream, targets, online, static, after,
                                                  headline, seed),
                "warmup": _paired_bootstrap(stream, targets, online, static, during,
                                            headline, seed)},
        }
    return results


def summary_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(file, metric, online, static) for the terminal."""
    rows = []
    for name, r in results.items():
        for f in FRACTIONS:
            a, b = r["cost_fraction_at_quality"][f], r["static"]["cost_fraction_at_quality"][f]
            rows.append((name, f"cost at {f} of best", _pct(a), _pct(b)))
        rows.append((name, "AIQ", f"{r['aiq']:.4f}", f"{r['static']['aiq']:.4f}"))
        if "apgr" in r:
            rows.append((name, "APGR", f"{r['apgr']:.3f}", f"{r['static']['apgr']:.3f}"))
            rows.append((name, "CPT(50%)", _pct(r["cpt50"]), _pct(r["static"]["cpt50"])))
    return rows


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def plot_online(results: dict[str, Any], out_dir: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(results), figsize=(6.5 * len(results), 9), squeeze=False)
    for k, (name, r) in enumerate(results.items()):
        ax = axes[0][k]
        for label, data in (("online", r), ("static", r["static"])):
            pts = sorted((p["cost_usd_per_query"], p["quality"]) for p in data["router_curve"])
            ax.plot([c for c, _ in pts], [q for _, q in pts],
                    label=f"{label} (AIQ {data['aiq']:.3f})",
                    linewidth=2.2 if label == "online" else 1.2,
                    linestyle="-" if label == "online" else "--")
        b = r["best_single"]
        ax.scatter(b["cost_usd_per_query"], b["quality"], marker="*", s=90, color="black",
                   label=f"best single ({b['model']})")
        ax.set_xscale("log")
        ax.set_title(f"{name}: after {r['warmup']} warm-up calls ({r['measured']} measured)")
        ax.set_xlabel("cost per query (USD)")
        ax.set_ylabel("mean quality")
        ax.legend(fontsize=7)
        ax = axes[1][k]
        curve = r["learning_curve"]
        xs = [c["decile"] for c in curve]
        for label in ("online", "static"):
            ax.plot(xs, [c[label]["quality"] for c in curve], marker="o", label=f"{label} quality")
        ax2 = ax.twinx()
        for label in ("online", "static"):
            ax2.plot(xs, [c[label]["cost_usd_per_query"] for c in curve], linestyle=":",
                     marker="x", label=f"{label} cost")
        ax.set_title(f"learning curve at target {curve[0]['target']:.3f}")
        ax.set_xlabel("tenth of the stream")
        ax.set_ylabel("quality")
        ax2.set_ylabel("cost per query (USD)")
        ax.legend(loc="lower left", fontsize=7)
        ax2.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    path = out_dir / "online.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


__all__ = ["LearningSettings", "evaluate_online", "make_stream", "plot_online", "replay"]
