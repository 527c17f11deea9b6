"""``router eval``: offline routing evaluation on outcome files, or savings on recorded traffic."""

from __future__ import annotations

import argparse
import sys

from router.cli.train import DEFAULT_DATA
from router.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser("eval", help="evaluate routing on outcome data (cost vs quality)")
    source = ev.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", action="append",
                        help="wide outcome CSV (id, prompt, score__<model>, "
                             "[cost_usd__<model>]); repeatable")
    source.add_argument("--store", help="database URL of recorded traffic: report savings")
    ev.add_argument("--since", help="with --store: ISO time, inclusive (default: all)")
    ev.add_argument("--until", help="with --store: ISO time, exclusive (default: now)")
    ev.add_argument("--baseline", default="",
                    help="with --store: model to re-price at (default: the catalog's default)")
    ev.add_argument("--online", action="store_true",
                    help="with --data: replay each file's held-out prompts through the policy "
                         "and the learner, which learns from each chosen model's outcome "
                         "(prequential), against the static classifier on the same stream")
    ev.add_argument("--seed", type=int, default=0,
                    help="with --online: the stream's order and the exploration's draws")
    ev.add_argument("--warmup", type=int, default=100,
                    help="with --online: calls at the start of each stream left out of the "
                         "metrics (reported apart)")
    ev.add_argument("--replays", type=int, default=3,
                    help="with --online: replays of each target with other exploration draws, "
                         "averaged")
    ev.add_argument("--workers", type=int, default=0,
                    help="with --online: processes replaying the sweep (default: one per core)")
    ev.add_argument("--out", required=True, help="folder for metrics.json and cost_quality.png")
    ev.add_argument("--train-data", default=str(DEFAULT_DATA),
                    help="the shared training data (its training rows are never evaluated and "
                         "train the baselines)")
    ev.add_argument("--catalog", default=Settings().catalog_path)
    ev.add_argument("--classifier", default=Settings().classifier_path)


def run(args: argparse.Namespace) -> int:
    if args.store:
        if args.online:
            print("router eval: --online replays outcome files: use it with --data",
                  file=sys.stderr)
            return 2
        return _eval_store(args)
    if args.online:
        return _eval_online(args)
    from pathlib import Path

    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from router.core.catalog import CatalogError, load_catalog
    from router.core.classifier import Classifier
    from router.evaluation.data import DataError
    from router.evaluation.offline import evaluate_files
    from router.evaluation.report import plot, print_table, write_metrics

    console = Console(stderr=True)
    try:
        catalog = load_catalog(args.catalog)
        classifier = Classifier.load(args.classifier)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=console, transient=True) as bar:
            task = bar.add_task("loading", total=None)
            results = evaluate_files([Path(p) for p in args.data], Path(args.train_data),
                                     catalog, classifier,
                                     progress=lambda text: bar.update(task, description=text))
    except (DataError, CatalogError, ValueError) as exc:
        print(f"router eval: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    write_metrics(results, out)
    plot(results, out)
    print_table(results)
    print(f"wrote {out / 'metrics.json'} and {out / 'cost_quality.png'}")
    return 0


def _eval_online(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from router.core.catalog import CatalogError, load_catalog
    from router.core.classifier import Classifier
    from router.evaluation.data import DataError
    from router.evaluation.online import evaluate_online, plot_online, summary_rows
    from router.evaluation.report import write_metrics

    console = Console(stderr=True)
    if args.warmup < 0 or args.replays < 1:
        print("router eval: --warmup must be >= 0 and --replays >= 1", file=sys.stderr)
        return 2
    try:
        catalog = load_catalog(args.catalog)
        classifier = Classifier.load(args.classifier)
        with console.status("loading") as status:
            results = evaluate_online([Path(p) for p in args.data], Path(args.train_data),
                                      catalog, classifier, seed=args.seed, warmup=args.warmup,
                                      workers=args.workers or None, replays=args.replays,
                                      progress=lambda text: status.update(text))
    except (DataError, CatalogError, ValueError) as exc:
        print(f"router eval: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    write_metrics(results, out)
    plot_online(results, out)
    table = Table(title=f"Online (learning) against static, after the warm-up (seed {args.seed})")
    for col in ("file", "metric", "online", "static"):
        table.add_column(col, justify="left" if col in ("file", "metric") else "right")
    for row in summary_rows(results):
        table.add_row(*row)
    Console().print(table)
    print(f"wrote {out / 'metrics.json'} and {out / 'online.png'}")
    return 0


def _iso_us(text: str | None, flag: str) -> int | None:
    from datetime import UTC, datetime

    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{flag}: not an ISO date or time: {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1_000_000)


def _eval_store(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from router.core.catalog import CatalogError, load_catalog
    from router.core.errors import InvalidRequest, StoreUnavailable
    from router.core.money import units
    from router.core.savings import SavingsLine
    from router.store.sql import SqlStore

    try:
        catalog = load_catalog(args.catalog)
        since, until = _iso_us(args.since, "--since"), _iso_us(args.until, "--until")
        baseline = args.baseline or catalog.default_model
        if catalog.find(baseline) is None:
            raise InvalidRequest.of("--baseline", f"unknown model {baseline!r}")
        store = SqlStore(args.store)
        try:
            from router.core.savings import savings

            report = savings(store.usage_groups(since, until), catalog, baseline)
        finally:
            store.close()
    except (CatalogError, StoreUnavailable, InvalidRequest, ValueError) as exc:
        print(f"router eval: {exc}", file=sys.stderr)
        return 2

    def row(line: SavingsLine) -> dict[str, object]:
        return {"team": line.team, "agent": line.agent, "calls": line.calls,
                "actual_cost_nanos": line.actual, "counterfactual_cost_nanos": line.counterfactual,
                "savings_nanos": line.savings, "savings_ratio": round(line.savings_ratio, 6)}

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {"baseline_model": report.baseline, "currency": report.currency,
              "since": args.since, "until": args.until, "total": row(report.total),
              "by_team": [row(s) for s in report.by_team],
              "by_agent": [row(s) for s in report.by_agent]}
    (out / "savings.json").write_text(json.dumps(result, indent=2) + "\n")
    table = Table(title=f"Savings against {report.baseline} ({report.currency})")
    for col in ("team", "agent", "calls", "actual", "if all on baseline", "saved", "%"):
        table.add_column(col, justify="left" if col in ("team", "agent") else "right")
    for line in (*report.by_agent, report.total):
        table.add_row(line.team or ("TOTAL" if line is report.total else ""), line.agent,
                      f"{line.calls:,}", units(line.actual), units(line.counterfactual),
                      units(line.savings),
                      f"{100 * line.savings_ratio:.1f}")
    Console().print(table)
    print(f"wrote {out / 'savings.json'}")
    return 0


