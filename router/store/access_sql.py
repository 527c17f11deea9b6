"""API keys and the audit trail in SQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from router.auth.audit import AuditEvent
from router.auth.keys import KeyRecord, spec_from
from router.core.errors import Conflict
from router.store.engine import SqlBase
from router.store.tables import api_keys, audit_events


def _key_row(r: KeyRecord) -> dict[str, Any]:
    s = r.spec
    return {"key_id": r.key_id, "digest": r.digest, "role": s.role.value, "team": s.team,
            "agents": json.dumps(sorted(s.agents)),
            "permissions": json.dumps(sorted(s.permissions)), "subject": s.subject,
            "description": s.description, "created_us": r.created_us,
            "created_by": r.created_by, "expires_us": s.expires_us,
            "revoked_us": r.revoked_us}


def _key(row: Any) -> KeyRecord:
    m = row._mapping
    spec = spec_from({**m, "agents": json.loads(m["agents"]),
                      "permissions": json.loads(m["permissions"])})
    return KeyRecord(m["key_id"], m["digest"], spec, m["created_us"], m["created_by"],
                     m["revoked_us"])


def _event_row(e: AuditEvent) -> dict[str, Any]:
    return {"at_us": e.at_us, "principal": e.principal, "action": e.action, "target": e.target,
            "before": None if e.before is None else json.dumps(e.before, sort_keys=True),
            "after": None if e.after is None else json.dumps(e.after, sort_keys=True)}


class SqlAccess(SqlBase):
    def load_api_keys(self) -> list[KeyRecord]:
        with self._connect() as conn:
            return [_key(r) for r in conn.execute(
                sa.select(api_keys).order_by(api_keys.c.created_us, api_keys.c.key_id))]

    def insert_api_key(self, record: KeyRecord, event: AuditEvent) -> None:
        try:
            with self._connect(write=True) as conn:
                conn.execute(api_keys.insert().values(**_key_row(record)))
                conn.execute(audit_events.insert().values(**_event_row(event)))
        except sa.exc.IntegrityError as exc:  # ux_api_keys_subject: another replica was first
            raise Conflict(f"the subject {record.spec.subject!r} already authenticates as "
                           "another key; revoke that key first") from exc

    def revoke_api_key(self, key_id: str, now_us: int,
                       audit: Callable[[KeyRecord, KeyRecord], AuditEvent]
                       ) -> tuple[KeyRecord, bool] | None:
        k = api_keys.c
        with self._connect(write=True) as conn:
            row = conn.execute(sa.select(api_keys).where(k.key_id == key_id)
                               .with_for_update()).first()
            if row is None:
                return None
            before = _key(row)
            if before.revoked_us is not None:
                return before, False
            conn.execute(api_keys.update().where(k.key_id == key_id).values(revoked_us=now_us))
            after = replace(before, revoked_us=now_us)
            conn.execute(audit_events.insert().values(**_event_row(audit(before, after))))
            return after, True

    def add_audit(self, event: AuditEvent) -> None:
        with self._connect(write=True) as conn:
            conn.execute(audit_events.insert().values(**_event_row(event)))

    def list_audit(self, since_us: int | None, actions: Sequence[str], limit: int
                   ) -> list[AuditEvent]:
        a = audit_events.c
        query = sa.select(audit_events).order_by(a.id.desc()).limit(limit)
        if since_us is not None:
            query = query.where(a.at_us >= since_us)
        if actions:
            query = query.where(a.action.in_(list(actions)))
        with self._connect() as conn:
            return [AuditEvent(r.at_us, r.principal, r.action, r.target,
                               None if r.before is None else json.loads(r.before),
                               None if r.after is None else json.loads(r.after), int(r.id))
                    for r in conn.execute(query)]
