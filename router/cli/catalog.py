"""``router catalog import``: a catalog from LiteLLM's price map, or its prices merged into ours.

    router catalog import --litellm model_prices_and_context_window.json
        [--only anthropic,gemini] [--merge models/catalog.toml] [--mmlu scores.json] [--out PATH]

The catalog goes to stdout, or to --out, which may name the --merge file itself: a file is
replaced only by a catalog that has loaded (``parse_catalog``), never by default. The report
(imported, updated, skipped and why, unmapped keys, rounded prices) goes to stderr. What is
mapped, and how, is ``router.core.litellm``'s docstring.

Quality: a model already in the --merge catalog keeps its quality, aliases, enabled, provider
and every key the map does not give; a new one takes its MMLU percent from --mmlu (a JSON
object, or a TOML table for a .toml file, of model id -> percent); any other is written
``enabled = false``, not routable until someone gives it a quality.

--merge edits the catalog's TOML document (tomlkit), so its comments and hand-written entries
survive. A map entry updates the catalog model of the same id, else the one it is an alias of
(the catalog's aliases say which of the map's names are the same model; its own id wins, then
the first alias in the map): prices, tiers, context window, max output, the capabilities the
map decides (``code`` stays as written) and the deprecation date, each written only where its
value changes. A price kind or a tier table the map does not give is left as it is: a missing
key in the map is not a price. Models of the catalog alone are kept untouched; new ones are
appended.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from router.core import tomlfile
from router.core.catalog import CatalogError, ModelSpec, PriceTier, parse_catalog
from router.core.litellm import (
    FROM_MAP,
    ImportedModel,
    LiteLLMError,
    MapImport,
    Skipped,
    import_map,
    loads,
    ordered,
    price_text,
    tier_table,
)
from router.core.money import MoneyError, to_nanos, units

PROG = "router catalog import"
_HEADER = """\
Model catalog written by `router catalog import --litellm` from LiteLLM's
model_prices_and_context_window.json (router/core/litellm.py says what is mapped). Prices are USD
per 1M tokens. A model without a quality is enabled = false: give it one (quality = { mmlu = ... })
to route it."""
_NEW = "new from LiteLLM's map"
_EXAMPLES = 5
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ImportFailed(ValueError):
    """A file that cannot be read or used: the command exits 2 with this message."""


@dataclass(frozen=True, slots=True)
class Change:
    model: str
    key: str
    old: str
    new: str


@dataclass
class Outcome:
    """What writing the imported models did to the catalog."""

    updated: dict[str, list[Change]] = field(default_factory=dict)  # catalog id -> its changes
    unchanged: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    without_quality: list[str] = field(default_factory=list)  # added with enabled = false
    aliases: list[Skipped] = field(default_factory=list)  # entries naming an updated model
    kept: int = 0  # catalog models no entry named
    mmlu_unused: list[str] = field(default_factory=list)  # --mmlu ids no new model has
    default_model: str = ""
    merged: bool = False  # into a catalog (--merge), else a new one


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("catalog", help="import model prices from LiteLLM's price map",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = p.add_subparsers(dest="verb", required=True)
    imp = verbs.add_parser("import", help="a catalog from LiteLLM's map, or merged into one",
                           description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    imp.add_argument("--litellm", required=True, metavar="FILE",
                     help="LiteLLM's model_prices_and_context_window.json")
    imp.add_argument("--only", default="", metavar="PROVIDERS",
                     help="comma list of litellm_provider values to import (default: all)")
    imp.add_argument("--merge", metavar="CATALOG",
                     help="update this catalog instead of writing a new one (it is not "
                          "overwritten unless --out names it)")
    imp.add_argument("--mmlu", metavar="FILE",
                     help="JSON (or .toml) of model id -> MMLU percent, the quality of new "
                          "models")
    imp.add_argument("--out", metavar="PATH", help="write the catalog here (default: stdout)")


def run(args: argparse.Namespace) -> int:
    providers = [p.strip() for p in args.only.split(",") if p.strip()]
    try:
        result = import_map(loads(_read(args.litellm, "the LiteLLM map")), providers)
    except LiteLLMError as exc:
        print(f"{PROG}: {args.litellm}: {exc}", file=sys.stderr)
        return 2
    except ImportFailed as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    try:
        mmlu = read_mmlu(args.mmlu) if args.mmlu else {}
        if args.merge:
            text, outcome = merge(_read(args.merge, "the catalog"), args.merge, result.models,
                                  mmlu)
        elif result.models:
            text, outcome = fresh(result.models, mmlu)
        else:
            _report(result, None, providers)
            raise ImportFailed("no model to import (see the report above)")
    except (ImportFailed, CatalogError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    try:
        parse_catalog(text, args.out or "<output>")
    except CatalogError as exc:  # a bug of this command: never write such a catalog
        print(f"{PROG}: the catalog it would write does not load: {exc}", file=sys.stderr)
        return 1
    _report(result, outcome, providers)
    if args.out:
        _write(Path(args.out), text)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def read_mmlu(path: str) -> dict[str, float]:
    """``path``'s model id (lower-cased) -> MMLU percent."""
    text = _read(path, "the MMLU scores")
    try:
        data = tomlfile.loads(text, path, ImportFailed) if path.endswith(".toml") \
            else json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFailed(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise ImportFailed(f"{path}: must map model ids to MMLU percentages")
    scores: dict[str, float] = {}
    for model, score in data.items():
        if isinstance(score, bool) or not isinstance(score, int | float) \
                or not 0 <= score <= 100:
            raise ImportFailed(f"{path}: {model!r}: MMLU must be a percentage (0-100), got "
                               f"{score!r}")
        scores[model.lower()] = float(score)
    return scores


def fresh(models: Sequence[ImportedModel], mmlu: Mapping[str, float]) -> tuple[str, Outcome]:
    """A whole catalog of ``models``; default_model is the cheapest enabled one (input +
    output per 1M tokens), else the first."""
    import tomlkit

    outcome = Outcome()
    routable = [m for m in models if m.id.lower() in mmlu]
    default = min(routable, key=lambda m: (m.prices["input_per_mtok"]
                                           + m.prices["output_per_mtok"], m.id),
                  default=models[0])
    doc = tomlkit.document()
    for line in _HEADER.splitlines():
        doc.add(tomlkit.comment(line))
    doc.add(tomlkit.nl())
    doc["schema_version"] = 1
    doc["currency"] = "USD"
    doc["default_model"] = outcome.default_model = default.id
    doc.add(tomlkit.nl())
    tables = tomlkit.aot()
    for m in models:
        tables.append(_new_table(m, mmlu.get(m.id.lower()), outcome))
    doc["models"] = tables
    outcome.mmlu_unused = sorted(set(mmlu) - {m.id.lower() for m in models})
    return tomlkit.dumps(doc), outcome


def merge(text: str, source: str, models: Sequence[ImportedModel],
          mmlu: Mapping[str, float]) -> tuple[str, Outcome]:
    """The catalog ``text`` with ``models`` merged in (see the module docstring)."""
    import tomlkit
    from tomlkit.items import AoT

    catalog = parse_catalog(text, source)  # only a catalog that loads is merged into
    doc = tomlkit.parse(text)
    tables = doc["models"]
    if not isinstance(tables, AoT):
        raise ImportFailed(f"{source}: --merge needs the models as [[models]] tables")
    specs = catalog.models
    ids = {spec.id.lower(): i for i, spec in enumerate(specs)}
    aliases = {a.lower(): i for i, spec in enumerate(specs) for a in spec.aliases}
    source_of: dict[int, ImportedModel] = {ids[m.id.lower()]: m for m in models
                                           if m.id.lower() in ids}
    outcome = Outcome(default_model=catalog.default_model, merged=True)
    new: list[ImportedModel] = []
    for m in models:
        if m.id.lower() in ids:
            continue
        i = aliases.get(m.id.lower())
        if i is None:
            new.append(m)
        elif i in source_of:
            outcome.aliases.append(Skipped(f"{m.id} (of {specs[i].id})",
                                           "a catalog alias of a model updated from another "
                                           "entry"))
        else:
            source_of[i] = m
    for i, m in sorted(source_of.items()):
        changes = _update(tables[i], specs[i], m)
        if changes:
            outcome.updated[specs[i].id] = changes
        else:
            outcome.unchanged.append(specs[i].id)
    outcome.kept = len(specs) - len(source_of)
    for m in new:
        table = _new_table(m, mmlu.get(m.id.lower()), outcome)
        table.comment(_NEW)
        table.trivia.comment_ws = "   "
        tables.append(table)
        _end_with_blank_line(table)
    outcome.mmlu_unused = sorted(set(mmlu) - {m.id.lower() for m in new})
    return tomlkit.dumps(doc), outcome


def _update(table: Any, spec: ModelSpec, m: ImportedModel) -> list[Change]:
    """Write into ``table`` (the catalog's, for ``spec``) what ``m`` changes."""
    plain = table.unwrap()
    changes: list[Change] = []

    def put(key: str, value: Any, old: str, new: str) -> None:
        table[key] = value
        changes.append(Change(spec.id, key, old, new))

    for key, nanos in m.prices.items():
        old = plain.get(key)
        if old is None or _nanos(old) != nanos:
            put(key, price_text(nanos), "-" if old is None else str(old), price_text(nanos))
    if m.context_window != spec.context_window:
        put("context_window", m.context_window, str(spec.context_window), str(m.context_window))
    if m.max_output_tokens is not None and m.max_output_tokens != spec.max_output_tokens:
        put("max_output_tokens", m.max_output_tokens, str(spec.max_output_tokens),
            str(m.max_output_tokens))
    caps = (spec.capabilities - FROM_MAP) | m.capabilities
    if caps != spec.capabilities:
        diff = [f"+{c}" for c in ordered(caps - spec.capabilities)] + \
            [f"-{c}" for c in ordered(spec.capabilities - caps)]
        put("capabilities", ordered(caps), ", ".join(ordered(spec.capabilities)) or "-",
            " ".join(diff))
    if m.deprecated_after is not None and _micros(m.deprecated_after) != spec.deprecated_after_us:
        put("deprecated_after", m.deprecated_after, str(plain.get("deprecated_after", "-")),
            m.deprecated_after.isoformat())
    if m.tiers and m.tiers != spec.prices.tiers:
        put("tiers", _tiers(m.tiers), _describe(spec.prices.tiers), _describe(m.tiers))
        _end_with_blank_line(table)
    return changes


def _new_table(m: ImportedModel, mmlu: float | None, outcome: Outcome) -> Any:
    import tomlkit

    raw = m.table()
    tiers = raw.pop("tiers", [])
    deprecated = raw.pop("deprecated_after", None)
    table = tomlkit.table()
    for key, value in raw.items():
        table[key] = value
    if mmlu is not None:
        quality = tomlkit.inline_table()
        quality["mmlu"] = mmlu
        table["quality"] = quality
    else:
        table["enabled"] = False
        outcome.without_quality.append(m.id)
    if deprecated is not None:
        table["deprecated_after"] = deprecated
    if tiers:
        table["tiers"] = _tiers(m.tiers)
    outcome.added.append(m.id)
    return table


def _tiers(tiers: Sequence[PriceTier]) -> Any:
    import tomlkit

    aot = tomlkit.aot()
    for tier in tiers:
        table = tomlkit.table()
        for key, value in tier_table(tier).items():
            table[key] = value
        aot.append(table)
    return aot


def _end_with_blank_line(table: Any) -> None:
    """A blank line after a model written into a catalog, before what follows it (tomlkit
    writes tables back to back)."""
    import tomlkit

    (table["tiers"][-1] if "tiers" in table else table).add(tomlkit.nl())


def _describe(tiers: Sequence[PriceTier]) -> str:
    if not tiers:
        return "-"
    return "; ".join(f">{t.above_input_tokens}: in {units(t.input)} cached "
                     f"{units(t.cached_input)} write {units(t.cache_write)} out {units(t.output)}"
                     f" reasoning {units(t.reasoning)}" for t in tiers)


def _nanos(value: Any) -> int | None:
    try:
        return to_nanos(value)
    except MoneyError:
        return None


def _micros(day: date) -> int:
    return (datetime.combine(day, datetime.min.time(), UTC) - _EPOCH) // timedelta(microseconds=1)


def _report(result: MapImport, outcome: Outcome | None, providers: Sequence[str]) -> None:
    for line in report(result, outcome, providers):
        print(line, file=sys.stderr)


def report(result: MapImport, outcome: Outcome | None, providers: Sequence[str]) -> list[str]:
    """The report, short: counts and the first few examples of each."""
    lines = [f"LiteLLM map: {result.entries} entries, {len(result.models)} chat models "
             f"mapped" + (f" (providers {', '.join(providers)})" if providers else "")]
    if outcome is not None and outcome.merged:
        lines.append(f"  merged: {len(outcome.updated)} updated, {len(outcome.unchanged)} "
                     f"unchanged, {len(outcome.added)} added ({len(outcome.without_quality)} "
                     f"of them enabled = false: no quality); {outcome.kept} catalog models no "
                     f"entry names, kept as they are")
    elif outcome is not None:
        lines.append(f"  written: {len(outcome.added)} models ({len(outcome.without_quality)} "
                     f"enabled = false: no quality); default_model {outcome.default_model}")
    if result.by_mode:
        modes = ", ".join(f"{mode} {n}" for mode, n in list(result.by_mode.items())[:6])
        more = ", ..." if len(result.by_mode) > 6 else ""
        lines.append(f"  skipped by mode (not chat): {sum(result.by_mode.values())} ({modes}"
                     f"{more})")
    if result.by_provider:
        lines.append(f"  skipped by provider (--only): {result.by_provider} chat entries")
    if result.providers_not_found:
        lines.append(f"  --only names providers no entry has: "
                     f"{', '.join(result.providers_not_found)}")
    skipped = [*result.skipped, *(outcome.aliases if outcome else [])]
    if skipped:
        lines.append(f"  skipped chat entries: {len(skipped)}")
        by_reason: dict[str, list[str]] = {}
        for s in skipped:
            by_reason.setdefault(s.reason, []).append(s.model)
        for reason, names in sorted(by_reason.items(), key=lambda kv: -len(kv[1])):
            lines.append(f"    {len(names)} {reason}: {_first(names)}")
    if outcome is not None and outcome.updated:
        lines.append(f"  updated ({len(outcome.updated)}), old -> new:")
        for model, changes in list(outcome.updated.items())[:_EXAMPLES]:
            lines.append(f"    {model}: " + "; ".join(f"{c.key} {c.old} -> {c.new}"
                                                   for c in changes))
        if len(outcome.updated) > _EXAMPLES:
            lines.append(f"    ... and {len(outcome.updated) - _EXAMPLES} more")
    if result.unmapped:
        lines.append(f"  unmapped keys (not carried over): {len(result.unmapped)}, most common:")
        for key, u in list(result.unmapped.items())[:8]:
            lines.append(f"    {key}: {u.count} models (e.g. {', '.join(u.examples)})")
        if len(result.unmapped) > 8:
            lines.append(f"    ... and {len(result.unmapped) - 8} more keys")
    lines.append(f"  prices rounded to the nano per 1M tokens: {len(result.rounded)}")
    lines.extend(f"    {r.describe()}" for r in result.rounded[:_EXAMPLES])
    if len(result.rounded) > _EXAMPLES:
        lines.append(f"    ... and {len(result.rounded) - _EXAMPLES} more")
    if outcome is not None and outcome.mmlu_unused:
        lines.append(f"  --mmlu ids that name no new model: {_first(outcome.mmlu_unused)}")
    return lines


def _first(names: Sequence[str], n: int = 3) -> str:
    return ", ".join(names[:n]) + (f", ... ({len(names) - n} more)" if len(names) > n else "")


def _read(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ImportFailed(f"{path}: cannot read {what}: {exc.strerror or exc}") from None


def _write(path: Path, text: str) -> None:
    """Replace ``path`` at once: a reader never sees half a catalog."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
