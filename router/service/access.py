"""Access: API keys made, listed and revoked by administrators, the keyring that authenticates
calls kept in step with the store, and the audit trail of every administrative act."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import structlog

from router.auth import AuditEvent, KeyRecord, Keyring, KeySpec, Principal
from router.auth.audit import ACTIONS
from router.auth.keys import check_key_id, digest, new_key
from router.core.clock import Clock
from router.core.errors import Conflict, InvalidRequest, NotFound, quoted
from router.store.base import AccessStore

log = structlog.get_logger("router.access")
MAX_AUDIT_PAGE = 1000


class AuditLog:
    """Records who did which administrative act, and lists it (for administrators only)."""

    def __init__(self, store: AccessStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def event(self, who: Principal, action: str, target: str,
              before: Mapping[str, Any] | None = None,
              after: Mapping[str, Any] | None = None) -> AuditEvent:
        assert action in ACTIONS, action
        return AuditEvent(self._clock.now_us(), who.key_id, action, target, before, after)

    def record(self, who: Principal, action: str, target: str,
               before: Mapping[str, Any] | None = None,
               after: Mapping[str, Any] | None = None) -> None:
        event = self.event(who, action, target, before, after)
        self._store.add_audit(event)
        log.info("audit", principal=who.key_id, action=action, target=target)

    def list(self, who: Principal, since_us: int | None, actions: tuple[str, ...],
             limit: int) -> list[AuditEvent]:
        who.require_admin("reading the audit trail")
        unknown = [a for a in actions if a not in ACTIONS]
        if unknown:
            raise InvalidRequest.of("actions", f"unknown action {quoted(unknown[0])} (known: "
                                               f"{', '.join(ACTIONS)})")
        if not 0 <= limit <= MAX_AUDIT_PAGE:
            raise InvalidRequest.of("page_size", f"must be 0-{MAX_AUDIT_PAGE}")
        return self._store.list_audit(since_us, actions, limit or 100)


class KeyService:
    """API keys over the store, and the in-process keyring that authenticates with them."""

    def __init__(self, store: AccessStore, keyring: Keyring, audit: AuditLog, clock: Clock, *,
                 pepper: bytes) -> None:
        self._store = store
        self.keyring = keyring
        self._audit = audit
        self._clock = clock
        self._pepper = pepper
        # a change (store, then keyring) and a refresh (read, then load) one at a time, so a
        # refresh that read the store before a key was revoked cannot bring it back
        self._writing = threading.Lock()
        self.refresh()

    def authenticate(self, authorization: str, subject: str = "") -> Principal:
        """The caller behind a call's credentials (see ``Keyring.authenticate``)."""
        return self.keyring.authenticate(authorization, self._clock.now_us(), subject)

    def create(self, who: Principal, spec: KeySpec) -> tuple[KeyRecord, str]:
        """A new key and its secret (shown this once; only its digest is stored)."""
        who.require_admin("making API keys")
        now = self._clock.now_us()
        spec.validate(now)
        if spec.subject and (holder := self.keyring.holder_of(spec.subject)) is not None:
            raise Conflict(f"the subject {quoted(spec.subject)} already authenticates as key "
                           f"{holder}; revoke that key first")
        key_id, secret = new_key()
        record = KeyRecord(key_id, digest(self._pepper, secret), spec, now, who.key_id)
        with self._writing:
            self._store.insert_api_key(record, self._audit.event(
                who, "key.create", key_id, None, record.as_dict()))
            self.keyring.add(record)
        log.info("key.created", key_id=key_id, role=spec.role.value, team=spec.team,
                 by=who.key_id)
        return record, secret

    def list(self, who: Principal, include_revoked: bool, team: str) -> list[KeyRecord]:
        who.require_admin("listing API keys")
        return [r for r in self._store.load_api_keys()
                if (include_revoked or r.revoked_us is None) and (not team or r.spec.team == team)]

    def revoke(self, who: Principal, key_id: str) -> tuple[KeyRecord, bool]:
        """Revoke the key (here at once, on other replicas within the refresh interval);
        revoking a revoked key changes nothing. The key after, and whether this revoked it."""
        who.require_admin("revoking API keys")
        check_key_id(key_id)
        with self._writing:
            result = self._store.revoke_api_key(
                key_id, self._clock.now_us(), lambda before, after: self._audit.event(
                    who, "key.revoke", key_id, before.as_dict(), after.as_dict()))
            if result is None:
                raise NotFound(f"no API key {quoted(key_id)}")
            self._load()
        if result[1]:
            log.info("key.revoked", key_id=key_id, by=who.key_id)
        return result

    def refresh(self) -> None:
        """Pick up keys made or revoked on other replicas (the server runs this every
        ``ROUTER_BUDGET_REFRESH_S``)."""
        with self._writing:
            self._load()

    def _load(self) -> None:
        self.keyring.load(self._store.load_api_keys())
