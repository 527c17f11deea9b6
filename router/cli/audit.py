"""``router audit``: the trail of administrative acts (an admin call).

    router audit list                                   # the last 100, newest first
    router audit list --since 24h --action key.create --action key.revoke
    router audit list --since 2026-11-01 --limit 1000 --format json

Each event names who acted (a key id, or "bootstrap" for ROUTER_ADMIN_TOKEN), the act, what it
acted on, and the state before and after; never a secret. Needs an admin key or the server's
ROUTER_ADMIN_TOKEN (--token, default $ROUTER_ADMIN_TOKEN, else $ROUTER_API_KEY).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from router.auth.audit import ACTIONS
from router.cli import common

_SUMMARY_CHARS = 60  # a value longer than this is cut in the table (JSON keeps it whole)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="the trail of administrative acts (admin)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = p.add_subparsers(dest="verb", required=True)
    listing = verbs.add_parser("list", help="administrative acts, newest first")
    listing.add_argument("--since", default="", metavar="TIME",
                         help="ISO-8601 time (UTC unless it names a zone) or a duration back "
                              "from now, e.g. 24h or 7d")
    listing.add_argument("--action", action="append", default=[], dest="actions",
                         choices=ACTIONS, help="only this action; repeatable")
    listing.add_argument("--limit", type=int, default=100,
                         help="at most this many events (default 100, at most 1000)")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    common.add_server_options(listing, admin=True)


def run(args: argparse.Namespace) -> int:
    import grpc

    from router import v1 as pb

    try:
        if not 1 <= args.limit <= 1000:
            raise common.UsageError(f"--limit must be 1-1000, not {args.limit}")
        request = pb.ListAuditEventsRequest(actions=args.actions, page_size=args.limit)
        if args.since:
            request.since.FromDatetime(common.parse_since(args.since, "--since"))
        router = common.client(args)
    except common.UsageError as exc:
        return common.usage_failed(args.prog, exc)
    with router:
        try:
            events = router.ListAuditEvents(request, timeout=30).events
        except grpc.RpcError as err:
            return common.rpc_failed(args.prog, err)
    if args.format == "json":
        _json(events)
    elif events:
        _table(events)
    else:  # on stderr: standard output holds the table, or nothing
        print("no audit events" + (f" since {args.since}" if args.since else "")
              + (f" of {', '.join(args.actions)}" if args.actions else ""), file=sys.stderr)
    return 0


def _json(events: Any) -> None:
    from google.protobuf import json_format

    print(json.dumps([json_format.MessageToDict(e, preserving_proto_field_name=True)
                      for e in events], indent=2))


def _table(events: Any) -> None:
    from google.protobuf import json_format
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"audit trail: {len(events)} events, newest first")
    table.add_column("time", no_wrap=True)
    table.add_column("principal", no_wrap=True)
    table.add_column("action", no_wrap=True)
    table.add_column("target", overflow="fold")
    table.add_column("change", overflow="fold")
    for e in events:
        before = json_format.MessageToDict(e.before) if e.HasField("before") else None
        after = json_format.MessageToDict(e.after) if e.HasField("after") else None
        table.add_row(e.time.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S"),
                      e.principal, e.action, e.target, change(before, after, e.target))
    Console().print(table, markup=False, highlight=False)  # values as written, not markup


def change(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None,
           target: str = "") -> str:
    """The act in one short line: what was made (``+``), what was removed (``-``), or each
    field that changed as ``field: old → new``. Fields in name order (a Struct keeps none),
    those named ``*_us`` as UTC times; a field that only repeats the target is left out."""
    if before is None and after is None:
        return ""
    if before is None or after is None:
        sign, state = ("+", after) if before is None else ("-", before)
        assert state is not None
        return f"{sign} " + ", ".join(f"{k}={_value(k, state[k])}" for k in sorted(state)
                                      if not (target and state[k] == target))
    changed = sorted(k for k in {**before, **after} if before.get(k) != after.get(k))
    if not changed:
        return "no change"
    return "; ".join(f"{k}: {_value(k, before.get(k))} → {_value(k, after.get(k))}"
                     for k in changed)


def _value(field: str, value: Any) -> str:
    text = _text(field, value)
    return text if len(text) <= _SUMMARY_CHARS else text[:_SUMMARY_CHARS - 1] + "…"


def _text(field: str, value: Any) -> str:
    if value is None:
        return "∅"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        if field.endswith("_us"):
            return datetime.fromtimestamp(value / 1e6, UTC).strftime("%Y-%m-%d %H:%M:%S")
        return str(int(value)) if float(value).is_integer() else str(value)  # Struct: doubles
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}={_text(k, value[k])}" for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_text(field, v) for v in value) + "]"
    return str(value)
