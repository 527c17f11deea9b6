"""structlog set-up: JSON lines (or console) with contextvars merged in, one line per RPC.

JSON lines are rendered by orjson straight to bytes and written to stderr's binary buffer (no
str round trip); a value orjson refuses (an integer past 64 bits) falls back to the standard
library's encoder rather than losing the line. A level that is off costs one comparison:
structlog's filtering logger drops its calls, and ``enabled`` lets a caller skip building what
it would log (the RPC line's fields).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

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


def configure(level: str = "info", fmt: str = "json") -> None:
    global _level
    if level not in _LEVELS:
        raise ValueError(f"log level must be one of {', '.join(_LEVELS)}, got {level!r}")
    binary = getattr(sys.stderr, "buffer", None) if fmt == "json" else None
    renderer: structlog.types.Processor
    factory: Any
    if binary is not None:
        renderer = structlog.processors.JSONRenderer(serializer=dumps)
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
