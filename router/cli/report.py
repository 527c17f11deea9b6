"""``router report``: spend by any keys and period, and chargeback / showback, as a table, CSV or
JSON, from a running service (QuerySpend, ListBudgets); the FOCUS export (ListFocusCharges).

    router report spend --since 2026-11-01 --until 2026-12-01 --group-by team,model --bucket month
    router report chargeback --period 2026-11 --mode chargeback \\
        --shared-costs examples/shared_costs.toml --format csv > chargeback-2026-11.csv
    router report focus --period 2026-11 [--format csv|parquet] [--out FILE]

All read spend, so a server with API keys needs one (--token, default $ROUTER_API_KEY, else
$ROUTER_ADMIN_TOKEN); a team's key or reader key sees its team's spend only.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from router.cli import common, focus
from router.core import tomlfile
from router.core.money import MoneyError, to_nanos, units
from router.core.spend import DIMENSIONS, SharedCost, SpendRow, chargeback


class ReportError(ValueError):
    pass


# The value columns of a spend record, in order (CSV and JSON carry them all by default), and the
# few the table shows unless --columns names others: a wider table than the terminal is no table.
SPEND_COLUMNS = ("calls", "input_tokens", "cached_input_tokens", "output_tokens",
                 "reasoning_tokens", "cache_write_tokens", "cost_tokens", "cost_tools",
                 "cost_compute",
                 "cost_human_review", "cost_total", "predicted_cost", "mape", "bias", "failures",
                 "review_calls", "review_seconds")
TABLE_COLUMNS = ("calls", "input_tokens", "output_tokens", "cost_total")
# A table header per field (CSV and JSON keep the field names): short, distinct, and in words,
# so that a narrow column wraps its header instead of cutting it. Other fields: "_" -> " ".
_HEADERS = {"bucket_start": "bucket", "input_tokens": "input tok", "cached_input_tokens":
            "cached tok", "output_tokens": "output tok", "reasoning_tokens": "reasoning tok",
            "cache_write_tokens": "cache write tok",
            "cost_tokens": "token cost", "cost_tools": "tool cost", "cost_compute":
            "compute cost", "cost_human_review": "review cost", "cost_total": "total cost",
            "predicted_cost": "predicted cost", "mape": "MAPE", "review_calls": "reviews",
            "review_seconds": "review s"}
_NAMES = (*DIMENSIONS, "mode", "period", "currency")  # left-aligned text columns
_FOLD_AT = 12  # a name column narrows to this many characters, folding longer names


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="spend by any keys and period; chargeback / showback",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    kinds = p.add_subparsers(dest="report", required=True)
    spend = kinds.add_parser("spend", help="spend grouped by keys and time bucket")
    spend.add_argument("--since", required=True, help="ISO date or time, inclusive")
    spend.add_argument("--until", required=True, help="ISO date or time, exclusive")
    spend.add_argument("--group-by", default="team",
                       help=f"comma-separated: {', '.join(DIMENSIONS)}")
    spend.add_argument("--bucket", choices=("none", "hour", "day", "week", "month"),
                       default="none")
    for key in ("team", "agent", "user", "task_id", "task_type", "model", "provider"):
        spend.add_argument(f"--{key.replace('_', '-')}", dest=key, default="",
                           help=f"only this {key}")
    spend.add_argument("--label", action="append", default=[], help="key=value; repeatable")
    spend.add_argument("--columns", default=None,
                       help="comma-separated value columns after the keys, or 'all': "
                            f"{', '.join(SPEND_COLUMNS)} (default: the table shows "
                            f"{','.join(TABLE_COLUMNS)}; CSV and JSON all)")
    cb = kinds.add_parser("chargeback", help="per team: direct costs and allocated shared costs")
    cb.add_argument("--period", required=True, help="a calendar month, e.g. 2026-11")
    cb.add_argument("--mode", choices=("chargeback", "showback"), default="chargeback")
    cb.add_argument("--shared-costs", default="", help="TOML of shared costs per period")
    cb.add_argument("--basis", choices=("cost", "tokens"), default="cost",
                    help="allocate shared costs by each team's cost (default) or tokens")
    focus.add_parser(kinds)
    for q in (spend, cb):
        q.add_argument("--tz", default="UTC", help="IANA zone of dates and buckets")
        q.add_argument("--format", choices=("table", "csv", "json"), default="table")
        common.add_server_options(q)


def _time(text: str, tz: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ReportError(f"{field}: not an ISO date or time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(tz))


def month_bounds(period: str, tz: str) -> tuple[datetime, datetime]:
    try:
        year, month = (int(x) for x in period.split("-"))
        start = datetime(year, month, 1, tzinfo=ZoneInfo(tz))
    except (ValueError, TypeError):
        raise ReportError(f"--period must be a month like 2026-11, not {period!r}") from None
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=ZoneInfo(tz))
    return start, end


def load_shared_costs(path: str, period: str) -> list[SharedCost]:
    """The shared costs that apply to ``period`` (``period = "month"`` applies to every one)."""
    if not path:
        return []
    _, data = tomlfile.read(path, ReportError, "shared costs")
    out = []
    for i, raw in enumerate(data.get("shared", [])):
        name, amount, when = raw.get("name"), raw.get("amount"), raw.get("period", "month")
        if not isinstance(name, str) or not name:
            raise ReportError(f"{path}: shared[{i}] needs a name")
        try:
            nanos = to_nanos(amount)
        except MoneyError as exc:
            raise ReportError(f"{path}: shared[{i}] ({name}): amount: {exc}") from None
        if when in ("month", period):
            out.append(SharedCost(name, nanos))
    return out


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (ReportError, common.UsageError) as exc:
        print(f"router report: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    import grpc

    from router import v1 as pb
    from router.api.convert import DIMENSION_BY_NAME

    if args.report == "focus":
        return focus.run(args, *month_bounds(args.period, args.tz))
    if args.report == "spend":
        start, end = _time(args.since, args.tz, "--since"), _time(args.until, args.tz, "--until")
        names = [d.strip() for d in args.group_by.split(",") if d.strip()]
        unknown = [n for n in names if n not in DIMENSION_BY_NAME]
        if unknown:
            raise ReportError(f"--group-by: unknown dimension {unknown[0]!r} "
                              f"(known: {', '.join(DIMENSIONS)})")
        columns = _columns(args.columns, args.format)
        labels = dict(lbl.split("=", 1) for lbl in args.label if "=" in lbl)
        request = pb.QuerySpendRequest(
            group_by=[DIMENSION_BY_NAME[n] for n in names],
            bucket=getattr(pb, f"TIME_BUCKET_{args.bucket.upper()}", 0), time_zone=args.tz,
            filter=pb.Attribution(team=args.team, agent=args.agent, user=args.user,
                                  task_id=args.task_id, task_type=args.task_type,
                                  labels=labels),
            model=args.model, provider=args.provider)
    else:
        start, end = month_bounds(args.period, args.tz)
        names = ["team"]
        request = pb.QuerySpendRequest(group_by=[pb.SPEND_DIMENSION_TEAM], time_zone=args.tz)
    request.start_time.FromDatetime(start)
    request.end_time.FromDatetime(end)
    with common.client(args) as router:
        try:
            resp = router.QuerySpend(request, timeout=60)
            budgets = router.ListBudgets(pb.ListBudgetsRequest(), timeout=10).budgets \
                if args.report == "chargeback" else []
        except grpc.RpcError as err:
            return common.rpc_failed("router report", err)
    currency = resp.total.cost.total.currency_code
    if args.report == "spend":
        _emit_spend(args.format, names, args.bucket != "none", columns, resp, currency)
    else:
        shared = load_shared_costs(args.shared_costs, args.period)
        monthly = {b.scope.team: b.limit.nanos for b in budgets
                   if b.HasField("limit") and b.window == pb.BUDGET_WINDOW_MONTH and b.scope.team
                   and not any((b.scope.agent, b.scope.user, b.scope.task_id,
                                b.scope.task_type, b.scope.model))}
        _emit_chargeback(args, [_row(r) for r in resp.rows], shared, monthly, currency)
    return 0


def _columns(text: str | None, fmt: str) -> tuple[str, ...]:
    """The value columns --columns names; by default every one, but the table shows a few."""
    if text is None:
        return TABLE_COLUMNS if fmt == "table" else SPEND_COLUMNS
    if text.strip() == "all":
        return SPEND_COLUMNS
    picked = tuple(c.strip() for c in text.split(",") if c.strip())
    unknown = [c for c in picked if c not in SPEND_COLUMNS]
    if unknown or not picked:
        what = f"unknown column {unknown[0]!r}" if unknown else "no column named"
        raise ReportError(f"--columns: {what} (known: {', '.join(SPEND_COLUMNS)}, or all)")
    return picked


def _row(r: Any) -> SpendRow:
    """A QuerySpend row back into the core's shape (for chargeback)."""
    t, c = r.tokens, r.cost
    return SpendRow({"team": r.team}, None, {
        "calls": r.calls, "input_tokens": t.input, "cached_input_tokens": t.cached_input,
        "output_tokens": t.output, "reasoning_tokens": t.reasoning,
        "cache_write_tokens": t.cache_write, "cost_tokens": c.tokens.nanos,
        "cost_tools": c.tools.nanos,
        "cost_compute": c.compute.nanos, "cost_review": c.human_review.nanos,
        "cost_total": c.total.nanos})


def _spend_records(names: list[str], bucketed: bool, columns: tuple[str, ...], resp: Any
                   ) -> list[dict[str, Any]]:
    out = []
    for r in [*resp.rows, resp.total]:
        is_total = r is resp.total
        rec: dict[str, Any] = {n: ("TOTAL" if is_total and i == 0 else getattr(r, n))
                               for i, n in enumerate(names)}
        if bucketed:
            rec["bucket_start"] = "" if is_total else r.bucket_start.ToJsonString()
        values = {"calls": r.calls, "input_tokens": r.tokens.input,
                  "cached_input_tokens": r.tokens.cached_input, "output_tokens": r.tokens.output,
                  "reasoning_tokens": r.tokens.reasoning,
                  "cache_write_tokens": r.tokens.cache_write,
                  "cost_tokens": units(r.cost.tokens.nanos),
                  "cost_tools": units(r.cost.tools.nanos),
                  "cost_compute": units(r.cost.compute.nanos),
                  "cost_human_review": units(r.cost.human_review.nanos),
                  "cost_total": units(r.cost.total.nanos),
                  "predicted_cost": units(r.predicted_cost.nanos),
                  "mape": round(r.mape, 4), "bias": round(r.bias, 4), "failures": r.failures,
                  "review_calls": r.review_calls, "review_seconds": r.review_seconds}
        out.append(rec | {c: values[c] for c in columns})
    return out


def _write(fmt: str, records: list[dict[str, Any]], title: str) -> None:
    if fmt == "json":
        print(json.dumps(records, indent=2))
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(records[0]) if records else [])
        writer.writeheader()
        writer.writerows(records)
    else:
        _table(records, title)


def _table(records: list[dict[str, Any]], title: str) -> None:
    """A rich table as wide as the terminal: names fold onto more lines, every other column keeps
    the width of its values and headers wrap between their words only when a line is too short
    for them, so nothing is cut; a terminal too narrow even for that gets the table at the width
    it needs."""
    from rich.console import Console
    from rich.table import Table

    fields = list(records[0]) if records else []
    headers = [_HEADERS.get(f, f.replace("_", " ")) for f in fields]
    longest = [max(len(str(rec[f])) for rec in records) for f in fields]

    def widths(header_width: Callable[[str], int]) -> list[int]:
        return [max(min(n, _FOLD_AT) if f in _NAMES else n, header_width(h))
                for f, h, n in zip(fields, headers, longest, strict=True)]

    def table_width(columns: list[int]) -> int:
        return 1 + sum(w + 3 for w in columns)  # the left edge; each padding and right edge

    terminal = Console().width
    columns = widths(len)
    if table_width(columns) > terminal:
        columns = widths(lambda h: max(len(word) for word in h.split()))
    table = Table(title=title)
    for field, header, width in zip(fields, headers, columns, strict=True):
        if field in _NAMES:
            table.add_column(header, overflow="fold", min_width=width)
        else:
            table.add_column(header, justify="left" if field == "bucket_start" else "right",
                             width=width)
    for rec in records:
        table.add_row(*(str(v) for v in rec.values()))
    Console(width=max(terminal, table_width(columns))).print(table)


def _emit_spend(fmt: str, names: list[str], bucketed: bool, columns: tuple[str, ...],
                resp: Any, currency: str) -> None:
    _write(fmt, _spend_records(names, bucketed, columns, resp), f"spend ({currency})")


def _emit_chargeback(args: argparse.Namespace, rows: list[SpendRow], shared: list[SharedCost],
                     budgets: dict[str, int], currency: str) -> None:
    lines = chargeback(rows, shared, args.basis, budgets)
    records = []
    for ln in lines:
        rec: dict[str, Any] = {"period": args.period, "mode": args.mode,
                               "team": ln.team or "(unattributed)", "calls": ln.calls,
                               "tokens": ln.tokens}
        rec |= {f"direct_{k}": units(v) for k, v in ln.direct.items()}
        rec |= {f"shared_{k}": units(v) for k, v in ln.shared.items()}
        rec["total"] = units(ln.total)
        rec["budget"] = "" if ln.budget is None else units(ln.budget)
        rec["variance"] = "" if ln.variance is None else units(ln.variance)
        rec["currency"] = currency
        records.append(rec)
    total = {"period": args.period, "mode": args.mode, "team": "TOTAL",
             "calls": sum(ln.calls for ln in lines), "tokens": sum(ln.tokens for ln in lines)}
    for key in records[0] if records else []:
        if key.startswith(("direct_", "shared_")) or key == "total":
            total[key] = units(sum(to_nanos(r[key]) for r in records))
    records.append(total | {"budget": "", "variance": "", "currency": currency})
    verb = "billed to" if args.mode == "chargeback" else "shown to (not billed)"
    _write(args.format, records, f"{args.mode} {args.period}: costs {verb} teams ({currency}, "
           f"shared costs allocated by {args.basis})")
