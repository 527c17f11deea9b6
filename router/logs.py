"""structlog set-up: JSON lines (or console) with contextvars merged in, one line per RPC.

JSON lines are rendered by orjson straight to bytes and written to stderr's binary buffer (no
str round trip); a value orjson refuses (an integer past 64 bits) falls back to the standard
library's encoder rather than losing the line. A level that is off costs one comparison:
structlog's filtering logger drops its calls, and ``enabled`` lets a caller skip building what
it would log (the RPC line's fields).

``router serve`` writes its lines in batches (``BatchedLines``, ``ROUTER_LOG_FLUSH_MS``): one
write per interval instead of one system call per RPC line, the largest single cost of a Route
after the classifier; warnings and errors are written at once.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import sys
import threading
import time
from typing import Any, BinaryIO

import orjson
import structlog

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}
_level = logging.INFO  # the configured level (what ``enabled`` compares with)


def enabled(level: int = logging.INFO) -> bool:
    """Would a line at ``level`` be written? (False: compute nothing for it)"""
    return level >= _level


def _fallback(value: Any) -> Any:
    default = structlog.processors._json_fallback_handler  # repr() for what JSON lacks
    return default(value)


def dumps(event: dict[str, Any], **kwargs: Any) -> bytes:
    """One log line as JSON bytes: orjson, or the standard encoder for what orjson refuses."""
    try:
        return orjson.dumps(event, default=_fallback)
    except TypeError:  # orjson.JSONEncodeError: e.g. an int past 64 bits, a non-str key
        return json.dumps(event, default=_fallback).encode()


class BatchedLines:
    """structlog's logger for JSON lines to a binary file: debug and info lines are flushed
    at most every ``flush_s`` (by the next line after that, or by a timer thread when none
    comes), a warning or worse at once with everything before it, and what is left at exit.
    A process killed with -9 loses at most the last interval's info lines."""

    def __init__(self, file: BinaryIO, flush_s: float) -> None:
        self._file = file
        self._flush_s = flush_s
        self._lock = threading.Lock()
        self._flushed = time.monotonic()
        self._pending = False
        self._timer: threading.Thread | None = None
        atexit.register(self.flush)

    def _write(self, message: bytes, urgent: bool) -> None:
        with self._lock:
            self._file.write(message + b"\n")
            now = time.monotonic()
            if urgent or now - self._flushed >= self._flush_s:
                self._flush_locked(now)
                return
            self._pending = True
            if self._timer is None:
                self._timer = threading.Thread(target=self._run, name="log-flush", daemon=True)
                self._timer.start()

    def _flush_locked(self, now: float) -> None:
        self._pending = False
        self._flushed = now
        with contextlib.suppress(OSError, ValueError):  # a closed or broken stderr: lost
            self._file.flush()

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self._flush_locked(time.monotonic())

    def _run(self) -> None:
        while True:
            time.sleep(self._flush_s)
            self.flush()

    def msg(self, message: bytes) -> None:
        self._write(message, urgent=False)

    def urgent(self, message: bytes) -> None:
        self._write(message, urgent=True)

    log = debug = info = msg
    warn = warning = fatal = failure = err = error = critical = exception = urgent


def configure(level: str = "info", fmt: str = "json", flush_ms: float = 0) -> None:
    """Log at ``level`` in ``fmt`` to stderr; JSON info lines batched over ``flush_ms`` (0:
    each line written as it comes, e.g. for the CLI's commands and tests)."""
    global _level
    if level not in _LEVELS:
        raise ValueError(f"log level must be one of {', '.join(_LEVELS)}, got {level!r}")
    binary = getattr(sys.stderr, "buffer", None) if fmt == "json" else None
    renderer: structlog.types.Processor
    factory: Any
    if binary is not None:
        renderer = structlog.processors.JSONRenderer(serializer=dumps)
        if flush_ms > 0:
            lines = BatchedLines(binary, flush_ms / 1000)
            factory = lambda *args: lines  # noqa: E731 - one sink shared by every logger
        else:
            factory = structlog.BytesLoggerFactory(file=binary)
    elif fmt == "json":  # a stderr without a binary buffer (replaced by a text stream)
        renderer = structlog.processors.JSONRenderer(
            serializer=lambda event, **kw: dumps(event).decode())
        factory = structlog.WriteLoggerFactory(file=sys.stderr)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        factory = structlog.WriteLoggerFactory(file=sys.stderr)
    _level = _LEVELS[level]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_level),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
