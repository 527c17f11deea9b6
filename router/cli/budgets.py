"""``router budgets``: check a budgets file, and list, inspect, pause and resume over the API.

    router budgets check examples/budgets.toml
    router budgets list   [--address 127.0.0.1:50051]
    router budgets status finance-monthly
    router budgets forecast finance-monthly   [--horizon-days 30: for a total budget]
    router budgets pause --agent reconciler --reason "runaway loop"   # needs ROUTER_ADMIN_TOKEN
    router budgets resume --agent reconciler                          # needs ROUTER_ADMIN_TOKEN

Budgets come from the server's budgets file (ROUTER_BUDGETS_PATH) and SetBudget. Pause and
resume are admin calls: the server must be started with ROUTER_ADMIN_TOKEN, and the command sends
the same token (--token, default $ROUTER_ADMIN_TOKEN, else $ROUTER_API_KEY; a team key with the
'budgets' permission may pause and resume inside its team). list and status send --token too
(default $ROUTER_API_KEY, else $ROUTER_ADMIN_TOKEN): a server with API keys requires one.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from router.cli import common
from router.core.budgets import SCOPE_KEYS, Scope
from router.core.money import units

_ADMIN = (" An admin call: the server must be started with ROUTER_ADMIN_TOKEN set, and this "
          "command must send the same token (--token, default $ROUTER_ADMIN_TOKEN).")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("budgets", help="check budget files; list, inspect, pause over the API",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = p.add_subparsers(dest="verb", required=True)
    check = verbs.add_parser("check", help="validate a budgets file and show its rules")
    check.add_argument("path")
    for name, helptext in (("list", "budgets in force and paused scopes"),
                           ("status", "a budget's current window, with its forecast"),
                           ("forecast", "where a budget's window will close, and when it "
                                        "would run out"),
                           ("pause", "stop routing for a scope"),
                           ("resume", "resume a paused scope")):
        admin = name in ("pause", "resume")
        v = verbs.add_parser(name, help=helptext + (" (admin token)" if admin else ""),
                             description=helptext.capitalize() + "." + (_ADMIN if admin else ""))
        common.add_server_options(v, admin=admin)
        if name in ("status", "forecast"):
            v.add_argument("id")
        if name == "forecast":
            v.add_argument("--horizon-days", type=int, default=0,
                           help="how far ahead to forecast a total budget (default 30)")
        if name in ("pause", "resume"):
            for key in SCOPE_KEYS:
                v.add_argument(f"--{key.replace('_', '-')}", dest=key, default="")
        if name == "pause":
            v.add_argument("--reason", default="")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console()
    if args.verb == "check":
        return _check(console, args.path)
    import grpc

    from router import v1 as pb

    try:
        router = common.client(args)
    except common.UsageError as exc:
        return common.usage_failed(args.prog, exc)
    with router:
        try:
            if args.verb == "list":
                _list(console, router.ListBudgets(pb.ListBudgetsRequest(), timeout=10))
            elif args.verb == "status":
                _status(console, router.GetBudgetStatus(pb.GetBudgetStatusRequest(id=args.id),
                                                      timeout=10))
            elif args.verb == "forecast":
                f = router.ForecastBudget(pb.ForecastBudgetRequest(
                    budget_id=args.id, horizon_seconds=args.horizon_days * 86_400), timeout=10)
                console.print(f"[bold]{f.budget_id}[/] window {f.window_key}")
                _forecast(console, f)
            else:
                scope = pb.BudgetScope(**{k: getattr(args, k) for k in SCOPE_KEYS})
                if args.verb == "pause":
                    router.PauseScope(pb.PauseScopeRequest(scope=scope, reason=args.reason),
                                      timeout=10)
                    console.print("paused")
                else:
                    was = router.ResumeScope(pb.ResumeScopeRequest(scope=scope),
                                             timeout=10).was_paused
                    console.print("resumed" if was else "was not paused")
        except grpc.RpcError as err:
            return common.rpc_failed(args.prog, err)
    return 0


def _check(console: Any, path: str) -> int:
    from rich.table import Table

    from router.core.budgets import BudgetError, load_budgets

    try:
        rules = load_budgets(path)
    except BudgetError as exc:
        print(f"router budgets check: {exc}", file=sys.stderr)
        return 2
    table = Table(title=f"{path}: {len(rules)} budgets")
    for col in ("id", "scope", "limit", "window", "ladder", "when exhausted"):
        table.add_column(col)
    for r in rules:
        limit = " + ".join(x for x in (
            units(r.limit) if r.limit is not None else "",
            f"{r.limit_tokens:,} tokens" if r.limit_tokens is not None else "") if x)
        ladder = ", ".join(f"{name} {v:.0%}" for name, v in (
            ("alert", r.alert_at), ("downgrade", r.downgrade_at), ("throttle", r.throttle_at))
            if v is not None)
        table.add_row(r.id, r.scope.describe(), limit, f"{r.window.value} ({r.timezone})",
                      ladder or "-", r.on_exhausted.value)
    console.print(table)
    return 0


def _money(m: Any) -> str:
    return f"{units(m.nanos)} {m.currency_code}"


def _list(console: Any, resp: Any) -> None:
    from rich.table import Table

    if not resp.budgets:
        print("no budgets in force: the server reads them from its budgets file "
              "(ROUTER_BUDGETS_PATH) and from SetBudget", file=sys.stderr)
    table = Table(title="budgets")
    table.add_column("id", no_wrap=True)  # whole: what `budgets status` takes
    for col in ("source", "scope", "limit"):
        table.add_column(col, overflow="fold")
    table.add_column("window", no_wrap=True)
    for b in resp.budgets:
        scope = _describe(b.scope)
        limit = " + ".join(x for x in (_money(b.limit) if b.HasField("limit") else "",
                                       f"{b.limit_tokens:,} tokens" if b.limit_tokens else "")
                           if x)
        table.add_row(b.id, "file" if b.source == 1 else "api", scope, limit,
                      f"{_window_name(b.window)}\n{b.time_zone}")
    if resp.budgets:
        console.print(table)
    for p in resp.paused:  # a reason is printed as written, not as rich markup
        console.print(f"paused: {_describe(p.scope)} since {p.paused_at.ToJsonString()}"
                      + (f" ({p.reason})" if p.reason else ""), markup=False, highlight=False,
                      soft_wrap=True)


def _status(console: Any, s: Any) -> None:
    console.print(f"[bold]{s.budget_id}[/] window {s.window_key}, state "
                  f"{_state_name(s.state)}, {s.used_fraction:.1%} used")
    if s.HasField("limit"):
        console.print(f"  limit {_money(s.limit)}: spent {_money(s.spent)}, held "
                      f"{_money(s.held)}, remaining {_money(s.remaining)}")
    if s.limit_tokens:
        console.print(f"  tokens {s.limit_tokens:,}: spent {s.tokens_spent:,}, held "
                      f"{s.tokens_held:,}, remaining {s.tokens_remaining:,}")
    if s.HasField("window_end"):
        console.print(f"  resets at {s.window_end.ToJsonString()}")
    if s.HasField("forecast"):
        _forecast(console, s.forecast)


def _forecast(console: Any, f: Any) -> None:
    from router import v1 as pb

    method = pb.ForecastMethod.Name(f.method).removeprefix("FORECAST_METHOD_").lower()
    console.print(f"  forecast at {f.forecast_end.ToJsonString()}: {_money(f.projected_spend)}, "
                  f"{f.projected_tokens:,} tokens ({f.projected_fraction:.1%} of the limit; "
                  f"{method}, {f.history_hours} h of history; now "
                  f"{_money(f.spend_per_hour)} and {f.tokens_per_hour:,} tokens an hour)"
                  + (" [bold red]alert[/]" if f.alert else ""))
    console.print("  runs out at " + f.run_out_at.ToJsonString() if f.HasField("run_out_at")
                  else "  does not run out in the window")


def _fields(scope: Any) -> dict[str, str]:
    return {k: getattr(scope, k) for k in SCOPE_KEYS if getattr(scope, k)}


def _describe(scope: Any) -> str:
    """A BudgetScope as the budgets file's rules describe theirs: "team=finance, agent=bot"."""
    return Scope(**_fields(scope)).describe()


def _window_name(value: int) -> str:
    from router import v1 as pb
    return pb.BudgetWindow.Name(value).removeprefix("BUDGET_WINDOW_").lower()


def _state_name(value: int) -> str:
    from router import v1 as pb
    return pb.BudgetState.Name(value).removeprefix("BUDGET_STATE_").lower()
