"""The gRPC edge: one servicer per capability over its own service, assembled into the one
``router.v1.Router`` service the generated code registers.

Each part converts protobuf with ``router.api.convert``, calls its service, and writes one log
line per RPC (``base``); domain errors map to google.rpc.Status in ``router.api.errors``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import grpc

from router.api.grpc.anomalies import AnomalyRpcs, StreamSlots
from router.api.grpc.auth import AdminCheck
from router.api.grpc.base import Offload
from router.api.grpc.budgets import BudgetRpcs
from router.api.grpc.reports import ReportRpcs
from router.api.grpc.routing import RoutingRpcs
from router.api.grpc.usage import UsageRpcs
from router.service import Services
from router.v1 import router_pb2, router_pb2_grpc

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


def add_router(server: grpc.aio.Server, services: Services, executor: ThreadPoolExecutor,
               admin_token: str = "", store_bound_s: float | None = 5.0,
               streams: StreamSlots | None = None) -> None:
    """Register the Router service on ``server``; store-bound work runs on ``executor`` and is
    waited for at most ``store_bound_s`` (None: as long as it takes)."""
    admin = AdminCheck(admin_token)
    offload = Offload(executor, store_bound_s)
    router_pb2_grpc.add_RouterServicer_to_server(router_servicer(
        RoutingRpcs(services.routing, offload),
        UsageRpcs(services.usage, offload),
        BudgetRpcs(services.budgets, admin, offload),
        ReportRpcs(services.reports, offload),
        AnomalyRpcs(services.anomalies, admin, offload,
                    streams if streams is not None else StreamSlots(256, 16)),
    ), server)
