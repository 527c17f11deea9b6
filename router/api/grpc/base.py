"""What every capability's servicer shares: the request parser, the error mapping, the log line,
the offload pool.

Every request is parsed by ``request_parser``, which refuses what no handler should see (bytes
that are no message, a message over the size limit, a NUL in any string) by handing the handler
a ``Refused`` instead; ``_handle`` raises its error, so the refusal is answered and logged like
any other. One canonical log line per RPC (structlog), with the RPC's keys bound by its body;
a refused call's line is a warning (written while info is off) that says who was refused: the
key, the attribution the request names, its ids, and the reason. Each RPC is counted and timed
once, here, by method, code and transport (``router.metrics``). Domain errors become their
google.rpc.Status once, here; anything else is INTERNAL and logged with its trace. Work that
may wait on a remote store runs on the offload pool, and the RPC waits for it at most the
store's bound: an unreachable or silent database is UNAVAILABLE in time, never a hang.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from google.protobuf.message import DecodeError, Message

from router import logs
from router.api import convert
from router.api.errors import internal_status, to_status
from router.api.grpc.auth import Callers
from router.auth import Principal
from router.auth.keys import key_id_of
from router.budgeting.gate import ScopePaused
from router.core.errors import (
    BudgetExhausted,
    Conflict,
    FieldViolation,
    InvalidRequest,
    NotFound,
    Overloaded,
    PermissionDenied,
    PreconditionFailed,
    RouterError,
    StoreUnavailable,
    Unauthenticated,
)
from router.core.records import Attribution
from router.metrics import RPCS

log = structlog.get_logger("router.rpc")
T = TypeVar("T")


class _Unlogged(dict[str, Any]):
    """The line of an RPC while info lines are off: what a body writes to it is dropped (and a
    body with costly fields checks ``line is UNLOGGED`` to compute none of them)."""

    def __setitem__(self, key: str, value: Any) -> None:
        pass

    def update(self, *args: Any, **kwargs: Any) -> None:
        pass


UNLOGGED: dict[str, Any] = _Unlogged()
Context = Any  # grpc.aio.ServicerContext; grpcio ships no type information


def log_keys(a: Attribution) -> dict[str, str]:
    """The attribution keys worth a log field (the empty ones are left out)."""
    return {k: v for k, v in (("team", a.team), ("agent", a.agent), ("task_id", a.task_id),
                              ("user", a.user)) if v}


# why a call was refused, for its log line: the first class an error is an instance of
_REASONS: tuple[tuple[type[RouterError], str], ...] = (
    (InvalidRequest, "invalid"), (ScopePaused, "paused"), (BudgetExhausted, "budget"),
    (Unauthenticated, "unauthenticated"), (PermissionDenied, "permission"),
    (NotFound, "not_found"), (Conflict, "conflict"), (PreconditionFailed, "precondition"),
    (Overloaded, "overloaded"), (StoreUnavailable, "unavailable"))
_ATTRIBUTION_KEYS = ("team", "agent", "task_id", "user")
_REQUEST_IDS = ("request_id", "usage_id", "feedback_id", "decision_id", "budget_id")
MAX_LOGGED_CHARS = 128  # a logged value the client chose is cut to this


def refusal_reason(error: RouterError) -> str:
    return next((reason for kind, reason in _REASONS if isinstance(error, kind)), "error")


def refusal_line(line: dict[str, Any], request: object, context: Context,
                 who: Principal | None, error: RouterError) -> dict[str, Any]:
    """The log line of a refused call: what the body bound (if info lines are on), and, so the
    line says who was refused whatever the body reached, the key (the one presented, when it
    did not authenticate), the attribution the request names (else the key's team) and its
    ids, and the reason. Runs on refusals only: a call that succeeds pays nothing for it."""
    out = {} if line is UNLOGGED else line
    if who is not None:
        out["key"] = who.key_id
    elif (presented := _presented_key(context)) is not None:
        out["key"] = presented
    if isinstance(request, Message):
        fields = request.DESCRIPTOR.fields_by_name
        if "attribution" in fields and request.HasField("attribution"):
            a = request.attribution  # type: ignore[attr-defined]
            for k in _ATTRIBUTION_KEYS:
                if (v := getattr(a, k)) and k not in out:
                    out[k] = v[:MAX_LOGGED_CHARS]
        for k in _REQUEST_IDS:
            if k in fields and k not in out and (v := getattr(request, k)):
                out[k] = v[:MAX_LOGGED_CHARS]
    if who is not None and who.team and "team" not in out:
        out["team"] = who.team
    out["reason"] = refusal_reason(error)
    out["error"] = str(error)
    return out


def _presented_key(context: Context) -> str | None:
    """The id of the API key a call presented (it carries it in the clear), if well formed."""
    try:
        for key, value in context.invocation_metadata() or ():
            if key == "authorization":
                text = value.decode(errors="replace") if isinstance(value, bytes) else value
                return key_id_of(text.partition(" ")[2].strip())
    except Exception:  # a context without metadata: nothing to name
        return None
    return None


@dataclass(frozen=True, slots=True)
class Refused:
    """What a handler gets instead of a request the parser refused: the error to answer with."""

    error: InvalidRequest


def request_parser(message: type[Message], max_bytes: int
                   ) -> Callable[[bytes], Message | Refused]:
    """The deserializer of ``message`` requests: the message, or Refused when the bytes do not
    parse (gRPC would answer UNKNOWN), the message is over ``max_bytes``, or any of its strings
    holds a NUL (see ``convert.nul_violations``). A violation of the whole request has the
    empty field path.

    The size is checked here, not only by gRPC: a message the transport refuses never reaches
    any code of ours, so it could be neither named nor logged. The server's transport limit is
    set above ``max_bytes`` for that (see ``router.server.grpc_server``)."""
    def parse(data: bytes) -> Message | Refused:
        try:
            request = message.FromString(data)
        except DecodeError as exc:  # e.g. a string that is not UTF-8 (a lone surrogate)
            return Refused(InvalidRequest.of("", f"not a valid {message.DESCRIPTOR.full_name}: "
                                                 f"{str(exc).rpartition(': ')[2]}"))
        problems = []
        if len(data) > max_bytes:
            problems.append(FieldViolation(
                convert.largest_field(request),
                f"the request is {len(data)} bytes; the limit is {max_bytes} "
                "(ROUTER_MAX_MESSAGE_BYTES)"))
        if b"\0" in data:  # else no string can hold one: most requests skip the walk
            problems += convert.nul_violations(request)
        return Refused(InvalidRequest(problems)) if problems else request

    return parse


def accepted(request: T) -> T:
    """``request`` itself, unless the parser refused it: then its error is raised."""
    if isinstance(request, Refused):
        raise request.error
    return request


class Offload:
    """Store-bound work off the event loop, each wait bounded by ``bound_s``.

    A call that overruns is answered UNAVAILABLE (retry with backoff: every mutation is
    idempotent); its thread finishes in the background, and ``on_abandoned`` then undoes what
    nobody will use (a Route's holds). ``bound_s=None`` (an embedded file, which cannot go
    silent like a remote server) waits as long as the work takes."""

    def __init__(self, executor: ThreadPoolExecutor, bound_s: float | None) -> None:
        self.executor = executor
        self.bound_s = bound_s

    async def run(self, fn: Callable[..., T], *args: Any,
                  on_abandoned: Callable[[T], object] | None = None) -> T:
        future = asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)
        return await self.wait(future, on_abandoned)

    async def wait(self, future: asyncio.Future[T] | Future[T],
                   on_abandoned: Callable[[T], object] | None = None) -> T:
        """The result of ``future`` if it comes within the bound; else StoreUnavailable."""
        waiting = asyncio.wrap_future(future) if isinstance(future, Future) else future
        if self.bound_s is None:
            try:
                return await asyncio.shield(waiting)
            except asyncio.CancelledError:
                _abandon(waiting, on_abandoned)
                raise
        try:
            return await asyncio.wait_for(asyncio.shield(waiting), self.bound_s)
        except TimeoutError:
            _abandon(waiting, on_abandoned)
            raise StoreUnavailable(f"the store did not answer within {self.bound_s:g} s; "
                                   "retry with backoff") from None
        except asyncio.CancelledError:  # the client went away
            _abandon(waiting, on_abandoned)
            raise


def _abandon(future: asyncio.Future[T], undo: Callable[[T], object] | None) -> None:
    def done(f: asyncio.Future[T]) -> None:
        if f.cancelled() or f.exception() is not None:
            return
        if undo is not None:
            undo(f.result())

    future.add_done_callback(done)


class RpcBase:
    def __init__(self, offload: Offload, callers: Callers) -> None:
        self._offload = offload
        self._callers = callers

    async def _handle(self, rpc: str, request: object, context: Context,
                      body: Callable[[dict[str, Any], Principal], Awaitable[T]]) -> T:
        """Authenticate the call (before its request is judged: a caller without a valid key
        learns nothing of what the server would accept), run ``body`` as that caller, map its
        errors, and write the RPC's one log line (naming the key by its id)."""
        started = time.perf_counter()
        line: dict[str, Any] = {} if logs.enabled(logging.INFO) else UNLOGGED
        code = "OK"
        who: Principal | None = None
        try:
            who = self._callers.of(context)
            line["key"] = who.key_id
            accepted(request)
            return await body(line, who)
        except RouterError as exc:
            status = to_status(exc)
            code = status.code.name
            line = refusal_line(line, request, context, who, exc)
            await context.abort_with_status(status)
        except asyncio.CancelledError:
            code = "CANCELLED"
            raise
        except Exception:
            code = "INTERNAL"
            log.exception("rpc.internal_error", rpc=rpc)
            line = {} if line is UNLOGGED else line
            await context.abort_with_status(internal_status())
        finally:
            elapsed = time.perf_counter() - started
            RPCS.observe(rpc, code, getattr(context, "transport", "grpc"), elapsed)
            if code == "OK" or code == "CANCELLED":
                if line is not UNLOGGED:
                    log.info("rpc", rpc=rpc, code=code, latency_ms=round(elapsed * 1000, 3),
                             **line)
            else:  # refused or failed: always written, saying who
                log.warning("rpc", rpc=rpc, code=code, latency_ms=round(elapsed * 1000, 3),
                            **line)
        raise AssertionError("unreachable")  # abort_with_status always raises

    async def _blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the offload pool (it may wait on a remote store), within the bound."""
        return await self._offload.run(fn, *args)
