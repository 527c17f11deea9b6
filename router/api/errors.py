"""Domain errors -> google.rpc.Status with details, in one place.

A status travels in response trailers, and a client refuses trailers over its metadata limit
(8 KiB soft, 16 KiB hard by default: the call then fails with RESOURCE_EXHAUSTED instead of the
error it explains). So the message and the details are bounded here, in UTF-8 bytes, whatever
the request held: the message to MAX_MESSAGE_BYTES (percent-encoded, it may triple), each list of
violations to the ones that fit MAX_DETAILS_BYTES (the message says how many were left out).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from router.core.errors import (
    BudgetExhausted,
    Conflict,
    InvalidRequest,
    NotFound,
    Overloaded,
    PermissionDenied,
    PreconditionFailed,
    RouterError,
    StoreUnavailable,
    Unauthenticated,
)

MAX_MESSAGE_BYTES = 1024
MAX_DETAILS_BYTES = 2048
MAX_PART_BYTES = 256  # of one field path, subject or description
V = TypeVar("V")
_CODES: list[tuple[type[RouterError], int]] = [
    (InvalidRequest, code_pb2.INVALID_ARGUMENT),
    (NotFound, code_pb2.NOT_FOUND),
    (Conflict, code_pb2.ALREADY_EXISTS),
    (BudgetExhausted, code_pb2.RESOURCE_EXHAUSTED),
    (Overloaded, code_pb2.RESOURCE_EXHAUSTED),
    (PreconditionFailed, code_pb2.FAILED_PRECONDITION),
    (StoreUnavailable, code_pb2.UNAVAILABLE),
    (Unauthenticated, code_pb2.UNAUTHENTICATED),
    (PermissionDenied, code_pb2.PERMISSION_DENIED),
]


def _pack(message: object) -> any_pb2.Any:
    detail = any_pb2.Any()
    detail.Pack(message)  # type: ignore[arg-type]
    return detail


def to_status(error: RouterError) -> grpc.Status:
    """The wire status for a domain error, with BadRequest/QuotaFailure/RetryInfo details."""
    code = next((c for kind, c in _CODES if isinstance(error, kind)), code_pb2.INTERNAL)
    details: list[any_pb2.Any] = []
    left_out = 0
    if isinstance(error, InvalidRequest):
        field_violations, left_out = _fitting(
            error.violations, lambda v: error_details_pb2.BadRequest.FieldViolation(
                field=_clip(v.field, MAX_PART_BYTES),
                description=_clip(v.description, MAX_PART_BYTES)))
        details.append(_pack(error_details_pb2.BadRequest(field_violations=field_violations)))
    elif isinstance(error, BudgetExhausted):
        if error.violations:
            quota_violations, left_out = _fitting(
                error.violations, lambda v: error_details_pb2.QuotaFailure.Violation(
                    subject=_clip(v.subject, MAX_PART_BYTES),
                    description=_clip(v.description, MAX_PART_BYTES)))
            details.append(_pack(error_details_pb2.QuotaFailure(violations=quota_violations)))
        if error.retry_after_seconds is not None:
            details.append(_pack(_retry_info(error.retry_after_seconds)))
    elif isinstance(error, Overloaded):
        details.append(_pack(_retry_info(error.retry_after_seconds)))
    elif isinstance(error, StoreUnavailable):
        details.append(_pack(_retry_info(0.1)))
    more = f" (and {left_out} more)" if left_out else ""
    message = _clip(str(error), MAX_MESSAGE_BYTES - len(more)) + more
    return rpc_status.to_status(status_pb2.Status(code=code, message=message, details=details))


def _clip(text: str, max_bytes: int) -> str:
    """``text`` within ``max_bytes`` of UTF-8, cut at a character boundary."""
    raw = text.encode()
    if len(raw) <= max_bytes:
        return text
    return raw[:max_bytes - 3].decode(errors="ignore") + "..."


def _fitting(items: Sequence[V], build: Callable[[V], Message]) -> tuple[list[Message], int]:
    """The first ``items``, built, that fit MAX_DETAILS_BYTES (always one); and how many
    did not."""
    out: list[Message] = []
    size = 0
    for item in items:
        msg = build(item)
        size += msg.ByteSize() + 3  # with its tag and length
        if out and size > MAX_DETAILS_BYTES:
            break
        out.append(msg)
    return out, len(items) - len(out)


def _retry_info(seconds: float) -> error_details_pb2.RetryInfo:
    delay = duration_pb2.Duration()
    delay.FromMilliseconds(max(0, round(seconds * 1000)))
    return error_details_pb2.RetryInfo(retry_delay=delay)


def internal_status() -> grpc.Status:
    """What a client sees of a bug: a generic message, never a stack trace."""
    return rpc_status.to_status(status_pb2.Status(
        code=code_pb2.INTERNAL, message="internal error; it has been logged"))
