"""Provider SDK usage objects -> ``TokenUsage``, for ``router.client``'s ``call.record``.

Pure and duck-typed (``getattr`` and mapping look-ups, never an import of the SDKs), so the
client works with whichever SDK versions the orchestrator has, or none. Each provider counts
differently from ``TokenUsage`` (protos/router/v1/usage.proto), whose kinds are disjoint
because each is priced apart:

- OpenAI Chat Completions: ``prompt_tokens`` includes ``prompt_tokens_details.cached_tokens``
  (and, in SDKs that report it, ``.cache_write_tokens``); ``completion_tokens`` includes
  ``completion_tokens_details.reasoning_tokens``.
- OpenAI Responses: the same, named ``input_tokens``/``input_tokens_details.cached_tokens``
  (``.cache_write_tokens``) and ``output_tokens``/``output_tokens_details.reasoning_tokens``.
- Anthropic Messages: ``input_tokens`` already excludes the cache, read
  (``cache_read_input_tokens``) and written (``cache_creation_input_tokens``); ``output_tokens``
  includes ``output_tokens_details.thinking_tokens`` (when the SDK reports them).

Each adapter accepts the usage object, the whole response (its ``.usage``) or a dict of either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from router import v1 as pb

_OURS = ("input", "cached_input", "output", "reasoning", "cache_write")


def _get(obj: Any, name: str) -> Any:
    """``obj.name`` or ``obj[name]``; None when absent (SDKs leave optional details None)."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _int(obj: Any, name: str) -> int:
    value = _get(obj, name)
    return int(value) if value else 0


def _has(obj: Any, name: str) -> bool:
    return (name in obj) if isinstance(obj, Mapping) else hasattr(obj, name)


def usage_of(obj: Any) -> Any:
    """The usage part of ``obj``: its ``usage`` when it is a whole response, else ``obj``."""
    inner = _get(obj, "usage")
    return obj if inner is None else inner


def _tokens(input_: int, cached: int, output: int, reasoning: int,
            cache_write: int = 0) -> pb.TokenUsage:
    # a provider that reports a total smaller than its part counted it apart already
    return pb.TokenUsage(input=max(0, input_), cached_input=max(0, cached),
                         output=max(0, output), reasoning=max(0, reasoning),
                         cache_write=max(0, cache_write))


def _openai(u: Any, prompt: str, completion: str) -> pb.TokenUsage:
    """OpenAI's shape under either API's names: totals that include their cached, written and
    reasoning parts, which ``<name>_details`` give."""
    details = _get(u, f"{prompt}_details")
    cached, written = _int(details, "cached_tokens"), _int(details, "cache_write_tokens")
    reasoning = _int(_get(u, f"{completion}_details"), "reasoning_tokens")
    return _tokens(_int(u, prompt) - cached - written, cached,
                   _int(u, completion) - reasoning, reasoning, written)


def from_openai_chat(obj: Any) -> pb.TokenUsage:
    """OpenAI Chat Completions usage (``CompletionUsage``), or the ``ChatCompletion``."""
    return _openai(usage_of(obj), "prompt_tokens", "completion_tokens")


def from_openai_responses(obj: Any) -> pb.TokenUsage:
    """OpenAI Responses API usage (``ResponseUsage``), or the ``Response``."""
    return _openai(usage_of(obj), "input_tokens", "output_tokens")


def from_anthropic(obj: Any) -> pb.TokenUsage:
    """Anthropic Messages usage (``Usage``), or the ``Message``."""
    u = usage_of(obj)
    thinking = _int(_get(u, "output_tokens_details"), "thinking_tokens")
    return _tokens(_int(u, "input_tokens"), _int(u, "cache_read_input_tokens"),
                   _int(u, "output_tokens") - thinking, thinking,
                   _int(u, "cache_creation_input_tokens"))


def token_usage(obj: Any) -> pb.TokenUsage:
    """``obj`` as TokenUsage, whichever of the shapes above it has (or a ``TokenUsage``, or a
    dict of its fields). TypeError when it is none of them."""
    if isinstance(obj, pb.TokenUsage):
        return obj
    u = usage_of(obj)
    if isinstance(u, pb.TokenUsage):
        return u
    if _has(u, "prompt_tokens") or _has(u, "completion_tokens"):
        return from_openai_chat(u)
    if any(_has(u, n) for n in ("cache_read_input_tokens", "cache_creation_input_tokens")):
        return from_anthropic(u)
    if _has(u, "input_tokens") or _has(u, "output_tokens"):
        # Responses' details are required in its type; without them the two read the same
        return from_openai_responses(u)
    if isinstance(u, Mapping) and u and set(u) <= set(_OURS):
        return pb.TokenUsage(**{k: int(v or 0) for k, v in u.items()})
    raise TypeError(f"not a usage this client knows: {type(obj).__name__} (an OpenAI or "
                    "Anthropic response or usage, a TokenUsage, or a dict of its fields)")


def add(total: pb.TokenUsage, more: pb.TokenUsage) -> None:
    """Add ``more`` into ``total`` kind by kind (several provider requests in one call)."""
    for name in _OURS:
        setattr(total, name, getattr(total, name) + getattr(more, name))
