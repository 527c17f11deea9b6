"""The model catalog: which models exist, what they cost, what they can do.

Parsed from TOML (``models/catalog.toml``). Every price becomes integer nanos at load time, so the
rest of the service never sees a float price. Errors name the file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from router.core import tomlfile
from router.core.classifier import QualityRef
from router.core.money import MoneyError, to_nanos, validate_currency

CAPABILITIES = frozenset(
    {"tools", "vision", "json", "reasoning", "code", "long_context", "audio"}
)
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._/:-]{0,127}$", re.IGNORECASE)
_MAX_PRICE_NANOS = 10_000 * 1_000_000_000  # 10,000 currency units per 1M tokens: surely a typo


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class TokenPrices:
    """Prices in nanos per 1,000,000 tokens."""

    input: int
    cached_input: int
    output: int
    reasoning: int


@dataclass(frozen=True, slots=True)
class ModelSpec:
    id: str
    provider: str
    prices: TokenPrices
    context_window: int
    max_output_tokens: int
    capabilities: frozenset[str]
    quality: QualityRef
    aliases: tuple[str, ...] = ()
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class RateCard:
    """Prices of everything that is not a token, in nanos."""

    tool_call: Mapping[str, int]  # per call, by tool name; "default" for the rest
    cpu_second: int
    gpu_second: int
    review_hour: int  # default human reviewer rate per hour

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
        if nanos < 0 or nanos > _MAX_PRICE_NANOS:
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
        if not _ID_RE.fullmatch(model_id):
            raise self._fail(f"invalid model id {model_id!r}", "id", i)
        known = {"id", "provider", "input_per_mtok", "cached_input_per_mtok", "output_per_mtok",
                 "reasoning_per_mtok", "context_window", "max_output_tokens", "capabilities",
                 "aliases", "quality", "enabled"}
        for key in raw:
            if key not in known:
                raise self._fail(f"model {model_id!r}: unknown key {key!r}", key, i)
        input_price = self._price(need("input_per_mtok"), "input_per_mtok", i)
        output_price = self._price(need("output_per_mtok"), "output_per_mtok", i)
        prices = TokenPrices(
            input=input_price,
            cached_input=self._price(raw.get("cached_input_per_mtok", _nanos_text(input_price)),
                                     "cached_input_per_mtok", i),
            output=output_price,
            reasoning=self._price(raw.get("reasoning_per_mtok", _nanos_text(output_price)),
                                  "reasoning_per_mtok", i),
        )
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
        return ModelSpec(
            id=model_id,
            provider=provider,
            prices=prices,
            context_window=context,
            max_output_tokens=max_out,
            capabilities=frozenset(caps),
            quality=self._quality(model_id, need("quality"), i),
            aliases=tuple(aliases),
            enabled=enabled,
        )

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
        )


def _nanos_text(nanos: int) -> str:
    """Decimal text of a nano amount, so defaults go through the same parser as explicit values."""
    sign = "-" if nanos < 0 else ""
    whole, frac = divmod(abs(nanos), 1_000_000_000)
    return f"{sign}{whole}.{frac:09d}"
