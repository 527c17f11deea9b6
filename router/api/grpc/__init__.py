"""The gRPC edge: one servicer per capability over its own service, assembled into the one
``router.v1.Router`` service, registered with the edge's request parser (``base``).

Each part converts protobuf with ``router.api.convert``, calls its service, and writes one log
line per RPC (``base``); domain errors map to google.rpc.Status in ``router.api.errors``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import grpc
from google.protobuf import message_factory

from router.api.grpc.access import AccessRpcs
from router.api.grpc.anomalies import AnomalyRpcs, StreamSlots
from router.api.grpc.auth import Callers
from router.api.grpc.base import Offload, request_parser
from router.api.grpc.budgets import BudgetRpcs
from router.api.grpc.feedback import FeedbackRpcs
from router.api.grpc.reports import ReportRpcs
from router.api.grpc.routing import RoutingRpcs
from router.api.grpc.usage import UsageRpcs
from router.service import Services
from router.v1 import router_pb2

SERVICE = router_pb2.DESCRIPTOR.services_by_name["Router"]


def router_servicer(*parts: object) -> SimpleNamespace:
    """The Router service's methods gathered from ``parts``; every RPC served exactly once."""
    methods: dict[str, object] = {}
    for part in parts:
        for m in SERVICE.methods:
            handler = getattr(part, m.name, None)
            if handler is None:
                continue
            if m.name in methods:
                raise TypeError(f"{m.name} is served by two parts")
            methods[m.name] = handler
    missing = sorted(m.name for m in SERVICE.methods if m.name not in methods)
    if missing:
        raise TypeError(f"no part serves {', '.join(missing)}")
    return SimpleNamespace(**methods)


def method_handlers(servicer: object, max_message_bytes: int
                    ) -> dict[str, grpc.RpcMethodHandler]:
    """The Router's handlers as the generated ``add_RouterServicer_to_server`` builds them, but
    with ``request_parser`` as every method's deserializer."""
    handlers = {}
    for m in SERVICE.methods:
        if m.client_streaming:
            raise TypeError(f"{m.name}: client streaming is not supported here")
        make = (grpc.unary_stream_rpc_method_handler if m.server_streaming
                else grpc.unary_unary_rpc_method_handler)
        handlers[m.name] = make(
            getattr(servicer, m.name),
            request_deserializer=request_parser(message_factory.GetMessageClass(m.input_type),
                                                max_message_bytes),
            response_serializer=message_factory.GetMessageClass(m.output_type).SerializeToString)
    return handlers


def add_router(server: grpc.aio.Server, services: Services, executor: ThreadPoolExecutor,
               store_bound_s: float | None = 5.0, streams: StreamSlots | None = None, *,
               max_message_bytes: int, client_certificates: bool = False) -> SimpleNamespace:
    """Register the Router service on ``server``; store-bound work runs on ``executor`` and is
    waited for at most ``store_bound_s`` (None: as long as it takes); requests over
    ``max_message_bytes`` are INVALID_ARGUMENT. Callers are authenticated by their bearer key
    or, with ``client_certificates`` (mTLS), their certificate's subject. Returns the servicer
    registered, for the other edges to serve the very same methods (``router.api.http``)."""
    callers = Callers(services.keys, client_certificates=client_certificates)
    offload = Offload(executor, store_bound_s)
    servicer = router_servicer(
        RoutingRpcs(services.routing, offload, callers),
        UsageRpcs(services.usage, offload, callers),
        FeedbackRpcs(services.feedback, offload, callers),
        BudgetRpcs(services.budgets, offload, callers),
        ReportRpcs(services.reports, offload, callers),
        AnomalyRpcs(services.anomalies, offload, callers,
                    streams if streams is not None else StreamSlots(256, 16)),
        AccessRpcs(services.keys, services.audit, offload, callers),
    )
    handlers = method_handlers(servicer, max_message_bytes)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE.full_name,
                                                                          handlers),))
    server.add_registered_method_handlers(SERVICE.full_name, handlers)
    return servicer
