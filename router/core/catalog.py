"""The model catalog: which models exist, what they cost, what they can do.

Parsed from TOML (``models/catalog.toml``). Every price becomes integer nanos at load time, so the
rest of the service never sees a float price. Errors name the file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from router.core import tomlfile
from router.core.classifier import QualityRef
from router.core.money import MoneyError, to_nanos, validate_currency

CAPABILITIES = frozenset(
    {"tools", "vision", "json", "reasoning", "code", "long_context", "audio"}
)
MODEL_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._/:-]{0,127}$", re.IGNORECASE)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_PRICE_NANOS = 10_000 * 1_000_000_000  # 10,000 currency units per 1M tokens: surely a typo


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class PriceTier:
    """The prices of a call whose prompt is longer than ``above_input_tokens``: the whole call,
    not only the tokens past the threshold, as Gemini 2.5 Pro and Claude Sonnet 4 bill."""

    above_input_tokens: int
    input: int
    cached_input: int
    cache_write: int
    output: int
    reasoning: int


@dataclass(frozen=True, slots=True)
class TokenPrices:
    """Prices in nanos per 1,000,000 tokens. ``cache_write`` is the price of a token written to
    the prompt cache; ``tiers`` (thresholds increasing) reprice a long call entirely."""

    input: int
    cached_input: int
    output: int
    reasoning: int
    cache_write: int = -1  # -1: the input price (see __post_init__)
    tiers: tuple[PriceTier, ...] = ()

    def __post_init__(self) -> None:
        if self.cache_write < 0:
            object.__setattr__(self, "cache_write", self.input)

    def for_prompt(self, prompt_tokens: int) -> TokenPrices | PriceTier:
        """The prices a call with ``prompt_tokens`` of prompt (input, cached and cache-write
        tokens) pays: the highest tier whose threshold it exceeds, else the base prices."""
        for tier in reversed(self.tiers):
            if prompt_tokens > tier.above_input_tokens:
                return tier
        return self


@dataclass(frozen=True, slots=True)
class ModelSpec:
    id: str
    provider: str
    prices: TokenPrices
    context_window: int
    max_output_tokens: int
    capabilities: frozenset[str]
    quality: QualityRef | None  # None only for a disabled model: not routable until it has one
    aliases: tuple[str, ...] = ()
    enabled: bool = True
    deprecated_after_us: int | None = None  # from this instant on the model is not routed

    @property
    def judged_by(self) -> QualityRef:
        """The quality reference of a routable model (the parser gives every enabled one)."""
        if self.quality is None:
            raise ValueError(f"model {self.id!r} has no quality: it cannot be routed")
        return self.quality

    def routable_at(self, now_us: int) -> bool:
        return self.enabled and (self.deprecated_after_us is None
                                 or now_us < self.deprecated_after_us)


@dataclass(frozen=True, slots=True)
class RateCard:
    """Prices of everything that is not a token, in nanos."""

    tool_call: Mapping[str, int]  # per call, by tool name; "default" for the rest
    cpu_second: int
    gpu_second: int
    review_hour: int  # default human reviewer rate per hour
    memory_gb_second: int = 0  # memory held for a call, per GB-second

    def tool_price(self, name: str) -> int:
        return self.tool_call.get(name, self.tool_call.get("default", 0))


@dataclass(frozen=True)
class Catalog:
    currency: str
    default_model: str
    models: tuple[ModelSpec, ...]
    rates: RateCard
    _by_name: Mapping[str, ModelSpec] = field(repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        index: dict[str, ModelSpec] = {}
        for model in self.models:
            for name in (model.id, *model.aliases):
                index[name.lower()] = model
        object.__setattr__(self, "_by_name", MappingProxyType(index))

    def get(self, name: str) -> ModelSpec:
        """The model with this id or alias (case-insensitive); KeyError when unknown."""
        return self._by_name[name.lower()]

    def find(self, name: str) -> ModelSpec | None:
        return self._by_name.get(name.lower())

    def enabled(self) -> tuple[ModelSpec, ...]:
        return tuple(m for m in self.models if m.enabled)

    def routable(self, now_us: int) -> tuple[ModelSpec, ...]:
        """The enabled models not deprecated at ``now_us``."""
        return tuple(m for m in self.models if m.routable_at(now_us))

    def next_deprecation_us(self, now_us: int) -> int | None:
        """The first deprecation of an enabled model after ``now_us``, if any: when the routable
        set next changes."""
        return min((m.deprecated_after_us for m in self.models if m.enabled
                    and m.deprecated_after_us is not None and m.deprecated_after_us > now_us),
                   default=None)

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self.models)

    def __len__(self) -> int:
        return len(self.models)


def load_catalog(path: str | Path) -> Catalog:
    text, data = tomlfile.read(path, CatalogError, "catalog")
    return _Parser(text, str(path)).catalog(data)


def parse_catalog(text: str, source: str = "catalog.toml") -> Catalog:
    """Parse and validate catalog TOML; raise CatalogError naming ``source:line``."""
    return _Parser(text, source).catalog(tomlfile.loads(text, source, CatalogError))


class _Parser:
    def __init__(self, text: str, source: str) -> None:
        self._lines = tomlfile.TomlLines(text, "models")
        self._source = source

    def _fail(self, message: str, key: str, model_index: int | None = None,
              table: str | None = None) -> CatalogError:
        line = self._lines.line_of(key, model_index, table)
        return CatalogError(f"{self._source}:{line}: {message}")

    def catalog(self, data: dict[str, Any]) -> Catalog:
        version = data.get("schema_version", 1)
        if version != 1:
            raise self._fail(f"unsupported schema_version {version!r} (expected 1)",
                             "schema_version")
        try:
            currency = validate_currency(str(data.get("currency", "")))
        except MoneyError as exc:
            raise self._fail(str(exc), "currency") from None
        raw_models = data.get("models")
        if not isinstance(raw_models, list) or not raw_models:
            raise CatalogError(f"{self._source}:1: the catalog needs at least one [[models]] entry")
        models = tuple(self._model(i, m) for i, m in enumerate(raw_models))
        seen: dict[str, str] = {}
        for i, model in enumerate(models):
            for name in (model.id, *model.aliases):
                if name.lower() in seen:
                    raise self._fail(f"name {name!r} is already used by {seen[name.lower()]!r}",
                                     "aliases" if name != model.id else "id", i)
                seen[name.lower()] = model.id
        default = str(data.get("default_model", ""))
        if default.lower() not in seen:
            raise self._fail(f"default_model {default!r} is not a model in the catalog",
                             "default_model")
        return Catalog(
            currency=currency,
            default_model=seen[default.lower()],
            models=models,
            rates=self._rates(data),
        )

    def _price(self, raw: Any, key: str, model_index: int | None = None,
               table: str | None = None) -> int:
        try:
            nanos = to_nanos(raw)
        except MoneyError as exc:
            raise self._fail(f"{key}: {exc}", key, model_index, table) from None
        if nanos < 0 or nanos > MAX_PRICE_NANOS:
            raise self._fail(f"{key} must be between 0 and 10000, got {raw!r}", key,
                             model_index, table)
        return nanos

    def _model(self, i: int, raw: Any) -> ModelSpec:
        if not isinstance(raw, dict):
            raise self._fail("each [[models]] entry must be a table", "id", i)

        def need(key: str) -> Any:
            if key not in raw:
                raise self._fail(f"model #{i + 1} is missing {key!r}", "id", i)
            return raw[key]

        model_id = str(need("id"))
        if not MODEL_ID_RE.fullmatch(model_id):
            raise self._fail(f"invalid model id {model_id!r}", "id", i)
        known = {"id", "provider", "input_per_mtok", "cached_input_per_mtok", "output_per_mtok",
                 "reasoning_per_mtok", "cache_write_per_mtok", "tiers", "context_window",
                 "max_output_tokens", "capabilities", "aliases", "quality", "enabled",
                 "deprecated_after"}
        for key in raw:
            if key not in known:
                raise self._fail(f"model {model_id!r}: unknown key {key!r}", key, i)
        # a bad input price is named before a missing output price
        input_raw = need("input_per_mtok")
        self._price(input_raw, "input_per_mtok", i)
        base = self._prices(raw, input_raw, need("output_per_mtok"), None, i)
        prices = TokenPrices(base.input, base.cached_input, base.output, base.reasoning,
                             base.cache_write, self._tiers(model_id, raw.get("tiers", []),
                                                           base, i))
        context = need("context_window")
        max_out = raw.get("max_output_tokens", context)
        for key, value in (("context_window", context), ("max_output_tokens", max_out)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise self._fail(f"model {model_id!r}: {key} must be a positive integer", key, i)
        caps = raw.get("capabilities", [])
        if not isinstance(caps, list) or any(c not in CAPABILITIES for c in caps):
            bad = [c for c in caps if c not in CAPABILITIES] if isinstance(caps, list) else caps
            raise self._fail(
                f"model {model_id!r}: unknown capabilities {bad!r} "
                f"(known: {', '.join(sorted(CAPABILITIES))})", "capabilities", i)
        aliases = raw.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
            raise self._fail(f"model {model_id!r}: aliases must be a list of names", "aliases", i)
        enabled = raw.get("enabled", True)
        if not isinstance(enabled, bool):
            raise self._fail(f"model {model_id!r}: enabled must be true or false", "enabled", i)
        provider = str(need("provider"))
        if not 0 < len(provider) <= 64:
            raise self._fail(f"model {model_id!r}: provider needs 1-64 characters", "provider", i)
        if "quality" not in raw and enabled:
            raise self._fail(f"model {model_id!r} is missing 'quality' (a model without one "
                             "must be enabled = false)", "id", i)
        return ModelSpec(
            id=model_id,
            provider=provider,
            prices=prices,
            context_window=context,
            max_output_tokens=max_out,
            capabilities=frozenset(caps),
            quality=self._quality(model_id, raw["quality"], i) if "quality" in raw else None,
            aliases=tuple(aliases),
            enabled=enabled,
            deprecated_after_us=self._instant(model_id, raw.get("deprecated_after"), i),
        )

    def _prices(self, raw: dict[str, Any], input_raw: Any, output_raw: Any,
                base: PriceTier | None, i: int) -> PriceTier:
        """Prices of one table (a model's, or one of its tiers: ``base`` gives the defaults).
        Without a tier, cached input and cache writes default to the input price and
        reasoning to the output price."""
        table = None if base is None else "tiers"
        input_price = self._price(input_raw, "input_per_mtok", i, table)
        output_price = self._price(output_raw, "output_per_mtok", i, table)

        def kind(key: str, default: int) -> int:
            return self._price(raw[key], key, i, table) if key in raw else default

        return PriceTier(
            above_input_tokens=0,
            input=input_price,
            cached_input=kind("cached_input_per_mtok",
                              input_price if base is None else base.cached_input),
            cache_write=kind("cache_write_per_mtok",
                             input_price if base is None else base.cache_write),
            output=output_price,
            reasoning=kind("reasoning_per_mtok",
                           output_price if base is None else base.reasoning),
        )

    def _tiers(self, model_id: str, raw: Any, base: PriceTier, i: int) -> tuple[PriceTier, ...]:
        if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
            raise self._fail(f"model {model_id!r}: tiers must be a list of tables", "tiers", i)
        known = {"above_input_tokens", "input_per_mtok", "cached_input_per_mtok",
                 "cache_write_per_mtok", "output_per_mtok", "reasoning_per_mtok"}
        tiers: list[PriceTier] = []
        for n, tier in enumerate(raw):
            where = f"model {model_id!r}: tiers[{n}]"
            unknown = sorted(set(tier) - known)
            if unknown:
                raise self._fail(f"{where}: unknown key {unknown[0]!r}", "tiers", i)
            threshold = tier.get("above_input_tokens")
            if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold <= 0:
                raise self._fail(f"{where}: above_input_tokens must be a positive integer",
                                 "tiers", i)
            if tiers and threshold <= tiers[-1].above_input_tokens:
                raise self._fail(f"{where}: above_input_tokens must increase from tier to tier",
                                 "tiers", i)
            # a tier's omitted kinds keep the base prices of the same kind
            prices = self._prices(tier, tier.get("input_per_mtok", _nanos_text(base.input)),
                                  tier.get("output_per_mtok", _nanos_text(base.output)), base, i)
            tiers.append(PriceTier(threshold, prices.input, prices.cached_input,
                                   prices.cache_write, prices.output, prices.reasoning))
        return tuple(tiers)

    def _instant(self, model_id: str, raw: Any, i: int) -> int | None:
        """``deprecated_after``: a TOML date (its midnight UTC) or offset date-time."""
        if raw is None:
            return None
        if isinstance(raw, datetime):
            if raw.tzinfo is None:
                raise self._fail(f"model {model_id!r}: deprecated_after needs a UTC offset "
                                 "(or give a date)", "deprecated_after", i)
            moment = raw
        elif isinstance(raw, date):
            moment = datetime.combine(raw, time(), UTC)
        else:
            raise self._fail(f"model {model_id!r}: deprecated_after must be a TOML date "
                             "(2026-03-01) or date-time", "deprecated_after", i)
        return (moment - _EPOCH) // timedelta(microseconds=1)

    def _quality(self, model_id: str, raw: Any, i: int) -> QualityRef:
        if not isinstance(raw, dict) or len(raw) != 1:
            raise self._fail(f"model {model_id!r}: quality needs exactly one of head, ability, "
                             "mmlu", "quality", i)
        (key, value), = raw.items()
        if key == "head" and isinstance(value, str) and value:
            return QualityRef(head=value)
        if key in ("ability", "mmlu") and isinstance(value, int | float) \
                and not isinstance(value, bool):
            if key == "mmlu" and not 0 <= value <= 100:
                raise self._fail(f"model {model_id!r}: mmlu is a percentage (0-100)", "quality", i)
            return QualityRef(ability=float(value)) if key == "ability" \
                else QualityRef(mmlu=float(value))
        raise self._fail(f"model {model_id!r}: bad quality {raw!r}", "quality", i)

    def _rates(self, data: dict[str, Any]) -> RateCard:
        tools_raw = data.get("tools", {})
        compute = data.get("compute", {})
        review = data.get("human_review", {})
        for name, table in (("tools", tools_raw), ("compute", compute),
                            ("human_review", review)):
            if not isinstance(table, dict):
                raise self._fail(f"[{name}] must be a table", name)
        tools = {str(k): self._price(v, str(k), table="tools") for k, v in tools_raw.items()}
        tools.setdefault("default", 0)
        return RateCard(
            tool_call=MappingProxyType(tools),
            cpu_second=self._price(compute.get("cpu_second", 0), "cpu_second", table="compute"),
            gpu_second=self._price(compute.get("gpu_second", 0), "gpu_second", table="compute"),
            review_hour=self._price(review.get("hourly_rate", 0), "hourly_rate",
                                    table="human_review"),
            memory_gb_second=self._price(compute.get("memory_gb_second", 0), "memory_gb_second",
                                         table="compute"),
        )


def _nanos_text(nanos: int) -> str:
    """Decimal text of a nano amount, so defaults go through the same parser as explicit values."""
    sign = "-" if nanos < 0 else ""
    whole, frac = divmod(abs(nanos), 1_000_000_000)
    return f"{sign}{whole}.{frac:09d}"
