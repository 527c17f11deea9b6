"""API keys: how they look, how they are hashed, and what is stored of them.

A key reads ``rk_<id>_<secret>``: the id (12 hex digits) names the key in logs, listings and
the audit trail; the secret (32 random bytes, base64url) is shown once, at creation, and never
stored. The store keeps ``HMAC-SHA256(pepper, key)``.

Why a keyed hash and not bcrypt or Argon2: slow password hashes exist because passwords are
guessable, so a stolen table must make each guess expensive. A key has 256 bits from the
operating system's CSPRNG: no guess list exists and one SHA-256 per guess is already out of
reach, so a slow hash would buy nothing and cost milliseconds on every call. The pepper (a
deployment secret, like the decision-token key) means the table alone cannot even confirm a
leaked key; comparison is by dictionary lookup of the digest, which reveals nothing about how
close a wrong key came.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from router.auth.principal import PERMISSIONS, Principal, Role
from router.core.errors import InvalidRequest
from router.core.requests import Violations

PREFIX = "rk"
ID_HEX = 12
SECRET_BYTES = 32
_KEY_RE = re.compile(rf"{PREFIX}_([0-9a-f]{{{ID_HEX}}})_[A-Za-z0-9_-]{{43}}")
MAX_DESCRIPTION_CHARS = 200
MAX_AGENTS = 64
MAX_SUBJECT_CHARS = 512


def new_key() -> tuple[str, str]:
    """A fresh (key id, whole key)."""
    key_id = f"{PREFIX}_{secrets.token_hex(ID_HEX // 2)}"
    return key_id, f"{key_id}_{secrets.token_urlsafe(SECRET_BYTES)}"


def key_id_of(key: str) -> str | None:
    """The id a well-formed key carries; None for anything else (a bootstrap token, junk)."""
    match = _KEY_RE.fullmatch(key)
    return f"{PREFIX}_{match.group(1)}" if match else None


def digest(pepper: bytes, key: str) -> str:
    return hmac.new(pepper, key.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class KeySpec:
    """What a key is for, as an administrator asks for it."""

    role: Role
    team: str = ""
    agents: frozenset[str] = frozenset()
    permissions: frozenset[str] = frozenset()
    subject: str = ""  # a client certificate subject that authenticates as this key (mTLS)
    description: str = ""
    expires_us: int | None = None

    def validate(self, now_us: int, path: str = "key") -> None:
        v = Violations()
        if self.role not in (Role.ADMIN, Role.TEAM, Role.READER):
            v.add(f"{path}.role", "must be admin, team or reader")
        if self.role is Role.TEAM and not self.team:
            v.add(f"{path}.team", "is required for a team key")
        if self.role is Role.ADMIN and (self.team or self.agents):
            v.add(f"{path}.team", "an admin key has no team scope")
        v.identifier(f"{path}.team", self.team, required=False)
        if self.agents and self.role is not Role.TEAM:
            v.add(f"{path}.agents", "only a team key is narrowed to agents")
        if len(self.agents) > MAX_AGENTS:
            v.add(f"{path}.agents", f"at most {MAX_AGENTS}")
        for agent in sorted(self.agents):
            v.identifier(f"{path}.agents", agent, required=True)
        unknown = sorted(self.permissions - PERMISSIONS)
        if unknown:
            v.add(f"{path}.permissions", f"unknown permission {unknown[0]!r} (known: "
                                         f"{', '.join(sorted(PERMISSIONS))})")
        if self.permissions and self.role is not Role.TEAM:
            v.add(f"{path}.permissions", "only a team key takes permissions (an admin has all)")
        if len(self.subject) > MAX_SUBJECT_CHARS or any(c in self.subject for c in "\n\r\0"):
            v.add(f"{path}.subject", f"at most {MAX_SUBJECT_CHARS} characters, one line")
        if len(self.description) > MAX_DESCRIPTION_CHARS or "\0" in self.description:
            v.add(f"{path}.description", f"at most {MAX_DESCRIPTION_CHARS} characters")
        if self.expires_us is not None and self.expires_us <= now_us:
            v.add(f"{path}.expire_time", "must be in the future")
        v.raise_if_any()


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """What is stored of a key: never the key itself."""

    key_id: str
    digest: str
    spec: KeySpec
    created_us: int
    created_by: str
    revoked_us: int | None = None
    principal: Principal = field(init=False, compare=False)

    def __post_init__(self) -> None:
        s = self.spec
        object.__setattr__(self, "principal", Principal(
            self.key_id, s.role, s.team, s.agents, s.permissions))

    def active(self, now_us: int) -> bool:
        return self.revoked_us is None and (self.spec.expires_us is None
                                            or now_us < self.spec.expires_us)

    def as_dict(self) -> dict[str, Any]:
        """The key as the audit trail records it (no digest, no secret)."""
        s = self.spec
        out: dict[str, Any] = {"key_id": self.key_id, "role": s.role.value,
                               "created_by": self.created_by, "created_us": self.created_us}
        for name, value in (("team", s.team), ("agents", sorted(s.agents)),
                            ("permissions", sorted(s.permissions)), ("subject", s.subject),
                            ("description", s.description), ("expires_us", s.expires_us),
                            ("revoked_us", self.revoked_us)):
            if value:
                out[name] = value
        return out


def spec_from(raw: Mapping[str, Any]) -> KeySpec:
    """A KeySpec from its stored columns."""
    return KeySpec(role=Role(raw["role"]), team=raw["team"],
                   agents=frozenset(raw["agents"]), permissions=frozenset(raw["permissions"]),
                   subject=raw["subject"], description=raw["description"],
                   expires_us=raw["expires_us"])


def check_key_id(key_id: str, path: str = "key_id") -> None:
    if not re.fullmatch(rf"{PREFIX}_[0-9a-f]{{{ID_HEX}}}", key_id or ""):
        raise InvalidRequest.of(path, f"must be a key id like {PREFIX}_0123456789ab")
