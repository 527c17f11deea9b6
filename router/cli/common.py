"""What every command that talks to a server shares: ``--address``, ``--token``, the client,
and how a failed call is told.

A server that has API keys requires one on every call, reads included, so every such command
takes ``--token``. Its default depends on what the command does: a read or a spend is the work
of a team's key (``$ROUTER_API_KEY``, else ``$ROUTER_ADMIN_TOKEN``), administration is the
work of the admin token (``$ROUTER_ADMIN_TOKEN``, else ``$ROUTER_API_KEY``), so a shell that
holds both sends the right one to each.

Calls go through ``router.client.Client`` (its retries of what is transient, bounded to
``RETRY_TOTAL_S`` here, where a person waits for the answer). TLS comes from the environment
and needs no flag:
``ROUTER_TLS_CA`` (the CA of the server's certificate), ``ROUTER_TLS_CLIENT_CERT`` and
``ROUTER_TLS_CLIENT_KEY`` (mTLS), ``ROUTER_TLS_SERVER_NAME`` (see ``router.auth.tls``).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from router.client import Client, Retry, default_address

TLS_HELP = ("The key is sent as 'authorization: Bearer <token>'. TLS is taken from the "
            "environment: ROUTER_TLS_CA (the CA that signed the server's certificate), "
            "ROUTER_TLS_CLIENT_CERT and ROUTER_TLS_CLIENT_KEY (a client certificate, for "
            "mTLS), ROUTER_TLS_SERVER_NAME (the name to check in the server's certificate); "
            "plain text when none is set.")
_HINTS = {
    "UNAUTHENTICATED": "give a key with --token or $ROUTER_API_KEY, or the server's admin "
                       "token ($ROUTER_ADMIN_TOKEN)",
    "PERMISSION_DENIED": "this key's role or scope does not allow it; an admin key or "
                         "$ROUTER_ADMIN_TOKEN does",
}
RETRY_TOTAL_S = 10.0
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(?:\d+[smhdw])+")


class UsageError(ValueError):
    """A bad argument or setting found before any call: the command exits 2."""


def token_default(*, admin: bool) -> str:
    """``--token``'s default: the admin token first for administration, a team's key first
    for everything else (see the module docstring)."""
    order = ("ROUTER_ADMIN_TOKEN", "ROUTER_API_KEY") if admin else \
        ("ROUTER_API_KEY", "ROUTER_ADMIN_TOKEN")
    return next((v for name in order if (v := os.environ.get(name, ""))), "")


def add_server_options(parser: argparse.ArgumentParser, *, admin: bool = False) -> None:
    """``--address`` and ``--token`` in a group of their own, whose help names the TLS
    settings; ``admin``: the command administers, so the admin token is the first default."""
    order = "$ROUTER_ADMIN_TOKEN, else $ROUTER_API_KEY" if admin else \
        "$ROUTER_API_KEY, else $ROUTER_ADMIN_TOKEN"
    group = parser.add_argument_group("server", TLS_HELP)
    group.add_argument("--address", default=default_address(),
                       help="HOST:PORT of the router (default: $ROUTER_ADDRESS, else "
                            "127.0.0.1:50051)")
    group.add_argument("--token", default=token_default(admin=admin),
                       help=f"API key (rk_...) or admin token (default: {order})")
    parser.set_defaults(prog=parser.prog)  # "router keys create": the prefix of its errors


def client(args: argparse.Namespace) -> Client:
    """A client of ``args.address`` sending ``args.token`` on every call, TLS from the
    environment (use it in a ``with``); UsageError when the TLS settings cannot be read."""
    try:
        return Client(args.address, key=args.token, retry=Retry(total_s=RETRY_TOTAL_S))
    except ValueError as exc:  # a TLS file missing or not PEM, half a client certificate
        raise UsageError(str(exc)) from None


def rpc_failed(prog: str, err: Any) -> int:
    """Tell a failed call on stderr as ``prog: CODE: details (hint)``; the exit status 1."""
    code = err.code().name
    hint = _HINTS.get(code)
    print(f"{prog}: {code}: {err.details()}" + (f" ({hint})" if hint else ""), file=sys.stderr)
    return 1


def usage_failed(prog: str, exc: Exception) -> int:
    print(f"{prog}: {exc}", file=sys.stderr)
    return 2


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``1d12h``, ``90m``, ``45s``, ``2w``."""
    if not _DURATION.fullmatch(text.strip()):
        raise UsageError(f"not a duration like 30d, 12h or 1d12h: {text!r}")
    return timedelta(seconds=sum(int(n) * _UNITS[u]
                                 for n, u in re.findall(r"(\d+)([smhdw])", text)))


def parse_time(text: str, what: str) -> datetime:
    """An ISO-8601 date or time; one without a zone is read as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{what}: not an ISO-8601 date or time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_since(text: str, what: str, now: datetime | None = None) -> datetime:
    """A duration back from now (``24h``) or an ISO-8601 time."""
    if _DURATION.fullmatch(text.strip()):
        return (now or datetime.now(UTC)) - parse_duration(text)
    return parse_time(text, what)


def timestamp(ts: Any, *, unset: str = "") -> str:
    """A protobuf Timestamp to the minute, in UTC, or ``unset`` when it is not set."""
    if not ts.seconds and not ts.nanos:
        return unset
    return ts.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%d %H:%M")
