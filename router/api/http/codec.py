"""JSON <-> protobuf at the HTTP edge, by the proto's canonical JSON mapping (``json_format``).

A request body (or a GET's query string) becomes the RPC's request message, then goes through
the gRPC edge's own ``request_parser`` (size, NULs), so both edges refuse exactly the same
requests. What cannot be parsed becomes a ``Refused`` naming the field at fault, which the
servicer answers after authenticating the caller, as it answers the gRPC parser's refusals.
Responses are lowerCamelCase JSON with int64 as strings, as the mapping says.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, cast

import grpc
import orjson
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2

from router.api.grpc.base import Refused
from router.core.errors import FieldViolation, InvalidRequest

Parsed = Message | Refused
STATUS_DETAILS_KEY = "grpc-status-details-bin"
# google.rpc.Code -> HTTP status, as google/rpc/code.proto documents each code
HTTP_STATUS = {
    code_pb2.OK: 200, code_pb2.CANCELLED: 499, code_pb2.UNKNOWN: 500,
    code_pb2.INVALID_ARGUMENT: 400, code_pb2.DEADLINE_EXCEEDED: 504, code_pb2.NOT_FOUND: 404,
    code_pb2.ALREADY_EXISTS: 409, code_pb2.PERMISSION_DENIED: 403,
    code_pb2.UNAUTHENTICATED: 401, code_pb2.RESOURCE_EXHAUSTED: 429,
    code_pb2.FAILED_PRECONDITION: 400, code_pb2.ABORTED: 409, code_pb2.OUT_OF_RANGE: 400,
    code_pb2.UNIMPLEMENTED: 501, code_pb2.INTERNAL: 500, code_pb2.UNAVAILABLE: 503,
    code_pb2.DATA_LOSS: 500,
}
_NESTED = re.compile(r"Failed to parse (\S+) field: ")
_UNKNOWN = re.compile(r'has no field named "([^"]*)"')


def http_status(code: int) -> int:
    return HTTP_STATUS.get(code, 500)


def refused(field: str, description: str) -> Refused:
    return Refused(InvalidRequest.of(field, description))


def checked(message: Message, parser: Callable[[bytes], Parsed]) -> Parsed:
    """``message`` through the gRPC edge's request parser (``request_parser``): what the
    servicer gets is what it would get had the message come over gRPC."""
    return parser(message.SerializeToString())


def from_body(body: bytes, message: type[Message], parser: Callable[[bytes], Parsed]) -> Parsed:
    """The request in a JSON body (an empty body is ``{}``), or why it is refused."""
    if not body.strip():
        return parser(b"")
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        return refused("", f"the body is not UTF-8 (byte {exc.start})")
    if not text.lstrip().startswith("{"):
        return refused("", f"the body must be a JSON object (a {message.DESCRIPTOR.full_name} "
                           "in the proto's JSON mapping)")
    try:
        return checked(json_format.Parse(text, message()), parser)
    except json_format.ParseError as exc:
        return Refused(parse_error(exc, cast(Descriptor, message.DESCRIPTOR)))


def from_query(params: Iterable[tuple[str, str]], message: type[Message],
               parser: Callable[[bytes], Parsed]) -> Parsed:
    """The request in a query string: ``field=value`` by the field's JSON or proto name,
    ``a.b=value`` into a message field, a repeated field's values each as its own parameter,
    ``labels.key=value`` into a map; a value is what the JSON mapping would put in a string
    (timestamps as RFC 3339, enums by name, ``true``/``false``)."""
    tree: dict[str, Any] = {}
    for key, value in params:
        node, desc = tree, cast(Descriptor, message.DESCRIPTOR)
        parts = key.split(".")
        path: list[str] = []
        for i, part in enumerate(parts):
            fd = _field(desc, part)
            if fd is None:
                return refused(".".join([*path, part]), f"{desc.full_name} has no such field")
            path.append(fd.name)
            last = i == len(parts) - 1
            if _is_map(fd):
                if last or i != len(parts) - 2:
                    return refused(".".join(path), "a map entry is set as name.key=value")
                node.setdefault(fd.name, {})[parts[-1]] = value
                break
            if last:
                scalar = _scalar(fd, value)
                if fd.is_repeated:
                    node.setdefault(fd.name, []).append(scalar)
                elif fd.name in node:
                    return refused(".".join(path), "set more than once")
                else:
                    node[fd.name] = scalar
            elif fd.message_type is None or fd.is_repeated or _is_well_known(fd):
                return refused(".".join(path), "has no fields to set in a query string")
            else:
                node = node.setdefault(fd.name, {})
                desc = fd.message_type
    try:
        return checked(json_format.ParseDict(tree, message()), parser)
    except json_format.ParseError as exc:
        return Refused(parse_error(exc, cast(Descriptor, message.DESCRIPTOR)))


def _field(desc: Descriptor, name: str) -> FieldDescriptor | None:
    return desc.fields_by_name.get(name) or next(
        (f for f in desc.fields if f.json_name == name), None)


def _is_map(fd: FieldDescriptor) -> bool:
    return (fd.message_type is not None and fd.is_repeated
            and fd.message_type.GetOptions().map_entry)


def _is_well_known(fd: FieldDescriptor) -> bool:
    return fd.message_type is not None and fd.message_type.full_name.startswith("google.protobuf.")


def _scalar(fd: FieldDescriptor, value: str) -> Any:
    if fd.type == FieldDescriptor.TYPE_BOOL and value in ("true", "false"):
        return value == "true"
    return value


def parse_error(exc: json_format.ParseError, desc: Descriptor) -> InvalidRequest:
    """A ParseError as the field violation it describes, the field by its proto path (as the
    service names fields), e.g. ``attribution.tam`` for an unknown field of the attribution."""
    text = str(exc).split("\n", 1)[0]
    names = _NESTED.findall(text)
    unknown = _UNKNOWN.search(text)
    if unknown:
        names.append(unknown.group(1))
    path: list[str] = []
    current: Descriptor | None = desc
    for name in names:
        fd = _field(current, name) if current is not None else None
        path.append(fd.name if fd is not None else name)
        current = fd.message_type if fd is not None and not _is_map(fd) else None
    reason = _NESTED.sub("", text).removeprefix("Failed to load JSON: ")
    reason = re.sub(r" at \"?[\w.\[\]]+\"?\.?$", "", reason).rstrip(".")
    if text.startswith("Failed to load JSON"):
        return InvalidRequest.of("", f"not valid JSON: {reason}")
    return InvalidRequest(FieldViolation(".".join(path), reason))


# -- responses ---------------------------------------------------------------------------------

def to_json(message: Message) -> bytes:
    return orjson.dumps(json_format.MessageToDict(message))


def status_of(code: grpc.StatusCode | int, details: str,
              trailing_metadata: Iterable[tuple[str, str | bytes]] | None) -> status_pb2.Status:
    """The google.rpc.Status of an aborted call: the one its trailer carries (with its
    details), or one made of its code and message."""
    for key, value in trailing_metadata or ():
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            return status_pb2.Status.FromString(value)
    number = code.value[0] if isinstance(code, grpc.StatusCode) else code
    return status_pb2.Status(code=number, message=details or "")


def status_json(status: status_pb2.Status) -> bytes:
    """The Status as JSON, its Any details (BadRequest, QuotaFailure, RetryInfo, ErrorInfo...)
    resolved through the default pool, which ``error_details_pb2`` registers."""
    return orjson.dumps(json_format.MessageToDict(status))


def error(code: int, message: str, *details: Message) -> status_pb2.Status:
    status = status_pb2.Status(code=code, message=message)
    for detail in details:
        status.details.add().Pack(detail)
    return status


def retry_after_s(status: status_pb2.Status) -> int | None:
    """Whole seconds of the status's RetryInfo (rounded up), for a Retry-After header."""
    for detail in status.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            delay = info.retry_delay
            return max(0, delay.seconds + (1 if delay.nanos > 0 else 0))
    return None
