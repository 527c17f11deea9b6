"""OTLP's protobuf <-> the domain: an ExportTraceServiceRequest as ``router.core.otlp.Span``s,
the ingestion's result as an ExportTraceServiceResponse, and OTLP/JSON's differences from the
proto's canonical JSON mapping. Shared by the gRPC and the HTTP edge, as ``convert`` is.

OTLP/JSON is the canonical mapping but for two things: trace and span ids are hex strings (the
mapping would read bytes as base64), and field names may be lowerCamelCase or the proto's.
Enum values may be numbers, 64-bit integers strings or numbers, and unknown fields are ignored
(OTLP/JSON receivers must ignore them), all of which ``json_format`` reads as the spec says.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from router.api.grpc.base import Refused
from router.core.errors import FieldViolation, InvalidRequest
from router.core.otlp import Span, Value
from router.service.otlp import ExportResult

ExportRequest = trace_service_pb2.ExportTraceServiceRequest
ExportResponse = trace_service_pb2.ExportTraceServiceResponse
MAX_DEPTH = 16  # of nested array and kvlist values decoded; deeper ones are left out (None)


def spans(request: Any) -> list[Span]:
    """Every span of the request, with its resource's attributes."""
    out = []
    for rs in request.resource_spans:
        resource = attributes(rs.resource.attributes)
        for ss in rs.scope_spans:
            for s in ss.spans:
                out.append(Span(
                    trace_id=s.trace_id, span_id=s.span_id, name=s.name,
                    start_ns=s.start_time_unix_nano, end_ns=s.end_time_unix_nano,
                    error=s.status.code == trace_pb2.Status.STATUS_CODE_ERROR,
                    attributes=attributes(s.attributes), resource=resource))
    return out


def attributes(kvs: Any) -> dict[str, Value]:
    """KeyValue list -> dict; of a key given twice, the last (as the SDKs' own readers do)."""
    return {kv.key: value(kv.value) for kv in kvs}


def value(v: Any, depth: int = 0) -> Value:
    """One AnyValue in Python's terms (None when it holds nothing)."""
    kind = v.WhichOneof("value")
    if kind is None or depth > MAX_DEPTH:
        return None
    if kind == "array_value":
        return tuple(value(x, depth + 1) for x in v.array_value.values)
    if kind == "kvlist_value":
        return {kv.key: value(kv.value, depth + 1) for kv in v.kvlist_value.values}
    found: Value = getattr(v, kind)
    return found


def response(result: ExportResult) -> Any:
    """The answer: a partial success only when spans were rejected (the spec leaves it unset
    when everything was accepted)."""
    answer = ExportResponse()
    if result.rejected:
        answer.partial_success.rejected_spans = result.rejected
        answer.partial_success.error_message = result.error_message
    return answer


def request_parser(max_bytes: int) -> Callable[[bytes], Any]:
    """The gRPC deserializer of Export: the request, or Refused when the bytes are no request
    or over ``max_bytes`` (as the Router's parser; its NUL check is left out: a NUL in a prompt
    attribute is no reason to refuse a batch, and the keys that are recorded are checked by the
    usage report's rules)."""
    def parse(data: bytes) -> Any:
        if len(data) > max_bytes:
            return Refused(InvalidRequest.of("", f"the request is {len(data)} bytes; the limit "
                                                 f"is {max_bytes} (ROUTER_MAX_MESSAGE_BYTES)"))
        try:
            return ExportRequest.FromString(data)
        except DecodeError as exc:
            return Refused(InvalidRequest.of("", "not a valid ExportTraceServiceRequest: "
                                                 f"{str(exc).rpartition(': ')[2]}"))

    return parse


# -- OTLP/JSON -----------------------------------------------------------------------------------

_ID_FIELDS = (("traceId", "trace_id"), ("spanId", "span_id"), ("parentSpanId", "parent_span_id"))


def from_json(document: Any) -> Any:
    """An OTLP/JSON request (parsed JSON) as the message; InvalidRequest naming the field
    (``resourceSpans[0].scopeSpans[0].spans[2].traceId``) when it is not one."""
    if not isinstance(document, dict):
        raise InvalidRequest.of("", "the body must be a JSON object (ExportTraceServiceRequest)")
    for i, rs in enumerate(_items(document, "resourceSpans", "resource_spans")):
        for j, ss in enumerate(_items(rs, "scopeSpans", "scope_spans")):
            for k, span in enumerate(_items(ss, "spans", "spans")):
                path = f"resourceSpans[{i}].scopeSpans[{j}].spans[{k}]"
                _ids_to_base64(span, path)
                for n, link in enumerate(_items(span, "links", "links")):
                    _ids_to_base64(link, f"{path}.links[{n}]")
    try:
        return json_format.ParseDict(document, ExportRequest(), ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise InvalidRequest.of("", f"not an OTLP/JSON ExportTraceServiceRequest: "
                                    f"{str(exc).splitlines()[0][:300]}") from None


def to_json(message: Any) -> dict[str, Any]:
    return json_format.MessageToDict(message)


def _items(parent: Any, camel: str, snake: str) -> list[Any]:
    if not isinstance(parent, dict):
        return []
    found = parent.get(camel, parent.get(snake))
    return [x for x in found if isinstance(x, dict)] if isinstance(found, list) else []


def _ids_to_base64(obj: dict[str, Any], path: str) -> None:
    """Hex ids rewritten as the base64 the canonical mapping reads bytes from."""
    for camel, snake in _ID_FIELDS:
        for key in (camel, snake):
            text = obj.get(key)
            if text is None or text == "":
                continue
            try:
                raw = bytes.fromhex(text) if isinstance(text, str) else None
            except ValueError:
                raw = None
            if raw is None:
                raise InvalidRequest(FieldViolation(f"{path}.{camel}",
                                                    "must be a hex string (OTLP/JSON)"))
            obj[key] = base64.b64encode(raw).decode()

