"""Watchers cannot starve everyone else: open streams are bounded per server and per client host,
the excess is RESOURCE_EXHAUSTED with RetryInfo, and Route keeps answering."""

from __future__ import annotations

import time

import grpc
import pytest

from router import v1 as pb
from router.client import connect, stub
from tests.api.test_e2e import EASY
from tests.conftest import RunningServer, make_settings


def _open_streams(router, n: int) -> list:
    streams = [router.WatchAnomalies(pb.WatchAnomaliesRequest()) for _ in range(n)]
    time.sleep(0.5)  # let the server take (or refuse) each one
    return streams


def _refused(stream) -> grpc.StatusCode | None:
    """The code a stream ended with, or None while it is still open."""
    if stream.done():
        return stream.code()
    return None


@pytest.fixture
def small_server(tmp_path):
    server = RunningServer(make_settings(tmp_path, max_concurrent_rpcs=8, max_watch_streams=4,
                                         max_watch_streams_per_peer=8))
    yield server
    server.stop()


def test_streams_past_the_server_limit_are_refused_and_route_still_answers(small_server):
    with connect(small_server.address) as channel:
        router = stub(channel)
        streams = _open_streams(router, 8)  # as many as the server's concurrent-RPC limit
        try:
            codes = [_refused(s) for s in streams]
            assert codes.count(None) == 4
            assert codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED) == 4
            route = router.Route(pb.RouteRequest(task_description=EASY), timeout=10)
            assert route.model
        finally:
            for s in streams:
                s.cancel()


def test_a_closed_stream_frees_its_slot(small_server):
    with connect(small_server.address) as channel:
        router = stub(channel)
        streams = _open_streams(router, 4)
        assert all(_refused(s) is None for s in streams)
        streams[0].cancel()
        time.sleep(0.3)
        [again] = _open_streams(router, 1)
        try:
            assert _refused(again) is None
        finally:
            for s in (*streams, again):
                s.cancel()


def test_one_client_host_is_held_to_its_own_limit(tmp_path):
    server = RunningServer(make_settings(tmp_path, max_watch_streams=10,
                                         max_watch_streams_per_peer=2))
    try:
        with connect(server.address) as one, connect(server.address) as two:
            streams = _open_streams(stub(one), 2) + _open_streams(stub(two), 1)
            try:
                assert [_refused(s) for s in streams] == [
                    None, None, grpc.StatusCode.RESOURCE_EXHAUSTED]
                assert "maximum of 2" in streams[2].details()
            finally:
                for s in streams:
                    s.cancel()
    finally:
        server.stop()


def test_a_stream_limit_above_half_the_rpc_limit_is_refused_at_start(tmp_path):
    with pytest.raises(ValueError, match="MAX_WATCH_STREAMS"):
        make_settings(tmp_path, max_concurrent_rpcs=8, max_watch_streams=5)
