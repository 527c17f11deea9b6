"""A real server (gRPC and HTTP on port 0, one process, one event loop) with the bootstrap admin
token and a key of team ``finance``, and HTTP clients of it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from router import v1 as pb
from router.client import connect, stub
from router.core.clock import ManualClock
from tests.api.http.client import Http
from tests.conftest import RunningServer, make_settings

TOKEN = "http-admin-token"
TEAM = "finance"
NOW_S = 1_795_867_200  # 2026-11-28 12:00 UTC


@dataclass
class Served:
    server: RunningServer
    clock: ManualClock
    http: Http
    grpc: grpc.Channel  # sends no key of its own
    team_key: str  # a key of team finance


def serve(tmp_path: Path, **overrides: object) -> Iterator[Served]:
    clock = ManualClock(NOW_S * 10**6)
    server = RunningServer(make_settings(tmp_path, admin_token=TOKEN, anomaly_interval_s=0.0,
                                         **overrides), clock)
    try:
        with connect(server.address, key=TOKEN, tls=False) as admin_channel:
            made = stub(admin_channel).CreateApiKey(pb.CreateApiKeyRequest(key=pb.ApiKey(
                role=pb.ROLE_TEAM, team=TEAM, permissions=["budgets"])))
        with connect(server.address, key="", tls=False) as channel:
            yield Served(server, clock, Http(server.http_url), channel, made.secret)
    finally:
        server.stop()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from serve(tmp_path)
