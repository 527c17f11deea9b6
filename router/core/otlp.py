"""OpenTelemetry GenAI spans as usage reports: what a span says a model call consumed. Pure.

Agents instrumented with OpenTelemetry's GenAI semantic conventions describe each model call as
a span; pointed at this service, their exporter's spans become the usage reports ReportUsage
would have made (``UsageInput``), so spend is accounted for without changing the agent.

A span carries usage when it has any ``gen_ai.usage.*`` token attribute (or
``gen_ai.usage.cost``). Its tokens are split the way ``TokenUsage`` prices them: the semantic
conventions count cached and cache-written tokens inside ``gen_ai.usage.input_tokens`` and
reasoning tokens inside ``gen_ai.usage.output_tokens``, while ``TokenUsage.input`` and
``output`` exclude them, so the parts are taken out of the totals. A total smaller than its
parts cannot include them (an instrumentation that reports them apart, as Anthropic's API does):
it is then taken as the remainder itself. An agent's or workflow's span (``invoke_agent``,
``invoke_workflow``) is ignored: its usage sums the model calls inside it, which are spans too,
and counting both would count the spend twice.

The model is ``gen_ai.response.model`` (the one that answered, often a dated snapshot), then
``gen_ai.request.model``, each looked up in the catalog as "provider/model", as given, and
without a path prefix ("models/gemini-2.5-pro"). Attribution comes from the span's attributes,
then its resource's, through an ``AttributeMap`` (``ROUTER_OTLP_ATTRIBUTES``). The usage_id is
the span's identity, ``otlp:<trace id>:<span id>``, so an exporter's retry of a batch replays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeAlias

from router.core.catalog import Catalog, ModelSpec
from router.core.errors import FieldViolation, InvalidRequest, quoted
from router.core.money import Money, MoneyError, to_nanos
from router.core.pricing import TokenCounts
from router.core.records import Attribution, Outcome
from router.core.requests import UsageInput

# an attribute's value, decoded from OTLP's AnyValue (None: an empty AnyValue)
Value: TypeAlias = (
    "str | bool | int | float | bytes | tuple[Value, ...] | Mapping[str, Value] | None")

TRACE_ID_BYTES = 16
SPAN_ID_BYTES = 8
USAGE_PREFIX = "gen_ai.usage."
COST = "gen_ai.usage.cost"
RESPONSE_MODEL = "gen_ai.response.model"
REQUEST_MODEL = "gen_ai.request.model"
PROVIDERS = ("gen_ai.provider.name", "gen_ai.system")  # the current name, then the older one
OPERATION = "gen_ai.operation.name"
# operations whose usage sums that of the model calls made inside them (their own spans)
AGGREGATE_OPERATIONS = frozenset({"invoke_agent", "invoke_workflow"})

# each count by its current name first, then the older names instrumentations still send
INPUT = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
OUTPUT = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
CACHE_READ = ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens")
CACHE_WRITE = ("gen_ai.usage.cache_creation.input_tokens",
               "gen_ai.usage.cache_creation_input_tokens")
REASONING = ("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens")
_COUNTS = INPUT + OUTPUT + CACHE_READ + CACHE_WRITE + REASONING
# each count and the usage report's field it sets (the one a refusal of the report names)
_COUNT_FIELDS = ((INPUT, "tokens.input"), (OUTPUT, "tokens.output"),
                 (CACHE_READ, "tokens.cached_input"), (CACHE_WRITE, "tokens.input"),
                 (REASONING, "tokens.reasoning"))

KEYS = ("team", "agent", "task_id", "task_type", "user")
LABELS = "labels"
DEFAULT_ATTRIBUTES = (
    "router.team=team,team=team,router.agent=agent,service.name=agent,"
    "router.task_type=task_type,router.task_id=task_id,router.user=user,enduser.id=user,"
    "router.label.*=labels")
_SETTING = "ROUTER_OTLP_ATTRIBUTES"


@dataclass(frozen=True, slots=True)
class Span:
    """One span as the mapping reads it: ids, name, times, status, and its attributes and its
    resource's, decoded."""

    trace_id: bytes
    span_id: bytes
    name: str = ""
    start_ns: int = 0
    end_ns: int = 0
    error: bool = False  # its status is ERROR
    attributes: Mapping[str, Value] = field(default_factory=dict)
    resource: Mapping[str, Value] = field(default_factory=dict)

    def describe(self) -> str:
        """How an error message names the span: its ids and its name."""
        name = f" {quoted(self.name[:80])}" if self.name else ""
        return f"span {self.trace_id.hex()}:{self.span_id.hex()}{name}"


@dataclass(frozen=True, slots=True)
class AttributeMap:
    """Which span and resource attributes set which attribution keys.

    ``keys``: (attribute, key) in order of precedence; ``labels``: (attribute, label) pairs;
    ``label_prefixes``: every attribute under one of these sets the label named by the rest.
    A span's own attributes come before its resource's, so a span may name its task in an
    agent (service) whose resource names the agent."""

    keys: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    label_prefixes: tuple[str, ...] = ()

    def attribution(self, span: Span, sources: dict[str, str]) -> Attribution:
        """The span's attribution; ``sources`` gets, for each key set, the attribute it came
        from (``service.name (resource)``), so an error about the key can name it."""
        values: dict[str, str] = {}
        for key in KEYS:
            for level, where in ((span.attributes, ""), (span.resource, " (resource)")):
                found = next((a for a, k in self.keys if k == key and a in level), None)
                if found is not None:
                    values[key] = _text(level[found], found)
                    sources[f"attribution.{key}"] = found + where
                    break
        labels: dict[str, str] = {}
        for level, where in ((span.resource, " (resource)"), (span.attributes, "")):
            for name, value in level.items():
                label = self._label(name)
                if label:
                    labels[label] = _text(value, name)
                    sources[f"attribution.labels[{label[:40]}]"] = name + where
        return Attribution(labels=labels, **values)

    def _label(self, attribute: str) -> str:
        for a, label in self.labels:
            if a == attribute:
                return label
        for prefix in self.label_prefixes:
            if attribute.startswith(prefix) and len(attribute) > len(prefix):
                return attribute[len(prefix):]
        return ""


def parse_attribute_map(text: str) -> AttributeMap:
    """``ROUTER_OTLP_ATTRIBUTES``: comma-separated ``attribute=key`` entries, key one of team,
    agent, task_id, task_type, user or ``labels.NAME``; ``prefix.*=labels`` maps every
    attribute under the prefix to a label. Earlier entries for a key take precedence.
    ValueError naming the setting and the entry."""
    keys, labels, prefixes = [], [], []
    for entry in filter(None, (e.strip() for e in text.split(","))):
        attribute, sep, key = (p.strip() for p in entry.partition("="))
        if not sep or not attribute or not key:
            raise ValueError(f"{_SETTING}: {entry!r} is not attribute=key")
        if attribute.endswith(".*"):
            if key != LABELS or len(attribute) < 3:
                raise ValueError(f"{_SETTING}: {entry!r}: a prefix (name.*) maps to labels only")
            prefixes.append(attribute[:-1])
        elif key.startswith(LABELS + ".") and len(key) > len(LABELS) + 1:
            labels.append((attribute, key[len(LABELS) + 1:]))
        elif key in KEYS:
            keys.append((attribute, key))
        else:
            raise ValueError(f"{_SETTING}: {entry!r}: the key must be one of "
                             f"{', '.join(KEYS)} or labels.NAME")
    return AttributeMap(tuple(keys), tuple(labels), tuple(prefixes))


@dataclass(frozen=True, slots=True)
class Ignored:
    """A span that records nothing, and why."""

    reason: str


@dataclass(frozen=True, slots=True)
class SpanUsage:
    """The usage a span reports, the model it was resolved to, and, for each of the report's
    fields, the span's attribute it came from (to name it when the report is refused)."""

    usage: UsageInput
    model: ModelSpec
    cache_write: int  # input tokens written to the prompt cache (TokenUsage.cache_write)
    sources: Mapping[str, str]

    def source(self, path: str) -> str:
        """The attribute behind the report's field ``path`` (itself when none is known)."""
        return self.sources.get(path, path)


def usage_id(trace_id: bytes, span_id: bytes) -> str:
    return f"otlp:{trace_id.hex()}:{span_id.hex()}"


def carries_usage(span: Span) -> bool:
    return any(k.startswith(USAGE_PREFIX) and (k.endswith("tokens") or k == COST)
               for k in span.attributes)


def span_usage(span: Span, attributes: AttributeMap, catalog: Catalog) -> SpanUsage | Ignored:
    """The usage report of ``span``, or Ignored; InvalidRequest naming each attribute at fault
    (by its OTLP name) when the span carries usage that cannot be read."""
    if not carries_usage(span):
        return Ignored("no gen_ai.usage attributes")
    operation = span.attributes.get(OPERATION)
    if isinstance(operation, str) and operation in AGGREGATE_OPERATIONS:
        return Ignored(f"{OPERATION} {operation}: its usage sums the model calls inside it")
    problems: list[FieldViolation] = []
    sources: dict[str, str] = {}
    _check_ids(span, problems)
    counts = {names[0]: _count(span.attributes, names, path, problems, sources)
              for names, path in _COUNT_FIELDS}
    if not any(n in span.attributes for n in _COUNTS) and COST not in span.attributes:
        problems.append(FieldViolation(INPUT[0], "no token count this service reads (input, "
                                                 "output, cache_read, cache_creation, "
                                                 "reasoning) and no gen_ai.usage.cost"))
    cost = _cost(span.attributes, problems)
    model = _model(span, catalog, problems, sources)
    _check_times(span, problems)
    try:
        attribution = attributes.attribution(span, sources)
    except InvalidRequest as exc:
        problems += exc.violations
        attribution = Attribution()
    if problems:
        raise InvalidRequest(problems)
    assert model is not None
    tokens, cache_write = _tokens(counts)
    sources.update({"actual_cost": COST, "actual_cost.nanos": COST,
                    "occurred_at": "end_time_unix_nano", "latency_ms": "end_time_unix_nano"})
    return SpanUsage(
        usage=UsageInput(
            usage_id=usage_id(span.trace_id, span.span_id),
            attribution=attribution,
            model=model.id,
            tokens=tokens,
            outcome=Outcome.FAILURE if span.error else Outcome.SUCCESS,
            latency_ms=_latency_ms(span),
            actual_cost=Money(cost, catalog.currency) if cost is not None else None,
            occurred_us=span.end_ns // 1000,
        ),
        model=model, cache_write=cache_write, sources=sources)


def _check_times(span: Span, problems: list[FieldViolation]) -> None:
    if span.end_ns <= 0:
        problems.append(FieldViolation("end_time_unix_nano", "is required"))
    elif span.end_ns < span.start_ns:
        problems.append(FieldViolation("end_time_unix_nano", "is before start_time_unix_nano"))


def _latency_ms(span: Span) -> int:
    """End minus start in whole milliseconds (rounded half up); 0 when the start is unknown."""
    return (span.end_ns - span.start_ns + 500_000) // 1_000_000 if span.start_ns > 0 else 0


def _check_ids(span: Span, problems: list[FieldViolation]) -> None:
    for name, value, size in (("trace_id", span.trace_id, TRACE_ID_BYTES),
                              ("span_id", span.span_id, SPAN_ID_BYTES)):
        if len(value) != size or not any(value):
            problems.append(FieldViolation(name, f"must be {size} bytes, not all zero"))


def _tokens(counts: Mapping[str, int | None]) -> tuple[TokenCounts, int]:
    """TokenCounts (input without the cached and cache-written tokens, which are counted and
    priced apart; output without the reasoning ones) and the cache-written tokens, from the
    semantic conventions' counts."""
    cached = counts[CACHE_READ[0]] or 0
    written = counts[CACHE_WRITE[0]] or 0
    reasoning = counts[REASONING[0]] or 0
    input_total = counts[INPUT[0]] or 0
    output_total = counts[OUTPUT[0]] or 0
    # the totals include their parts, as the conventions say, unless they are too small to
    uncached = input_total - cached - written if input_total >= cached + written else input_total
    visible = output_total - reasoning if output_total >= reasoning else output_total
    return TokenCounts(input=uncached, cached_input=cached, output=visible,
                       reasoning=reasoning, cache_write=written), written


def _count(attributes: Mapping[str, Value], names: tuple[str, ...], path: str,
           problems: list[FieldViolation], sources: dict[str, str]) -> int | None:
    """The first of ``names`` present, as a non-negative integer (an integral double or a
    string of digits are read as one: some SDKs send counts so)."""
    name = next((n for n in names if n in attributes), None)
    if name is None:
        return None
    value = attributes[name]
    sources.setdefault(path, name)
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None:
        problems.append(FieldViolation(name, "must be an integer count of tokens"))
    elif number < 0:
        problems.append(FieldViolation(name, "must not be negative"))
    return number


def _cost(attributes: Mapping[str, Value], problems: list[FieldViolation]) -> int | None:
    """``gen_ai.usage.cost`` in nanos of the catalog's currency: decimal text (or a number,
    read through its shortest decimal text), never through a float's error."""
    if COST not in attributes:
        return None
    value = attributes[COST]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        problems.append(FieldViolation(COST, "must be a decimal amount"))
        return None
    try:
        nanos = to_nanos(value if not isinstance(value, str) else Decimal(value.strip()))
    except (MoneyError, ArithmeticError, ValueError):
        problems.append(FieldViolation(COST, f"not a decimal amount: {str(value)[:40]!r}"))
        return None
    return nanos


def _model(span: Span, catalog: Catalog, problems: list[FieldViolation],
           sources: dict[str, str]) -> ModelSpec | None:
    """The catalog model of the span's response model, else of its request model (a dated
    snapshot the catalog does not list answers for the model asked for)."""
    a = span.attributes
    provider = next((v for n in PROVIDERS if isinstance(v := a.get(n), str) and v), "")
    tried: list[str] = []
    for name in (RESPONSE_MODEL, REQUEST_MODEL):
        value = a.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            problems.append(FieldViolation(name, "must be a string"))
            return None
        for candidate in model_names(value, provider):
            found = catalog.find(candidate)
            if found is not None:
                sources["model"] = name
                return found
            tried.append(candidate)
    if not tried:
        problems.append(FieldViolation(RESPONSE_MODEL, f"is required (or {REQUEST_MODEL})"))
    else:
        names = ", ".join(quoted(t[:80]) for t in dict.fromkeys(tried))
        problems.append(FieldViolation(RESPONSE_MODEL if a.get(RESPONSE_MODEL) else
                                       REQUEST_MODEL,
                                       f"unknown model: none of {names} is in the catalog "
                                       "(add an alias there)"))
    return None


def model_names(model: str, provider: str) -> tuple[str, ...]:
    """What a span's model may be called in the catalog, in the order they are tried."""
    names = [f"{provider}/{model}"] if provider else []
    names.append(model)
    if "/" in model:
        names.append(model.rsplit("/", 1)[1])
    return tuple(names)


def _text(value: Value, name: str) -> str:
    """An attribution key's value: a string (an integer is read as its digits)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise InvalidRequest.of(name, "must be a string")
