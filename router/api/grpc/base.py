"""What every capability's servicer shares: the error mapping, the log line, the offload pool.

One canonical log line per RPC (structlog), with the RPC's keys bound by its body; domain errors
become their google.rpc.Status once, here; anything else is INTERNAL and logged with its trace.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import structlog

from router.api.errors import internal_status, to_status
from router.core.errors import RouterError
from router.core.records import Attribution

log = structlog.get_logger("router.rpc")
T = TypeVar("T")
Context = Any  # grpc.aio.ServicerContext; grpcio ships no type information


def log_keys(a: Attribution) -> dict[str, str]:
    """The attribution keys worth a log field (the empty ones are left out)."""
    return {k: v for k, v in (("team", a.team), ("agent", a.agent), ("task_id", a.task_id),
                              ("user", a.user)) if v}


class RpcBase:
    def __init__(self, offload: ThreadPoolExecutor) -> None:
        self._offload = offload

    async def _handle(self, rpc: str, context: Context,
                      body: Callable[[dict[str, Any]], Awaitable[T]]) -> T:
        started = time.perf_counter()
        line: dict[str, Any] = {}
        code = "OK"
        try:
            return await body(line)
        except RouterError as exc:
            status = to_status(exc)
            code = status.code.name
            line["error"] = str(exc)
            await context.abort_with_status(status)
        except asyncio.CancelledError:
            code = "CANCELLED"
            raise
        except Exception:
            code = "INTERNAL"
            log.exception("rpc.internal_error", rpc=rpc)
            await context.abort_with_status(internal_status())
        finally:
            log.info("rpc", rpc=rpc, code=code,
                     latency_ms=round((time.perf_counter() - started) * 1000, 3), **line)
        raise AssertionError("unreachable")  # abort_with_status always raises

    async def _blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the offload pool: it may wait on a remote store."""
        return await asyncio.get_running_loop().run_in_executor(self._offload, fn, *args)
