"""The audit trail's entries: who did which administrative act, when, and what it changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# every action the trail records; the names are part of the API (ListAuditEvents filters on them)
ACTIONS = ("key.create", "key.revoke", "budget.set", "budget.delete", "scope.pause",
           "scope.resume", "anomalies.detect")


@dataclass(frozen=True, slots=True)
class AuditEvent:
    at_us: int
    principal: str  # the key id (or "bootstrap", "system"); never a secret
    action: str  # one of ACTIONS
    target: str  # the key id, budget id, scope, ...
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    event_id: int = 0  # assigned by the store, rising
