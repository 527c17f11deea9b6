"""From a call's credentials to its Principal, in microseconds and without a store read.

The keyring holds every key's digest in process (refreshed from the store by the key service
every ``ROUTER_BUDGET_REFRESH_S``, and at once for keys made or revoked here), so
authenticating a call is one HMAC and one dictionary lookup.

When is a key required? ``ROUTER_AUTH``:

- ``auto`` (default): from the moment the first API key is created (revoking keys never turns
  it off again). Until then the server runs open, which it does only on loopback; listening on
  any other address it requires the admin token, or refuses to start (``startup_mode``).
- ``on``: always (with no key yet, only the bootstrap ``ROUTER_ADMIN_TOKEN`` is accepted).
- ``off``: never; every caller may route, report and read everything. Administration still
  needs an admin key or the admin token.

A credential that is sent is always checked: a wrong one is UNAUTHENTICATED even when the
server runs open, so a misconfigured client learns at once.
"""

from __future__ import annotations

import enum
import hmac
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from router.auth.keys import KeyRecord, digest, key_id_of
from router.auth.principal import ANONYMOUS, BOOTSTRAP, Principal
from router.core.errors import Unauthenticated


class AuthMode(enum.Enum):
    AUTO = "auto"
    ON = "on"
    OFF = "off"


class StartRefused(ValueError):
    """The server would listen where anyone could reach it, with nothing to authenticate."""


def is_loopback(address: str) -> bool:
    """Does ``host:port`` (or ``[v6]:port``) listen on loopback only?"""
    host = address.rsplit(":", 1)[0].strip("[]") if ":" in address else address
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name, 0.0.0.0's spellings, or [::]: reachable from elsewhere


@dataclass(frozen=True, slots=True)
class Startup:
    enforce: bool  # require a key from the start, whatever the keyring holds
    message: str  # the one line the server logs about it at start


def startup_mode(mode: AuthMode, addresses: Iterable[str], keys_exist: bool,
                 admin_token: str) -> Startup:
    """How the server starts: StartRefused when it would listen beyond loopback open."""
    exposed = [a for a in addresses if a and not is_loopback(a)]
    if mode is AuthMode.OFF:
        return Startup(False, "authentication is off (ROUTER_AUTH=off): every caller may "
                              "route, report and read everything")
    if mode is AuthMode.ON or keys_exist:
        return Startup(True, "authentication is on: every call needs 'authorization: Bearer "
                             "<key>'")
    if not exposed:
        return Startup(False, "running open: no API key exists and the server listens on "
                              "loopback only; the first key made with `router keys create` "
                              "turns authentication on")
    if admin_token:
        return Startup(True, "authentication is on: no API key exists yet, so only "
                             "ROUTER_ADMIN_TOKEN is accepted; make keys with `router keys "
                             "create`")
    raise StartRefused(
        f"refusing to listen on {', '.join(exposed)} without authentication: no API key "
        "exists and ROUTER_ADMIN_TOKEN is empty. Set ROUTER_ADMIN_TOKEN (then make keys with "
        "`router keys create`), listen on 127.0.0.1, or set ROUTER_AUTH=off to run open "
        "deliberately")


class Keyring:
    """Digest -> key, and certificate subject -> key, for the keys the store holds."""

    def __init__(self, pepper: bytes, *, admin_token: str = "", mode: AuthMode = AuthMode.AUTO,
                 enforce: bool = False) -> None:
        self._pepper = pepper
        self._admin = admin_token.encode()
        self._mode = mode
        self._enforce = enforce or mode is AuthMode.ON
        self._by_digest: dict[str, KeyRecord] = {}
        self._by_subject: dict[str, KeyRecord] = {}

    @property
    def enforcing(self) -> bool:
        return self._mode is not AuthMode.OFF and self._enforce

    def load(self, records: Iterable[KeyRecord]) -> None:
        """Replace what the keyring knows with ``records`` (every key ever made, revoked ones
        included, so a revoked key is named as such)."""
        by_digest = {r.digest: r for r in records}
        by_subject = {r.spec.subject: r for r in by_digest.values()
                      if r.spec.subject and r.revoked_us is None}
        self._by_digest, self._by_subject = by_digest, by_subject  # each swap is atomic
        if by_digest:
            self._enforce = True  # sticky: revoking every key never opens the server

    def holder_of(self, subject: str) -> str | None:
        """The id of the unrevoked key a certificate subject authenticates as, if any."""
        record = self._by_subject.get(subject)
        return record.key_id if record is not None else None

    def add(self, record: KeyRecord) -> None:
        self.load([*self._by_digest.values(), record])

    def authenticate(self, authorization: str, now_us: int, subject: str = "") -> Principal:
        """The caller behind ``authorization`` (the metadata's value, "" when absent) or,
        without it, behind a verified client certificate's ``subject``; Unauthenticated when
        it is no valid credential, or none where one is needed."""
        if not authorization:
            record = self._by_subject.get(subject) if subject else None
            if record is not None:
                return self._checked(record, now_us)
            if not self.enforcing:
                return ANONYMOUS
            raise Unauthenticated("this call needs the metadata 'authorization: Bearer <key>'")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("the authorization metadata must read 'Bearer <key>'")
        if self._admin and hmac.compare_digest(token.encode(), self._admin):
            return BOOTSTRAP
        record = self._by_digest.get(digest(self._pepper, token))
        if record is None:
            if key_id_of(token) is not None:
                raise Unauthenticated("the key is not valid")
            raise Unauthenticated("the credential is neither an API key (rk_...) nor the "
                                  "server's admin token" + (
                                      "" if self._admin else " (this server has no "
                                      "ROUTER_ADMIN_TOKEN)"))
        return self._checked(record, now_us)

    @staticmethod
    def _checked(record: KeyRecord, now_us: int) -> Principal:
        if record.revoked_us is not None:
            raise Unauthenticated(f"key {record.key_id} was revoked")
        if record.spec.expires_us is not None and now_us >= record.spec.expires_us:
            raise Unauthenticated(f"key {record.key_id} has expired")
        return record.principal
