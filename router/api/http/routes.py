"""The URL scheme, derived from the ``router.v1.Router`` service descriptor, never listed.

Every unary RPC is ``POST /v1/{Method}`` with its request as the JSON body; the read-only ones
(named ``Get*``, ``List*`` or ``Query*``, as AIP-131/132 name reads) also answer
``GET /v1/{Method}?field=value``. A server-streaming RPC is ``GET /v1/{Method}?...`` as
server-sent events. An RPC added to the proto is served without editing anything here.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf import message_factory
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message

PREFIX = "/v1/"
READ_PREFIXES = ("Get", "List", "Query")


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    request: type[Message]
    response: type[Message]
    streaming: bool  # server streaming: served as server-sent events
    methods: tuple[str, ...]  # the HTTP methods it answers


def routes(service: ServiceDescriptor) -> dict[str, Route]:
    """Path -> route for every method of ``service``."""
    table = {}
    for m in service.methods:
        if m.client_streaming:
            raise TypeError(f"{m.name}: client streaming has no HTTP mapping here")
        if m.server_streaming:
            methods: tuple[str, ...] = ("GET",)
        elif m.name.startswith(READ_PREFIXES):
            methods = ("POST", "GET")
        else:
            methods = ("POST",)
        table[PREFIX + m.name] = Route(m.name, message_factory.GetMessageClass(m.input_type),
                                       message_factory.GetMessageClass(m.output_type),
                                       m.server_streaming, methods)
    return table
