"""``router``: the command line over the same core the server runs.

    router serve [--address HOST:PORT] [--database-url URL] ...   run the gRPC service
    router train [--data DIR] [--out FILE] [--readme FILE]          train the complexity classifier
    router eval --data FILE.csv [--data ...] --out DIR              offline routing evaluation
    router eval --store URL [--since T] [--until T] [--baseline M] --out DIR
                                                                    savings on recorded traffic
    router budgets check FILE | list | status ID | pause/resume --agent A ...
                                                                    budgets as code and over the API
    router report spend --since D --until D [--group-by K,...] [--bucket B]
    router report chargeback --period 2026-11 [--mode showback]    spend reports, chargeback
    router anomalies detect | list | watch                          spend anomalies
    router simulate [--scenario small|default] [--days N] [--score] drive a server with traffic
    router models [--catalog FILE]                                  show the catalog with prices
    router settings                                                 list settings and defaults
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence

from router import cli_anomalies, cli_budgets, cli_report, simulate
from router.settings import ROOT, Settings

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "routing"


def _serve_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the gRPC service")
    for f in dataclasses.fields(Settings):
        flag = "--" + f.name.replace("_", "-")
        if str(f.type) == "bool":
            p.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction,
                           default=None, help=f"{f.metadata['help']} (env "
                           f"ROUTER_{f.name.upper()}, default {f.default})")
            continue
        kind = {"int": int, "float": float}.get(str(f.type), str)
        p.add_argument(flag, dest=f.name, type=kind, default=None,
                       help=f"{f.metadata['help']} (env ROUTER_{f.name.upper()}, "
                            f"default {f.default})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="router", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_parser(sub)

    train = sub.add_parser("train", help="train the complexity classifier on routing outcomes")
    train.add_argument("--data", default=str(DEFAULT_DATA),
                       help="folder with *_train.csv, routeprofile_tokens.csv, ... "
                            f"(default {DEFAULT_DATA})")
    train.add_argument("--out", default=str(ROOT / "models" / "complexity.npz"),
                       help="artifact to write")
    train.add_argument("--readme", default=str(ROOT / "models" / "README.md"),
                       help="model card whose metrics section is rewritten ('' to skip)")

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
    ev.add_argument("--out", required=True, help="folder for metrics.json and cost_quality.png")
    ev.add_argument("--train-data", default=str(DEFAULT_DATA),
                    help="the shared training data (its training rows are never evaluated and "
                         "train the baselines)")
    ev.add_argument("--catalog", default=Settings().catalog_path)
    ev.add_argument("--classifier", default=Settings().classifier_path)

    models = sub.add_parser("models", help="show the model catalog")
    models.add_argument("--catalog", default=Settings().catalog_path)

    sub.add_parser("settings", help="list every setting with its default")
    cli_budgets.add_parser(sub)
    cli_report.add_parser(sub)
    cli_anomalies.add_parser(sub)
    simulate.add_parser(sub)

    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "train":
        from router.training.train import run

        metrics = run(args.data, args.out, args.readme or None)
        print(metrics.get("summary", metrics) if isinstance(metrics, dict) else metrics)
        return 0
    if args.command == "eval":
        return _eval(args)
    if args.command == "models":
        return _models(args.catalog)
    if args.command == "simulate":
        return simulate.run(args)
    if args.command == "anomalies":
        return cli_anomalies.run(args)
    if args.command == "report":
        return cli_report.run(args)
    if args.command == "budgets":
        return cli_budgets.run(args)
    if args.command == "settings":
        for env, help_text, default in Settings.describe():
            print(f"{env:36} {help_text} [default: {default}]")
        return 0
    parser.error(f"unknown command {args.command}")
    return 2


def _serve(args: argparse.Namespace) -> int:
    from router.core.catalog import CatalogError
    from router.core.errors import StoreUnavailable
    from router.logs import configure
    from router.server import serve

    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(Settings)}
    try:
        settings = Settings.from_env(**overrides)
        configure(settings.log_level, settings.log_format)
        serve(settings)
    except (CatalogError, StoreUnavailable, ValueError, OSError) as exc:
        print(f"router serve: {exc}", file=sys.stderr)
        return 2
    return 0


def _eval(args: argparse.Namespace) -> int:
    if args.store:
        return _eval_store(args)
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
                      f"{line.calls:,}", f"{line.actual / 1e9:,.4f}",
                      f"{line.counterfactual / 1e9:,.4f}", f"{line.savings / 1e9:,.4f}",
                      f"{100 * line.savings_ratio:.1f}")
    Console().print(table)
    print(f"wrote {out / 'savings.json'}")
    return 0


def _models(path: str) -> int:
    from rich.console import Console
    from rich.table import Table

    from router.core.catalog import CatalogError, load_catalog
    from router.core.money import Money

    try:
        catalog = load_catalog(path)
    except CatalogError as exc:
        print(f"router models: {exc}", file=sys.stderr)
        return 2
    table = Table(title=f"{len(catalog)} models, prices in {catalog.currency} per 1M tokens")
    for col in ("id", "provider", "input", "cached", "output", "context", "capabilities"):
        table.add_column(col)
    for m in sorted(catalog, key=lambda m: (m.prices.input + m.prices.output, m.id)):
        table.add_row(
            m.id + ("" if m.enabled else " (disabled)"), m.provider,
            *(f"{Money(n, '').to_decimal().normalize():f}"
              for n in (m.prices.input, m.prices.cached_input, m.prices.output)),
            f"{m.context_window:,}", ", ".join(sorted(m.capabilities)),
        )
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
