"""The domain's exception tree, mapped to wire codes once, at the gRPC edge.

    RouterError
    ├── InvalidRequest          bad input whatever the state (field + description)
    ├── NotFound
    │   ├── UnknownDecision
    │   └── UnknownUsage
    ├── Conflict                same idempotency key, different payload
    ├── BudgetExhausted         nothing affordable fits (quota details, retry hint)
    ├── PreconditionFailed      e.g. a paused scope, a budget declared in the file
    ├── Unauthenticated         no credentials where an admin token is needed
    ├── PermissionDenied        wrong credentials (or none configured)
    └── StoreUnavailable        the store cannot be reached; retry with backoff
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_ECHO_CHARS = 80


def quoted(text: str, limit: int = MAX_ECHO_CHARS) -> str:
    """``text`` quoted for an error message, cut to its first ``limit`` characters.

    Client input is echoed so the client recognises it, never whole: the message travels in a
    response trailer whose size the client bounds (16 KiB by default), and a longer one fails
    the call with RESOURCE_EXHAUSTED instead of the error it explains."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


class RouterError(Exception):
    """Base of every error the service means to report to a client."""


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class InvalidRequest(RouterError):
    """One or more request fields are invalid."""

    def __init__(self, violations: list[FieldViolation] | FieldViolation) -> None:
        self.violations = [violations] if isinstance(violations, FieldViolation) else violations
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in self.violations))

    @classmethod
    def of(cls, field_name: str, description: str) -> InvalidRequest:
        return cls(FieldViolation(field_name, description))


class NotFound(RouterError):
    """A referenced resource does not exist."""


class UnknownDecision(NotFound):
    def __init__(self, decision_id: str) -> None:
        self.decision_id = decision_id
        super().__init__(f"decision {quoted(decision_id)} not found")


class UnknownUsage(NotFound):
    def __init__(self, usage_id: str) -> None:
        self.usage_id = usage_id
        super().__init__(f"usage {quoted(usage_id)} not found")


class Conflict(RouterError):
    """An idempotency key was reused with a different payload."""


@dataclass
class QuotaViolation:
    subject: str
    description: str


class BudgetExhausted(RouterError):
    """No candidate fits the money available; details name what ran out."""

    def __init__(
        self,
        message: str,
        violations: list[QuotaViolation] | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        self.violations = violations or []
        self.retry_after_seconds = retry_after_seconds
        super().__init__(message)


class PreconditionFailed(RouterError):
    """The system is not in a state that allows the request."""


class Unauthenticated(RouterError):
    """The call needs credentials it did not carry."""


class PermissionDenied(RouterError):
    """The call's credentials do not allow it."""


class Overloaded(RouterError):
    """A bounded resource of the server (open streams) is used up; retry later."""

    def __init__(self, message: str, retry_after_seconds: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class StoreUnavailable(RouterError):
    """The store cannot be reached in time."""


__all__ = [
    "BudgetExhausted",
    "Conflict",
    "FieldViolation",
    "InvalidRequest",
    "NotFound",
    "PermissionDenied",
    "PreconditionFailed",
    "QuotaViolation",
    "RouterError",
    "StoreUnavailable",
    "Unauthenticated",
    "UnknownDecision",
    "UnknownUsage",
    "quoted",
]
