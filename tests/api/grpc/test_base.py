"""The edge's bounded wait for store-bound work: UNAVAILABLE in time, and what the work did once
nobody waits any more is undone."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from router.api.grpc.base import Offload
from router.core.errors import StoreUnavailable


@pytest.fixture
def executor():
    with ThreadPoolExecutor(2) as pool:
        yield pool


def test_work_within_the_bound_returns_its_result(executor):
    offload = Offload(executor, bound_s=1.0)
    assert asyncio.run(offload.run(lambda x: x * 2, 21)) == 42


def test_work_past_the_bound_is_unavailable_in_time_and_its_result_is_undone(executor):
    offload = Offload(executor, bound_s=0.1)
    undone: list[str] = []
    release = threading.Event()

    def slow() -> str:
        release.wait(5)
        return "decision-1"

    async def call() -> float:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match=r"did not answer within 0\.1 s"):
            await offload.run(slow, on_abandoned=undone.append)
        elapsed = time.monotonic() - started
        release.set()
        for _ in range(100):  # the abandoned work finishes on its thread, then is undone
            if undone:
                break
            await asyncio.sleep(0.01)
        return elapsed

    elapsed = asyncio.run(call())
    assert elapsed < 1.0
    assert undone == ["decision-1"]


def test_abandoned_work_that_fails_has_nothing_to_undo(executor):
    offload = Offload(executor, bound_s=0.05)
    undone: list[object] = []

    def failing() -> None:
        time.sleep(0.2)
        raise RuntimeError("store down")

    async def call() -> None:
        with pytest.raises(StoreUnavailable):
            await offload.run(failing, on_abandoned=undone.append)
        await asyncio.sleep(0.4)

    asyncio.run(call())
    assert undone == []


def test_a_cancelled_caller_undoes_the_work_when_it_completes(executor):
    offload = Offload(executor, bound_s=5.0)
    undone: list[str] = []

    async def call() -> None:
        task = asyncio.ensure_future(offload.run(lambda: (time.sleep(0.1), "d")[1],
                                                 on_abandoned=undone.append))
        await asyncio.sleep(0.02)
        task.cancel()  # the client went away
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.3)

    asyncio.run(call())
    assert undone == ["d"]


def test_a_committed_future_is_awaited_within_the_bound(executor):
    offload = Offload(executor, bound_s=0.05)
    pending: Future[int] = Future()

    async def call() -> None:
        with pytest.raises(StoreUnavailable):
            await offload.wait(pending)

    asyncio.run(call())
    done: Future[int] = Future()
    done.set_result(7)
    assert asyncio.run(offload.wait(done)) == 7
