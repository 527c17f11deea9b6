"""The client helpers: the address from the environment, bearer metadata, and a channel that
reaches a real server (or says plainly that nothing answers)."""

from __future__ import annotations

import socket

import grpc
import pytest

from router import v1 as pb
from router.client import DEFAULT_ADDRESS, bearer, connect, default_address, stub, wait_ready


def test_default_address_honours_router_address(monkeypatch):
    monkeypatch.setenv("ROUTER_ADDRESS", "router.internal:6000")
    assert default_address() == "router.internal:6000"


@pytest.mark.parametrize("value", [None, ""])
def test_default_address_falls_back_when_router_address_is_unset_or_empty(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("ROUTER_ADDRESS", raising=False)
    else:
        monkeypatch.setenv("ROUTER_ADDRESS", value)
    assert default_address() == DEFAULT_ADDRESS == "127.0.0.1:50051"


def test_bearer_metadata():
    assert bearer("") == ()
    assert bearer("t") == (("authorization", "Bearer t"),)


def test_connect_and_stub_reach_a_real_server(server):
    with connect(server.address) as channel:
        wait_ready(channel, timeout_s=10)
        models = stub(channel).ListModels(pb.ListModelsRequest(), timeout=10).models
    ids = {m.id for m in models}
    assert "gpt-4o" in ids and "gpt-4o-mini" in ids


def test_connect_without_an_address_uses_router_address(server, monkeypatch):
    monkeypatch.setenv("ROUTER_ADDRESS", server.address)
    with connect() as channel:
        wait_ready(channel, timeout_s=10)
        assert stub(channel).ListModels(pb.ListModelsRequest(), timeout=10).models


def test_wait_ready_raises_connection_error_when_nothing_answers():
    with socket.socket() as probe:  # a port that was free a moment ago, closed now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with connect(f"127.0.0.1:{port}") as channel, \
            pytest.raises(ConnectionError, match="no router answering") as refused:
        wait_ready(channel, timeout_s=0.5)
    assert isinstance(refused.value.__cause__, grpc.FutureTimeoutError)
