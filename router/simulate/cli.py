"""``router simulate``: the command line (the description is the package's docstring)."""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import grpc

from router import client
from router.client import DEFAULT_ADDRESS
from router.core.anomalies import Kind
from router.core.money import to_nanos, units
from router.core.timeunits import HOUR_US, SECOND_US
from router.simulate.scenario import MAX_DAYS, SCENARIOS, scenario
from router.simulate.seeds import SeedScore, detected, run_seeds, summary
from router.simulate.simulation import simulate
from router.simulate.truth import KINDS, Anomaly, Truth, score


def _days(text: str) -> int:
    days = int(text)
    if not 2 <= days <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"must be between 2 and {MAX_DAYS}")
    return days


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _hour(text: str) -> int:
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError("an ISO time such as 2026-12-01T20:00Z") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    at_us = round(at.timestamp() * SECOND_US)
    if at_us % HOUR_US:
        raise argparse.ArgumentTypeError("must be the top of an hour")
    return at_us


def add_parser(sub: argparse._SubParsersAction) -> None:
    from router import simulate as package  # its docstring describes the command

    p = sub.add_parser("simulate", help="drive a running server with realistic traffic and "
                                        "injected anomalies",
                       description=package.__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--address", default=client.default_address(),
                   help=f"the router to drive (default $ROUTER_ADDRESS, else {DEFAULT_ADDRESS})")
    p.add_argument("--days", type=_days, default=14,
                   help=f"days of history ending now, 2-{MAX_DAYS} (default 14)")
    p.add_argument("--seed", type=int, default=1, help="seed of every random draw (default 1)")
    p.add_argument("--scenario", choices=sorted(SCENARIOS), default="default",
                   help="; ".join(f"{sc.name}: {sc.teams} teams, {sc.agents} agents"
                                  for sc in SCENARIOS.values()) + " (default default)")
    p.add_argument("--concurrency", type=_positive, default=32,
                   help="RPCs in flight (default 32)")
    p.add_argument("--truth", metavar="PATH", help="write the ground truth JSON here")
    p.add_argument("--no-anomalies", action="store_true", help="ordinary traffic only")
    p.add_argument("--score", action="store_true",
                   help="then run the server's detectors (DetectAnomalies, needs "
                        "$ROUTER_ADMIN_TOKEN) and print their precision and recall per kind")
    p.add_argument("--seeds", type=_positive, metavar="N",
                   help="with --score: score N seeds (--seed, --seed + 1, ...), each against "
                        "a fresh embedded server on a temporary SQLite file (not --address), "
                        "and print the minimum and mean precision and recall per kind")
    p.add_argument("--jobs", type=_positive, default=1,
                   help="with --seeds: seeds run at once, in as many worker processes "
                        "(default 1)")
    p.add_argument("--end", type=_hour, metavar="UTC",
                   help="with --seeds: the end of every history, an hour such as "
                        "2026-12-01T20:00Z, where the embedded servers' clocks stand "
                        "(default: the top of the current hour)")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.table import Table

    console = Console()
    if args.seeds is not None or args.end is not None:
        return _run_seeds(console, args)
    sc = scenario(args.scenario, days=args.days)
    started = time.monotonic()
    try:
        with Progress(TextColumn("[bold]{task.description:<20}"), BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                      console=console, transient=False) as bar:
            task = bar.add_task("connecting", total=None)

            def tick(done: int, total: int, phase: str) -> None:
                bar.update(task, completed=done, total=total, description=phase)

            truth = simulate(args.address, sc, seed=args.seed, concurrency=args.concurrency,
                             inject=not args.no_anomalies, progress=tick)
    except (ConnectionError, grpc.RpcError, RuntimeError, ValueError) as exc:
        console.print(f"[red]router simulate: {exc}[/red]")
        return 1
    elapsed = time.monotonic() - started

    s = truth.stats
    table = Table(title=f"router simulate: {sc.name}, {sc.days} days, seed {args.seed}")
    for col in ("calls", "new", "replayed", "conflicts", "errors", "routes", "seconds",
                "calls/s"):
        table.add_column(col, justify="right")
    table.add_row(f"{truth.calls:,}", f"{s.get('new', 0):,}", f"{s.get('replayed', 0):,}",
                  f"{s.get('conflict', 0):,}", f"{s.get('error', 0):,}",
                  f"{s.get('routes', 0):,}", f"{elapsed:.1f}",
                  f"{truth.calls / max(elapsed, 1e-9):,.0f}")
    console.print(table)
    spend = Table(title="spend by team (this run's calls)")
    spend.add_column("team")
    spend.add_column("agents", justify="right")
    spend.add_column("spend", justify="right")
    agents = Counter(a["team"] for a in truth.agents)
    for team, usd in truth.spend_by_team.items():
        spend.add_row(team, str(agents.get(team, 0)), _money(usd))
    spend.add_row("[bold]total", str(len(truth.agents)),
                  f"[bold]{units(sum(map(to_nanos, truth.spend_by_team.values())))}")
    console.print(spend)
    if truth.anomalies:
        found = Table(title="injected anomalies (ground truth)")
        for col in ("kind", "team", "agent / task", "UTC", "what"):
            found.add_column(col)
        for a in truth.anomalies:
            found.add_row(a.kind, a.team, a.task_id or a.agent,
                          f"{_utc(a.start_us)} to {_utc(a.end_us)}", _summary(a))
        console.print(found)
    if s.get("conflict"):
        console.print(f"[yellow]{s['conflict']:,} usage ids were already recorded with other "
                      "values (this seed was run in another hour?): use another --seed for a "
                      "new history[/yellow]")
    if s.get("route_refused"):
        console.print(f"[yellow]{s['route_refused']:,} Route calls were refused (budgets or "
                      "pauses?); those calls were reported without a decision[/yellow]")
    if args.truth:
        truth.write(args.truth)
        console.print(f"ground truth written to {args.truth}")
    if s.get("error"):
        console.print(f"[red]{s['error']:,} calls failed[/red]")
        return 1
    if args.score:
        return _score(console, args.address, truth)
    return 0


def _score(console: Any, address: str, truth: Truth) -> int:
    """Ask the server to detect now, then score everything it has found against the truth."""
    from rich.table import Table

    token = os.environ.get("ROUTER_ADMIN_TOKEN", "")
    try:
        found = detected(address, token)
    except grpc.RpcError as err:
        console.print(f"[red]router simulate --score: {err.code().name}: "
                      f"{err.details()}[/red]")
        return 1
    scores = score(truth, found)
    table = Table(title="detectors against the injected anomalies")
    for col in ("kind", "precision", "recall", "tp", "fp", "fn"):
        table.add_column(col, justify="left" if col == "kind" else "right")
    for kind, v in scores.items():
        table.add_row(kind, f"{v['precision']:.2f}", f"{v['recall']:.2f}", str(v["tp"]),
                      str(v["fp"]), str(v["fn"]))
    console.print(table)
    return 0


def _run_seeds(console: Any, args: argparse.Namespace) -> int:
    """--seeds: every seed against its own embedded server; a line per seed, then the table."""
    from rich.table import Table

    if args.seeds is None or not args.score:
        console.print("[red]router simulate: --seeds N needs --score, and --end needs "
                      "--seeds N[/red]")
        return 2
    if args.truth:
        console.print("[red]router simulate: --truth writes one seed's truth; not with "
                      "--seeds[/red]")
        return 2
    end_us = args.end if args.end is not None else time.time_ns() // 1000 // HOUR_US * HOUR_US
    seeds = range(args.seed, args.seed + args.seeds)
    started = time.monotonic()
    console.print(f"router simulate: {args.scenario}, {args.days} days to {_utc(end_us)} UTC, "
                  f"seeds {seeds.start}-{seeds.stop - 1}, {args.jobs} at a time")

    def done(r: SeedScore) -> None:
        missed = [k for k in KINDS if r.scores[k]["fn"]]
        extra = [k for k in r.scores if k != "all" and r.scores[k]["fp"]]
        console.print(f"  seed {r.seed:>3}: {r.truth.calls:,} calls, {r.seconds:.1f} s, "
                      f"{len(r.truth.anomalies)} injected, {len(r.found)} stored, "
                      f"missed {', '.join(missed) or 'none'}, "
                      f"false alarms {', '.join(extra) or 'none'}", soft_wrap=True)

    try:
        results = run_seeds(args.scenario, args.days, seeds, end_us,
                            inject=not args.no_anomalies, concurrency=args.concurrency,
                            workers=args.jobs, done=done)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        console.print(f"[red]router simulate: {exc}[/red]")
        return 1
    elapsed = time.monotonic() - started
    table = Table(title=f"detectors over {len(results)} seeds of {args.scenario}, "
                        f"{args.days} days ({elapsed:.0f} s, "
                        f"{statistics.fmean(r.seconds for r in results):.1f} s a seed)")
    table.add_column("kind", no_wrap=True)
    for col in ("precision\nmin", "\nmean", "recall\nmin", "\nmean", "\ntp", "\nfp", "\nfn"):
        table.add_column(col, justify="right", no_wrap=True)
    for kind, v in summary(results).items():
        table.add_row(kind, f"{v['precision_min']:.2f}", f"{v['precision_mean']:.2f}",
                      f"{v['recall_min']:.2f}", f"{v['recall_mean']:.2f}", str(v["tp"]),
                      str(v["fp"]), str(v["fn"]))
    console.print(table)
    return 0


def _summary(a: Anomaly) -> str:
    d = a.detail
    if a.kind == Kind.SPEND_SPIKE:
        return (f"{d['calls']} calls, {_money(d['spend_usd'])} in the hour: {d['ratio']:.0f}x its "
                "busiest usual hour")
    if a.kind == Kind.NEW_AGENT_SPEND:
        return (f"{d['calls']} calls, {_money(d['spend_usd'])}: {d['ratio']:.0f}x an average "
                "agent's day")
    if a.kind == Kind.COST_PER_CALL_RISE:
        return f"{d['ratio']:.1f}x cost per call over {d['calls']} calls"
    if a.kind == Kind.RETRY_LOOP:
        return f"{d['calls']} calls, {d['failures']} failed"
    return (f"output {d['output_ratio']:.1f}x and cost {d['cost_ratio']:.1f}x the predicted, "
            f"{d['routed']} calls")


def _money(amount: float) -> str:
    """An amount of the truth (a float of whole units, as the JSON keeps it) shown as the other
    commands show money: read back into nanos through its decimal text, then ``units``."""
    return units(to_nanos(amount))


def _utc(t_us: int) -> str:
    return datetime.fromtimestamp(t_us / SECOND_US, UTC).strftime("%m-%d %H:%M")
