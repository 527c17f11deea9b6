"""LiteLLM's price map as catalog models, for ``router catalog import`` (``router.cli.catalog``
reads the file and writes the TOML; this module reads no file and prints nothing).

The community keeps per-token USD prices of thousands of models in LiteLLM's
``model_prices_and_context_window.json``. ``loads`` parses it with every number a ``Decimal``
(a price never goes through a float); ``import_map`` maps its entries to catalog models and says
what it could not carry over. The decisions:

- Only ``mode = "chat"`` entries become models; the others are counted by mode. An entry without
  a mode counts as mode ``(none)``: in the map those are mostly pointers (``alias_of``), not
  models. ``sample_spec`` documents the format and is skipped. Entries left out by
  mode or by ``--only`` are not validated past being objects.
- Prices: USD per token x 1,000,000 is USD per 1M tokens, exactly. The catalog holds integer
  nanos per 1M tokens; a price with more digits (the map has float residue such as
  0.0000029999900000000002) is kept as the catalog parser keeps a hand-written one
  (``money.to_nanos``: half up), and reported as rounded.
- ``<kind>_above_<N>k_tokens`` (or ``_above_<N>_tokens``) become tiers, above_input_tokens =
  N x 1000, thresholds increasing, resolved the way LiteLLM bills them: a kind a tier does not
  give is the lower tier's (else the base price); a cache read or write price the map never
  gives is the tier's input price; reasoning is the tier's output price unless the model has a
  reasoning price of its own. A tier is written with all five kinds, so it means the same
  whatever the base prices beside it. LiteLLM counts xAI's thresholds as reached at N, so
  there ``above_input_tokens`` is N x 1000 - 1.
- context_window = max_input_tokens; max_output_tokens = max_output_tokens, else the legacy
  max_tokens. 0 means "not known" (the map writes it for embedding models listed as chat): a
  model without a context window is skipped, one without max output takes the catalog's
  default.
- Capabilities: ``CAPABILITY_KEYS``, and long_context for a context window of 200k or more.
  ``code`` is not in the map (``FROM_MAP`` is what the map decides).
- Model ids are the map's names. A name the catalog's id pattern refuses, or two names that
  differ only in case, are reported and skipped, as is a model without input or output price.
- Every other key with a value (not false, not null) is reported as unmapped, with example
  models, except notes that carry no price (``NOTES``).

Malformed input (a price that is not a number or is negative, token counts that are not
non-negative integers, a flag that is not a boolean, a bad deprecation_date, an entry that is not
an object) raises ``LiteLLMError`` naming the model and the key; so does a map that is not an
object, naming what it is.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Context, Decimal, localcontext
from types import MappingProxyType
from typing import Any

from router.core.catalog import MAX_PRICE_NANOS, MODEL_ID_RE, PriceTier, TokenPrices
from router.core.money import NANOS_PER_UNIT, to_nanos, units

CHAT = "chat"
NO_MODE = "(none)"
LONG_CONTEXT_TOKENS = 200_000
# the map's base prices, USD per token -> the catalog's keys, USD per 1M tokens
PRICE_KEYS: Mapping[str, str] = MappingProxyType({
    "input_cost_per_token": "input_per_mtok",
    "cache_read_input_token_cost": "cached_input_per_mtok",
    "cache_creation_input_token_cost": "cache_write_per_mtok",
    "output_cost_per_token": "output_per_mtok",
    "output_cost_per_reasoning_token": "reasoning_per_mtok",
})
CAPABILITY_KEYS: Mapping[str, str] = MappingProxyType({
    "supports_function_calling": "tools",
    "supports_vision": "vision",
    "supports_response_schema": "json",
    "supports_reasoning": "reasoning",
    "supports_audio_input": "audio",
})
FROM_MAP = frozenset({*CAPABILITY_KEYS.values(), "long_context"})
CAPABILITY_ORDER = ("tools", "vision", "json", "reasoning", "code", "long_context", "audio")
TOKEN_KEYS = ("max_input_tokens", "max_output_tokens", "max_tokens")
# what describes an entry without pricing or enabling anything (supports_prompt_caching is
# what the cache prices say)
NOTES = frozenset({"source", "comment", "metadata", "deprecation_source",
                   "supports_prompt_caching"})
_MAPPED = frozenset({*PRICE_KEYS, *CAPABILITY_KEYS, *TOKEN_KEYS, "mode", "litellm_provider",
                     "deprecation_date"})
_TIER_KEY = re.compile(r"(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost"
                       r"|cache_creation_input_token_cost)_above_(\d+)(k?)_tokens")
_INCLUSIVE_THRESHOLDS = frozenset({"xai"})  # LiteLLM: the tier applies from N tokens on
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EXACT = Context(prec=1000)  # scaling a JSON number by a power of ten must not round it
_EXAMPLES = 3


class LiteLLMError(ValueError):
    """The map is malformed; the message names the model and the key."""

    @classmethod
    def of(cls, model: str, key: str, problem: str) -> LiteLLMError:
        return cls(f"model {model!r}, key {key!r}: {problem}")


@dataclass(frozen=True, slots=True)
class Rounded:
    """A price with more digits than the catalog's nano per 1M tokens."""

    model: str
    key: str  # the map's key
    original: Decimal  # USD per token, as the map writes it
    kept: int  # nanos per 1M tokens

    def describe(self) -> str:
        return (f"{self.model} {self.key}: {self.original} per token -> {units(self.kept)} "
                "per 1M")


@dataclass(frozen=True, slots=True)
class Skipped:
    model: str
    reason: str


@dataclass(frozen=True, slots=True)
class Unmapped:
    """A key the import does not carry over: in how many imported models, and a few of them."""

    count: int
    examples: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ImportedModel:
    """One chat entry as a catalog model, without quality (the caller decides it).

    ``prices`` holds the catalog's price keys the map gives (input and output always), in nanos
    per 1M tokens; the kinds it does not give take the catalog's defaults, which are LiteLLM's
    (a cache read or write at the input price, reasoning at the output price)."""

    id: str
    provider: str
    prices: Mapping[str, int]
    context_window: int
    capabilities: frozenset[str]
    tiers: tuple[PriceTier, ...] = ()
    max_output_tokens: int | None = None
    deprecated_after: date | None = None
    rounded: tuple[Rounded, ...] = ()
    unmapped: tuple[str, ...] = ()

    def token_prices(self) -> TokenPrices:
        """The prices the catalog parser gives the table this model is written as."""
        p = self.prices
        return TokenPrices(
            input=p["input_per_mtok"],
            cached_input=p.get("cached_input_per_mtok", p["input_per_mtok"]),
            output=p["output_per_mtok"],
            reasoning=p.get("reasoning_per_mtok", p["output_per_mtok"]),
            cache_write=p.get("cache_write_per_mtok", p["input_per_mtok"]),
            tiers=self.tiers,
        )

    def table(self) -> dict[str, Any]:
        """The model's ``[[models]]`` keys as plain values (prices as decimal text), in the
        shipped catalog's order; quality and enabled are the caller's."""
        out: dict[str, Any] = {"id": self.id, "provider": self.provider}
        out.update({key: price_text(self.prices[key]) for key in PRICE_KEYS.values()
                    if key in self.prices})
        out["context_window"] = self.context_window
        if self.max_output_tokens is not None:
            out["max_output_tokens"] = self.max_output_tokens
        out["capabilities"] = ordered(self.capabilities)
        if self.deprecated_after is not None:
            out["deprecated_after"] = self.deprecated_after
        if self.tiers:
            out["tiers"] = [tier_table(t) for t in self.tiers]
        return out


@dataclass(frozen=True, slots=True)
class MapImport:
    """What ``import_map`` made of a map: the models, and everything it left out and why."""

    entries: int  # sample_spec aside
    models: tuple[ImportedModel, ...]
    skipped: tuple[Skipped, ...]  # chat entries of the wanted providers that are not models
    by_mode: Mapping[str, int]  # entries left out by their mode
    by_provider: int  # chat entries left out by ``providers``
    providers_not_found: tuple[str, ...] = ()  # asked for, and no entry has it
    unmapped: Mapping[str, Unmapped] = field(default_factory=dict)  # most common first
    rounded: tuple[Rounded, ...] = ()


def loads(text: str) -> Any:
    """The map's JSON, every number with a fraction or exponent a ``Decimal``."""
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise LiteLLMError(f"not JSON: {exc}") from None


def import_map(data: Any, providers: Collection[str] = ()) -> MapImport:
    """The catalog models of ``data`` (the parsed map); ``providers``: only the entries whose
    ``litellm_provider`` is one of them (case-insensitive), all when empty."""
    if not isinstance(data, dict):
        raise LiteLLMError(f"the map must be a JSON object of model name -> entry, got "
                           f"{_kind(data)}")
    wanted = {p.strip().lower() for p in providers if p.strip()}
    by_mode: Counter[str] = Counter()
    by_provider, entries = 0, 0
    seen_providers: set[str] = set()
    skipped: list[Skipped] = []
    candidates: list[ImportedModel] = []
    for name, entry in data.items():
        if name == "sample_spec":
            continue
        entries += 1
        if not isinstance(entry, dict):
            raise LiteLLMError(f"model {name!r}: an entry must be a JSON object, got "
                               f"{_kind(entry)}")
        mode = entry.get("mode")
        if mode is not None and not isinstance(mode, str):
            raise LiteLLMError.of(name, "mode", f"must be a string, got {mode!r}")
        provider = entry.get("litellm_provider")
        if provider is not None and not (isinstance(provider, str) and 0 < len(provider) <= 64):
            raise LiteLLMError.of(name, "litellm_provider", f"must be a name of 1-64 characters, "
                                                            f"got {provider!r}")
        if provider is not None:
            seen_providers.add(provider.lower())
        if mode != CHAT:
            by_mode[mode or NO_MODE] += 1
            continue
        if wanted and (provider is None or provider.lower() not in wanted):
            by_provider += 1
            continue
        model = _model(name, entry, provider)
        if isinstance(model, str):
            skipped.append(Skipped(name, model))
        else:
            candidates.append(model)
    models = _distinct_ids(candidates, skipped)
    return MapImport(
        entries=entries,
        models=tuple(models),
        skipped=tuple(skipped),
        by_mode=MappingProxyType(dict(by_mode.most_common())),
        by_provider=by_provider,
        providers_not_found=tuple(sorted(wanted - seen_providers)),
        unmapped=_unmapped(models),
        rounded=tuple(r for m in models for r in m.rounded),
    )


def price_text(nanos: int) -> str:
    """Nanos per 1M tokens as the shipped catalog writes a price: "3.00", "0.125"."""
    whole, _, frac = units(nanos).partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def tier_table(tier: PriceTier) -> dict[str, Any]:
    """A tier's ``[[models.tiers]]`` keys, every kind given."""
    return {"above_input_tokens": tier.above_input_tokens,
            "input_per_mtok": price_text(tier.input),
            "cached_input_per_mtok": price_text(tier.cached_input),
            "cache_write_per_mtok": price_text(tier.cache_write),
            "output_per_mtok": price_text(tier.output),
            "reasoning_per_mtok": price_text(tier.reasoning)}


def ordered(capabilities: Collection[str]) -> list[str]:
    """Capabilities in the shipped catalog's order."""
    return [c for c in CAPABILITY_ORDER if c in capabilities]


def _model(name: str, entry: Mapping[str, Any], provider: str | None) -> ImportedModel | str:
    """The catalog model of one chat entry, or why it cannot be one. Every mapped key is
    validated first, so a malformed entry is never hidden behind a reason to skip it."""
    rounded: list[Rounded] = []
    base = {key: _nanos(name, key, entry[key], rounded) for key in PRICE_KEYS
            if entry.get(key) is not None}
    inclusive = provider in _INCLUSIVE_THRESHOLDS
    by_threshold: dict[int, dict[str, int]] = {}
    for key, raw in entry.items():
        match = _TIER_KEY.fullmatch(key)
        if match and raw is not None:
            threshold = int(match[2]) * (1000 if match[3] else 1)
            if threshold <= (1 if inclusive else 0):
                raise LiteLLMError.of(name, key, "a tier's threshold must be positive")
            by_threshold.setdefault(threshold, {})[match[1]] = _nanos(name, key, raw, rounded)
    caps = {cap for key, cap in CAPABILITY_KEYS.items() if _flag(name, key, entry.get(key))}
    context, max_out, legacy = (_tokens(name, key, entry.get(key)) for key in TOKEN_KEYS)
    deprecated = _date(name, "deprecation_date", entry.get("deprecation_date"))

    missing = [k for k in ("input_cost_per_token", "output_cost_per_token") if k not in base]
    if missing:
        return f"no {' or '.join(missing)}"
    if provider is None:
        return "no litellm_provider"
    if context is None:
        return "no context window (max_input_tokens missing or 0)"
    prices = [*base.values(), *(v for tier in by_threshold.values() for v in tier.values())]
    if max(prices) > MAX_PRICE_NANOS:
        return "a price above the catalog's bound (10000 per 1M tokens)"
    if context >= LONG_CONTEXT_TOKENS:
        caps.add("long_context")
    return ImportedModel(
        id=name,
        provider=provider,
        prices=MappingProxyType({PRICE_KEYS[k]: v for k, v in base.items()}),
        context_window=context,
        capabilities=frozenset(caps),
        tiers=_tiers(base, by_threshold, inclusive),
        max_output_tokens=max_out if max_out is not None else legacy,
        deprecated_after=deprecated,
        rounded=tuple(rounded),
        unmapped=tuple(k for k, v in entry.items() if k not in _MAPPED and k not in NOTES
                       and not _TIER_KEY.fullmatch(k) and v is not None and v is not False),
    )


def _tiers(base: Mapping[str, int], by_threshold: Mapping[int, Mapping[str, int]],
           inclusive: bool) -> tuple[PriceTier, ...]:
    """Tiers as LiteLLM bills them (see the module docstring), every kind resolved."""
    current = {k: v for k, v in base.items() if k != "output_cost_per_reasoning_token"}
    tiers: list[PriceTier] = []
    for threshold in sorted(by_threshold):
        current.update(by_threshold[threshold])  # a kind not given keeps the lower tier's
        inp, out = current["input_cost_per_token"], current["output_cost_per_token"]
        tiers.append(PriceTier(
            above_input_tokens=threshold - 1 if inclusive else threshold,
            input=inp,
            cached_input=current.get("cache_read_input_token_cost", inp),
            cache_write=current.get("cache_creation_input_token_cost", inp),
            output=out,
            reasoning=base.get("output_cost_per_reasoning_token", out),
        ))
    return tuple(tiers)


def _distinct_ids(candidates: list[ImportedModel], skipped: list[Skipped]) -> list[ImportedModel]:
    """The candidates whose names can be catalog ids; the others go to ``skipped``."""
    valid = [m for m in candidates if MODEL_ID_RE.fullmatch(m.id)]
    skipped.extend(Skipped(m.id, "not a catalog id (letters, digits and . _ / : - only, "
                                 "128 at most, a letter or digit first)")
                   for m in candidates if not MODEL_ID_RE.fullmatch(m.id))
    by_lower: dict[str, list[str]] = {}
    for m in valid:
        by_lower.setdefault(m.id.lower(), []).append(m.id)
    models: list[ImportedModel] = []
    for m in valid:
        same = [n for n in by_lower[m.id.lower()] if n != m.id]
        if same:
            skipped.append(Skipped(m.id, f"differs only in case from {', '.join(same)} (catalog "
                                         "names are case-insensitive)"))
        else:
            models.append(m)
    return models


def _unmapped(models: list[ImportedModel]) -> Mapping[str, Unmapped]:
    counts: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    for m in models:
        for key in m.unmapped:
            counts[key] += 1
            if len(seen := examples.setdefault(key, [])) < _EXAMPLES:
                seen.append(m.id)
    return MappingProxyType({key: Unmapped(n, tuple(examples[key]))
                             for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))})


def _nanos(model: str, key: str, raw: Any, rounded: list[Rounded]) -> int:
    """A per-token USD price as nanos per 1M tokens, recording a rounding."""
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal):
        raise LiteLLMError.of(model, key, f"a price must be a JSON number, got {raw!r}")
    if raw < 0:
        raise LiteLLMError.of(model, key, f"a price cannot be negative, got {raw}")
    with localcontext(_EXACT):
        exact = Decimal(raw).scaleb(6) * NANOS_PER_UNIT  # USD per 1M tokens, in nanos
        nanos = to_nanos(Decimal(raw).scaleb(6))
        if exact != nanos:
            rounded.append(Rounded(model, key, Decimal(raw), nanos))
    return nanos


def _tokens(model: str, key: str, raw: Any) -> int | None:
    """A token count; None when absent or 0 (the map's "not known")."""
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise LiteLLMError.of(model, key, f"must be a positive integer, got {raw!r}")
    return raw or None


def _flag(model: str, key: str, raw: Any) -> bool:
    if raw is None:
        return False
    if not isinstance(raw, bool):
        raise LiteLLMError.of(model, key, f"must be true or false, got {raw!r}")
    return raw


def _date(model: str, key: str, raw: Any) -> date | None:
    if raw is None:
        return None
    try:
        if isinstance(raw, str) and _DATE.fullmatch(raw):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    raise LiteLLMError.of(model, key, f"must be a date as YYYY-MM-DD, got {raw!r}")


def _kind(value: Any) -> str:
    names: dict[type, str] = {dict: "an object", list: "an array", str: "a string"}
    return names.get(type(value), type(value).__name__)
