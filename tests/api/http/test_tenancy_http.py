"""The tenancy table of ``tests/api/test_tenancy.py`` (every RPC under every kind of caller)
over the HTTP edge: the same callers succeed, the others are refused with the same code (as the
HTTP status the code maps to) and, word for word, the same message as over gRPC; a refused call
changes nothing; a successful one shows what the table checks (only the caller's team's rows).
Plain HTTP and HTTPS (the gRPC server's certificate)."""

from __future__ import annotations

import dataclasses
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import grpc
import pytest
from google.protobuf import json_format, message_factory
from google.protobuf.message import Message
from google.rpc import status_pb2

from router import v1 as pb
from router.api.grpc import SERVICE
from router.api.http.codec import http_status
from tests.api import test_tenancy as table
from tests.api.http.client import Http
from tests.api.tenancy import World, open_world
from tests.certs import Material

CODES = {c.value[0]: c for c in grpc.StatusCode}


@dataclasses.dataclass
class HttpWorld(World):
    """The tenancy world, its calls made over HTTP (and, when refused, over gRPC as well, to
    compare the refusals)."""

    http: Any = None

    def call(self, principal: str, rpc: str, request: Message, *, stream_items: int = 0
             ) -> tuple[grpc.StatusCode, str, Any]:
        headers = dict(self.metadata(principal))
        key = headers.get("authorization", "").removeprefix("Bearer ") or None
        if rpc == "WatchAnomalies":
            query = urlencode(json_format.MessageToDict(request), doseq=True)
            stream = self.http.stream(f"/v1/WatchAnomalies?{query}", key, events=stream_items)
            if stream.status == 200:
                return grpc.StatusCode.OK, "", [json_format.Parse(e.data, pb.Anomaly())
                                                for e in stream.events]
            status, body = stream.status, stream.body
        else:
            answer = self.http.rpc(rpc, request, key)
            if answer.status == 200:
                output = message_factory.GetMessageClass(
                    SERVICE.methods_by_name[rpc].output_type)
                return grpc.StatusCode.OK, "", json_format.Parse(answer.text, output())
            status, body = answer.status, answer.text
        refusal = json_format.Parse(body, status_pb2.Status())
        code = CODES[refusal.code]
        assert status == http_status(refusal.code), (rpc, status, body)
        over_grpc = World.call(self, principal, rpc, request, stream_items=stream_items)
        assert over_grpc[:2] == (code, refusal.message), (rpc, principal, over_grpc, body)
        return code, refusal.message, None


def client_context(material: Material | None) -> ssl.SSLContext | None:
    return None if material is None else ssl.create_default_context(cafile=str(material.ca))


@pytest.mark.parametrize("transport", ["plain", "tls"])
def test_every_rpc_under_every_caller_over_http(tmp_path: Path, tls_material: Material,
                                                transport: str):
    with open_world(tmp_path, f"sqlite:///{tmp_path / 'store.db'}", transport,
                    tls_material) as world:
        scheme = "https" if transport == "tls" else "http"
        http = Http(f"{scheme}://127.0.0.1:{world.server.http_port}",
                    client_context(tls_material if transport == "tls" else None))
        over_http = HttpWorld(**{f.name: getattr(world, f.name)
                                 for f in dataclasses.fields(World)}, http=http)
        failures = table.run_table(over_http)
    assert not failures, "\n".join(failures)
