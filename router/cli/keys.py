"""``router keys``: make, list and revoke API keys (admin calls).

    KEY=$(router keys create --team eng --agent reconciler --expires-in 90d | tail -1)
    router keys create --role reader                   # reads every team, spends nothing
    router keys create --role admin --description "on-call"
    router keys list [--all] [--team eng] [--format json]
    router keys revoke rk_0123456789ab

A key is shown once, when it is made: ``create`` prints what the key may do, then the key alone
on the last line of standard output, so a script keeps it with ``tail -1``. Only its hash is
stored, so a lost key is revoked and made again, never looked up. The first key made turns
authentication on for a server that ran open (``ROUTER_AUTH=auto``).

Every verb needs an admin key or the server's ROUTER_ADMIN_TOKEN (--token, default
$ROUTER_ADMIN_TOKEN, else $ROUTER_API_KEY).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from router.auth.principal import PERMISSIONS
from router.cli import common

ROLES = ("team", "reader", "admin")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("keys", help="make, list and revoke API keys (admin)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = p.add_subparsers(dest="verb", required=True)
    create = verbs.add_parser("create", help="make a key; prints it once, on the last line")
    create.add_argument("--role", choices=ROLES, default="team",
                        help="team: spends and reads as its team; reader: reads only; admin: "
                             "everything (default: team)")
    create.add_argument("--team", default="",
                        help="the team (required for a team key; a reader without one reads "
                             "every team; an admin key has none)")
    create.add_argument("--agent", action="append", default=[], dest="agents", metavar="AGENT",
                        help="narrow a team key to this agent; repeatable")
    create.add_argument("--permission", action="append", default=[], dest="permissions",
                        choices=sorted(PERMISSIONS),
                        help="budgets: a team key may set, pause and resume its team's budgets")
    create.add_argument("--subject", default="",
                        help="a client certificate subject that authenticates as this key "
                             "over mTLS")
    create.add_argument("--description", default="")
    expiry = create.add_mutually_exclusive_group()
    expiry.add_argument("--expires-in", default="", metavar="DURATION",
                        help="e.g. 30d, 12h, 1d12h (default: never expires)")
    expiry.add_argument("--expires", default="", metavar="TIME",
                        help="ISO-8601 date or time (UTC unless it names a zone)")
    listing = verbs.add_parser("list", help="the keys, never their secrets")
    listing.add_argument("--all", action="store_true", help="include revoked keys")
    listing.add_argument("--team", default="", help="only this team's keys")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    revoke = verbs.add_parser("revoke", help="revoke a key, at once")
    revoke.add_argument("key_id", metavar="KEY_ID", help="e.g. rk_0123456789ab")
    for v in (create, listing, revoke):
        common.add_server_options(v, admin=True)


def run(args: argparse.Namespace) -> int:
    import grpc

    try:
        request = _create_request(args) if args.verb == "create" else None
        router = common.client(args)
    except common.UsageError as exc:
        return common.usage_failed(args.prog, exc)
    with router:
        try:
            if args.verb == "create":
                resp = router.CreateApiKey(request, timeout=10)
                _print_created(resp.key, resp.secret)
            elif args.verb == "list":
                _list(args, router)
            else:
                _revoke(args.key_id, router)
        except grpc.RpcError as err:
            return common.rpc_failed(args.prog, err)
    return 0


def _create_request(args: argparse.Namespace) -> Any:
    """The CreateApiKey request; UsageError for what is wrong without asking the server (the
    team rules, the expiry's spelling). The server checks the rest."""
    from router import v1 as pb

    if args.role == "team" and not args.team:
        raise common.UsageError("--team is required for a team key (or give --role reader "
                                "for a key that reads every team)")
    if args.role == "admin" and args.team:
        raise common.UsageError("an admin key has no team: leave out --team (or give --role "
                                "reader for a key that reads one team)")
    key = pb.ApiKey(role=_role_value(args.role), team=args.team, agents=args.agents,
                    permissions=sorted(set(args.permissions)), subject=args.subject,
                    description=args.description)
    expires = _expiry(args.expires_in, args.expires)
    if expires is not None:
        key.expire_time.FromDatetime(expires)
    return pb.CreateApiKeyRequest(key=key)


def _expiry(expires_in: str, expires: str) -> datetime | None:
    if expires_in:
        return datetime.now(UTC) + common.parse_duration(expires_in)
    if expires:
        return common.parse_time(expires, "--expires")
    return None


def _role_value(name: str) -> int:
    from router import v1 as pb
    return int(pb.Role.Value(f"ROLE_{name.upper()}"))


def role_name(value: int) -> str:
    from router import v1 as pb
    return pb.Role.Name(value).removeprefix("ROLE_").lower()


def scope(key: Any) -> str:
    """What the key reaches, in words: "team eng, agents a, b", "every team", "everything"."""
    role = role_name(key.role)
    if role == "admin":
        return "everything"
    where = f"team {key.team}" if key.team else "every team"
    if key.agents:
        where += (", agent " if len(key.agents) == 1 else ", agents ") + ", ".join(key.agents)
    return where


def _print_created(key: Any, secret: str) -> None:
    """A summary, then the secret alone on the last line (plain print: no markup, no wrapping,
    nothing after it), for ``tail -1``."""
    role = role_name(key.role)
    lines = [f"created {key.key_id}: {role} key, {scope(key)}"]
    if key.permissions:
        lines.append(f"  permissions: {', '.join(key.permissions)}")
    if key.subject:
        lines.append(f"  certificate subject: {key.subject}")
    if key.description:
        lines.append(f"  description: {key.description}")
    lines.append("  expires " + (key.expire_time.ToJsonString()
                                 if key.HasField("expire_time") else "never"))
    lines.append("  the key follows, shown this once (only its hash is stored):")
    print("\n".join(lines))
    print(secret, flush=True)


def _list(args: argparse.Namespace, router: Any) -> None:
    from google.protobuf import json_format

    from router import v1 as pb

    keys = router.ListApiKeys(pb.ListApiKeysRequest(include_revoked=args.all, team=args.team),
                              timeout=10).keys
    if args.format == "json":
        print(json.dumps([json_format.MessageToDict(k, preserving_proto_field_name=True)
                          for k in keys], indent=2))
        return
    if not keys:  # on stderr: standard output holds the table, or nothing
        print("no API keys" + (f" of team {args.team}" if args.team else "")
              + ("" if args.all else " in force (--all includes revoked ones)"),
              file=sys.stderr)
        return
    _table(keys)


# (header, always shown); a column no listed key uses is left out, so the usual table fits an
# 80-column terminal (--format json has every field)
_COLUMNS = (("id", True), ("role", True), ("team", True), ("agents", False),
            ("permissions", False), ("subject", False), ("created", True), ("expires", True),
            ("revoked", False), ("description", False))
_FOLDED = ("agents", "subject", "description")  # free text: folds onto more lines
_UNUSED = ("", "-")


def _row(k: Any, now: datetime) -> dict[str, str]:
    role = role_name(k.role)
    expires = common.timestamp(k.expire_time, unset="never")
    if k.HasField("expire_time") and k.expire_time.ToDatetime(tzinfo=UTC) <= now:
        expires += " (expired)"
    return {"id": k.key_id, "role": role, "team": k.team or ("-" if role == "admin" else "(all)"),
            "agents": ", ".join(k.agents) or "-", "permissions": ", ".join(k.permissions) or "-",
            "subject": k.subject or "-", "created": common.timestamp(k.create_time),
            "expires": expires, "revoked": common.timestamp(k.revoke_time, unset="-"),
            "description": k.description}


def _table(keys: Any) -> None:
    """The keys as a rich table: ids, roles and headers whole, times wrapped between date and
    hour, free text folded; a terminal too narrow even for that gets the width it needs."""
    from rich.console import Console
    from rich.table import Table

    now = datetime.now(UTC)
    rows = [_row(k, now) for k in keys]
    shown = [name for name, always in _COLUMNS
             if always or any(r[name] not in _UNUSED for r in rows)]
    table = Table(title=f"{len(keys)} API keys")
    needed = 1
    for name in shown:
        if name in _FOLDED:
            width = len(name)
            table.add_column(name, overflow="fold", min_width=width)
        else:  # the longest word: "2026-11-28 14:03" wraps at its space, nothing is cut
            width = max(len(word) for text in (name, *(r[name] for r in rows))
                        for word in text.split() or [""])
            table.add_column(name, min_width=width, no_wrap=name == "id")
        needed += width + 3  # padding and the right edge
    for r in rows:
        table.add_row(*(r[name] for name in shown))
    console = Console()
    Console(width=max(console.width, needed)).print(table, markup=False, highlight=False)


def _revoke(key_id: str, router: Any) -> None:
    from router import v1 as pb

    resp = router.RevokeApiKey(pb.RevokeApiKeyRequest(key_id=key_id), timeout=10)
    print(f"revoked {resp.key.key_id}" if resp.was_active
          else f"{resp.key.key_id} was already revoked")
