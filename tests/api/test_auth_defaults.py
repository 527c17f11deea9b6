"""Safe defaults: a server never listens beyond loopback with nothing to authenticate (unless
told to with ROUTER_AUTH=off), the CLI says why it will not start, a loopback server without
keys runs open and says so once; and a key revoked on one replica is refused by another within
ROUTER_BUDGET_REFRESH_S (plus a tick)."""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest

from router import v1 as pb
from router.auth import StartRefused
from router.client import bearer, connect, stub
from router.server import build_app
from tests.conftest import RunningServer, make_settings

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "bootstrap-admin-token"


def env_without_router() -> dict[str, str]:
    """This process's environment without any ROUTER_* setting (the developer's own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTER_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def listening_on(address: str, directory: Path, **overrides: object):
    directory.mkdir(exist_ok=True)
    return dataclasses.replace(make_settings(directory, **overrides), address=address)


@pytest.mark.parametrize("address", ["0.0.0.0:0", "[::]:0", "example.com:0"])
def test_an_exposed_server_without_keys_or_token_is_refused(tmp_path: Path, address: str):
    with pytest.raises(StartRefused) as refused:
        build_app(listening_on(address, tmp_path))
    message = str(refused.value)
    assert "ROUTER_AUTH" in message and "ROUTER_ADMIN_TOKEN" in message
    assert address in message


def assert_only_the_admin_token_is_taken(address: str) -> None:
    """A call without a key is UNAUTHENTICATED; the bootstrap admin token is served."""
    with connect(address, key="", tls=False) as channel:
        router = stub(channel)
        with pytest.raises(grpc.RpcError) as err:
            router.ListModels(pb.ListModelsRequest(), timeout=10)
        assert err.value.code() is grpc.StatusCode.UNAUTHENTICATED
        assert router.ListModels(pb.ListModelsRequest(), timeout=10, metadata=bearer(TOKEN))


def test_an_exposed_server_runs_with_the_admin_token_or_auth_off(tmp_path: Path):
    guarded = RunningServer(listening_on("0.0.0.0:0", tmp_path / "guarded", admin_token=TOKEN))
    try:
        assert_only_the_admin_token_is_taken(guarded.address)
    finally:
        guarded.stop()
    open_ = RunningServer(listening_on("0.0.0.0:0", tmp_path / "open", auth="off"))
    try:
        assert open_.app.auth.enforce is False and "ROUTER_AUTH=off" in open_.app.auth.message
        with connect(open_.address, key="", tls=False) as channel:
            assert stub(channel).ListModels(pb.ListModelsRequest(), timeout=10).models
    finally:
        open_.stop()


def test_auth_on_without_keys_accepts_only_the_admin_token(tmp_path: Path):
    running = RunningServer(make_settings(tmp_path, auth="on", admin_token=TOKEN))
    try:
        assert_only_the_admin_token_is_taken(running.address)
    finally:
        running.stop()


def test_router_serve_on_an_exposed_address_exits_2_naming_the_setting(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "-m", "router", "serve", "--address", "0.0.0.0:0",
         "--database-url", f"sqlite:///{tmp_path / 'router.db'}"],
        env=env_without_router(), cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done
    assert done.stderr.startswith("router serve: refusing to listen on 0.0.0.0:0"), done.stderr
    assert "ROUTER_AUTH=off" in done.stderr and "ROUTER_ADMIN_TOKEN" in done.stderr


def read_lines_until(proc: subprocess.Popen, event: str, timeout_s: float) -> list[dict]:
    """The JSON log lines ``proc`` writes to stderr up to and including ``event``'s (read on a
    thread: a blocking readline cannot be given a deadline)."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(raw) for raw in iter(proc.stderr.readline, "")],
                     daemon=True).start()
    seen: list[dict] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            seen.append(json.loads(lines.get(timeout=deadline - time.monotonic())))
        except queue.Empty:
            break
        if seen[-1].get("event") == event:
            return seen
    raise AssertionError(f"no {event} line within {timeout_s} s: {seen}")


def test_a_loopback_server_without_keys_runs_open_with_one_warning(tmp_path: Path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "router", "serve", "--address", "127.0.0.1:0",
         "--http-address", "127.0.0.1:0",
         "--database-url", f"sqlite:///{tmp_path / 'router.db'}", "--log-level", "info",
         "--anomaly-interval-s", "0"],
        env=env_without_router(), cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        lines = read_lines_until(proc, "server.started", 60)
        warnings = [line for line in lines if line["level"] == "warning"]
        assert [w["event"] for w in warnings] == ["server.auth"], warnings
        assert warnings[0]["message"].startswith("running open: no API key exists and the "
                                                 "server listens on loopback only")
        port = lines[-1]["port"]
        with connect(f"127.0.0.1:{port}", key="", tls=False) as channel:
            router = stub(channel)
            assert router.Route(pb.RouteRequest(task_description="Say hello."),
                                timeout=10).decision_id
            with pytest.raises(grpc.RpcError) as err:  # administration is never open
                router.ListApiKeys(pb.ListApiKeysRequest(), timeout=10)
            assert err.value.code() is grpc.StatusCode.UNAUTHENTICATED
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


@pytest.mark.postgres
def test_a_revoked_key_reaches_another_replica_within_the_refresh(tmp_path: Path, pg_url: str):
    refresh_s, tick_s = 0.5, 0.1
    settings = dataclasses.replace(
        make_settings(tmp_path, admin_token=TOKEN, anomaly_interval_s=0.0,
                      budget_refresh_s=refresh_s, budget_tick_s=tick_s),
        database_url=pg_url)
    first = RunningServer(settings)
    second = None
    try:
        with connect(first.address, key=TOKEN, tls=False) as admin_channel:
            admin = stub(admin_channel)
            old = admin.CreateApiKey(pb.CreateApiKeyRequest(key=pb.ApiKey(role=pb.ROLE_READER)))
            second = RunningServer(settings)
            with connect(second.address, key="", tls=False) as channel:
                router = stub(channel)

                def code(secret: str) -> grpc.StatusCode:
                    try:
                        router.ListModels(pb.ListModelsRequest(), timeout=10,
                                          metadata=bearer(secret))
                        return grpc.StatusCode.OK
                    except grpc.RpcError as err:
                        return err.code()

                def until(secret: str, want: grpc.StatusCode) -> float:
                    """Seconds until the second replica answers ``want``."""
                    started = time.monotonic()
                    while code(secret) is not want:
                        assert time.monotonic() - started < 10, f"never {want.name}"
                        time.sleep(0.02)
                    return time.monotonic() - started

                assert code(old.secret) is grpc.StatusCode.OK
                # a key made on the first replica is accepted by the second...
                new = admin.CreateApiKey(pb.CreateApiKeyRequest(key=pb.ApiKey(
                    role=pb.ROLE_READER)))
                assert until(new.secret, grpc.StatusCode.OK) <= refresh_s + tick_s + 0.5
                # ...and one revoked there is refused here, in the same bound
                admin.RevokeApiKey(pb.RevokeApiKeyRequest(key_id=old.key.key_id))
                waited = until(old.secret, grpc.StatusCode.UNAUTHENTICATED)
                assert waited <= refresh_s + tick_s + 0.5, waited
                assert code(new.secret) is grpc.StatusCode.OK
    finally:
        if second is not None:
            second.stop()
        first.stop()
