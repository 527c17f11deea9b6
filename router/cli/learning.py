"""``router learning show``: what the learner has learned from outcomes, read from the store.

Per (level, scope, model): how many outcomes, the prior, the posterior of the logit offset the
learner adds to the classifier's quality, and what that means in quality terms: the learned
quality of a call the classifier rates 0.5 (sigmoid(mean)), with a 90% interval.
"""

from __future__ import annotations

import argparse
import json
import sys

from router.settings import Settings

_Z90 = 1.6448536269514722  # the 95th percentile of the standard normal


def add_parser(sub: argparse._SubParsersAction) -> None:
    learning = sub.add_parser("learning", help="what the router learned from outcomes")
    commands = learning.add_subparsers(dest="learning_command", required=True)
    show = commands.add_parser(
        "show", help="the learned quality offsets per task type / agent and model",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    show.add_argument("--task-type", help="only this task type's offsets")
    show.add_argument("--agent", help="only this agent's offsets")
    show.add_argument("--database-url", default=None,
                      help="the store (default: $ROUTER_DATABASE_URL, else the local SQLite "
                           "file)")
    show.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from router.core.errors import StoreUnavailable
    from router.core.learning import AGENT, TASK, Learner, sigmoid
    from router.store.sql import SqlStore

    try:
        settings = Settings.from_env(database_url=args.database_url)
        learner = Learner(prior_sd=settings.learning_prior_sd,
                          max_precision=settings.learning_max_precision,
                          min_agent_count=settings.learning_min_agent_count)
        store = SqlStore(settings.database_url, pool_size=1)
        try:
            learner.load(store.load_learning())
        finally:
            store.close()
    except (StoreUnavailable, ValueError, sa.exc.SQLAlchemyError) as exc:
        print(f"router learning show: {exc}", file=sys.stderr)
        return 2
    wanted = [(TASK, args.task_type), (AGENT, args.agent)]
    if args.task_type is None and args.agent is None:
        posteriors = learner.posteriors()
    else:
        posteriors = [p for level, scope in wanted if scope is not None
                      for p in learner.posteriors(level, scope)]
    prior_sd = settings.learning_prior_sd
    rows = [{"level": p.level, "scope": p.scope, "model": p.model, "observations": p.count,
             "prior_mean": 0.0, "prior_sd": prior_sd, "mean": round(p.mean, 6),
             "sd": round(p.sd, 6), "quality_at_half": round(sigmoid(p.mean), 6),
             "quality_at_half_90": [round(sigmoid(p.mean - _Z90 * p.sd), 6),
                                    round(sigmoid(p.mean + _Z90 * p.sd), 6)],
             "counts": p.level == TASK or p.count >= learner.min_agent_count,
             "updated_us": p.updated_us} for p in posteriors]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Learned quality offsets ({len(rows)}; logit scale, prior "
                        f"N(0, {prior_sd:g}); an agent's counts from "
                        f"{learner.min_agent_count} outcomes)")
    for col in ("level", "scope", "model", "outcomes", "prior", "mean", "sd",
                "quality at 0.5", "90%"):
        table.add_column(col, justify="left" if col in ("level", "scope", "model") else "right")
    for r in rows:
        interval = r["quality_at_half_90"]
        assert isinstance(interval, list)
        low, high = interval
        table.add_row(str(r["level"]), str(r["scope"]) or "(none)", str(r["model"]),
                      f"{r['observations']:,}" + ("" if r["counts"] else " (not yet)"),
                      f"N(0, {prior_sd:g})", f"{r['mean']:+.3f}", f"{r['sd']:.3f}",
                      f"{r['quality_at_half']:.3f}", f"{low:.2f}-{high:.2f}")
    Console().print(table)
    return 0
