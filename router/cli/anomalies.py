"""``router anomalies``: run the detectors on demand, list what was found, or watch live.

    router anomalies detect [--database-url URL]     # on the store itself, no server needed
    router anomalies list [--address A] [--kind spend_spike] [--since 2026-11-28]
    router anomalies watch [--address A]             # until Ctrl-C

list and watch read from the server, so one with API keys needs a key (--token, default
$ROUTER_API_KEY, else $ROUTER_ADMIN_TOKEN); a team's key sees its team's anomalies only.
detect runs on the store directly and needs none.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from router.cli import common
from router.core.anomalies import Kind
from router.settings import Settings

_KINDS = tuple(k.value for k in Kind)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("anomalies", help="detect, list or watch spend anomalies",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = p.add_subparsers(dest="verb", required=True)
    detect = verbs.add_parser("detect", help="run every detector now on the store")
    detect.add_argument("--database-url", default=Settings.from_env().database_url)
    for name in ("list", "watch"):
        v = verbs.add_parser(name, help=f"{name} anomalies found by a running service")
        common.add_server_options(v)
        v.add_argument("--kind", action="append", choices=_KINDS, default=[])
        v.add_argument("--since", default="",
                       help="ISO time or a duration back from now (24h): detected at or after")
    for v in (detect, *(verbs.choices[n] for n in ("list", "watch"))):
        v.add_argument("--json", action="store_true", help="one JSON object per line")


def run(args: argparse.Namespace) -> int:
    if args.verb == "detect":
        return _detect(args)
    import grpc

    from router import v1 as pb
    from router.api.convert import ANOMALY_KIND_BY_NAME

    kinds = [ANOMALY_KIND_BY_NAME[k] for k in args.kind]
    try:
        since = common.parse_since(args.since, "--since") if args.since else None
        router = common.client(args)
    except common.UsageError as exc:
        return common.usage_failed("router anomalies", exc)
    with router:
        try:
            if args.verb == "list":
                req = pb.ListAnomaliesRequest(kinds=kinds, page_size=1000)
                if since is not None:
                    req.since.FromDatetime(since)
                found = router.ListAnomalies(req, timeout=30).anomalies
                for a in found:
                    _print(args.json, _from_pb(a))
                if not found:  # on stderr: --json output stays one object per line, or none
                    print("no anomalies" + (f" since {args.since}" if args.since else "")
                          + (f" of kind {', '.join(args.kind)}" if args.kind else ""),
                          file=sys.stderr)
            else:
                req = pb.WatchAnomaliesRequest(kinds=kinds)
                if since is not None:
                    req.since.FromDatetime(since)
                for a in router.WatchAnomalies(req):
                    _print(args.json, _from_pb(a))
        except grpc.RpcError as err:
            if err.code() is grpc.StatusCode.CANCELLED:
                return 0
            return common.rpc_failed("router anomalies", err)
        except KeyboardInterrupt:
            return 0
    return 0


def _detect(args: argparse.Namespace) -> int:
    from router.core.anomalies import DetectorConfig
    from router.core.clock import SystemClock
    from router.core.errors import StoreUnavailable
    from router.service.anomalies import find_anomalies
    from router.service.notify import Detected, as_json
    from router.store.sql import SqlStore

    try:
        store = SqlStore(args.database_url)
        store.migrate()
    except StoreUnavailable as exc:
        print(f"router anomalies: {exc}", file=sys.stderr)
        return 2
    try:
        now = SystemClock().now_us()
        found = find_anomalies(store, now, Settings.from_env().anomaly_history_days,
                               DetectorConfig())
        new = {a.key() for a in store.save_anomalies(found, now)}
        for a in found:
            _print(args.json, as_json(Detected(a, now)) | {"new": a.key() in new})
        print(f"{len(found)} anomalies, {len(new)} new", file=sys.stderr)
    finally:
        store.close()
    return 0


def _from_pb(a: Any) -> dict[str, Any]:
    from router.api.convert import ANOMALY_KINDS

    return {"id": a.id, "kind": ANOMALY_KINDS[a.kind],
            "team": a.team, "agent": a.agent, "task_id": a.task_id,
            "detected_at": a.detected_at.ToJsonString(), "message": a.message,
            "observed": a.observed, "baseline": a.baseline, "evidence": dict(a.evidence)}


def _print(as_json_lines: bool, record: dict[str, Any]) -> None:
    if as_json_lines:
        print(json.dumps(record, default=str), flush=True)
        return
    who = "/".join(x for x in (record["team"], record["agent"], record["task_id"]) if x)
    print(f"{record['kind']:<20} {who:<40} {record['message']}", flush=True)
