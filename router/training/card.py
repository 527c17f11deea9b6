"""The model card (``models/README.md``): the generated section of held-out metrics between the
training markers, rewritten by every ``router train``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from router.training.params import QUALITY_FRACTIONS

START, END = "<!-- training:start -->", "<!-- training:end -->"


def _pct(x: float | None) -> str:
    return "never" if x is None else "n/a" if math.isnan(x) else f"{100 * x:.1f}%"


def _f(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def card_section(m: dict[str, Any]) -> str:
    """The generated part of the model card: held-out metrics of one training run."""
    s, d = m["summary"], m["difficulty"]
    src = ", ".join(f"{k} {v['prompts']:,} ({v['held_out']:,} held out)"
                    for k, v in s["by_source"].items())
    lines = [
        START,
        f"Artifact `{m['version']}`: {s['prompts']:,} distinct prompts, {s['held_out']:,} held "
        f"out ({src}); {s['heads']} heads; {s['vocabulary']:,} terms; "
        f"{s['artifact_bytes'] / 1e6:.1f} MB; trained in {s['train_seconds']} s.",
        "",
        "**Per-model heads** (held-out prompts of the sources that have the model):",
        "",
        "| head | train | held out | AUC | log loss | Brier | base rate |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, h in sorted(m["heads"].items()):
        lines.append(f"| {name} | {h['n_train']} | {h['n_val']} | {_f(h.get('auc'))} | "
                     f"{_f(h.get('log_loss'))} | {_f(h.get('brier'))} | "
                     f"{_f(h.get('base_rate'))} |")
    lines.append(f"| **mean** | | | {_f(s['mean_auc'])} | | | |")
    ap, mf = d["ability_path"], d["mmlu_fit"]
    lines += [
        "",
        "**Difficulty (IRT) scale.** Predicting every head's outcomes from its ability and the "
        f"text's difficulty alone, `sigmoid(ability - z)`: mean AUC {_f(ap['mean_auc'])}, log "
        f"loss {_f(ap['log_loss'])}, Brier {_f(ap['brier'])}.",
    ]
    if "mmlu_path" in d:
        mp = d["mmlu_path"]
        lines.append(
            f"With the ability taken from public MMLU instead (how models without outcome data "
            f"are judged): mean AUC {_f(mp['mean_auc'])}, log loss {_f(mp['log_loss'])}, Brier "
            f"{_f(mp['brier'])}. MMLU fit over {mf['models']} models: ability = "
            f"{mf['intercept']:.3f} + {mf['slope']:.4f} x MMLU (correlation {_f(mf['corr'], 2)}).")
    shares = d["label_share_held_out"]
    lines.append("Labels on held-out prompts: " + ", ".join(
        f"{k} {100 * v:.0f}%" for k, v in shares.items()) + ".")
    lines += ["", "**Routing on each source's held-out prompts**: the cheapest model whose "
              "predicted P(good) >= t (else the most likely), against the best single model.",
              "", "| source | n | models | policy | quality | cost / query | vs best: quality "
              "| vs best: cost |", "|---|---:|---:|---|---:|---:|---:|---:|"]
    for source, r in m["routing"].items():
        b, ch, o = r["best_single"], r["cheapest_single"], r["oracle"]
        head = f"| {source} | {r['n']} | {r['models']}"
        lines.append(f"{head} | best single ({b['model']}) | {b['quality']:.3f} | "
                     f"${b['cost']:.6f} | 100% | 100% |")
        lines.append(f"| | | | cheapest single ({ch['model']}) | {ch['quality']:.3f} | "
                     f"${ch['cost']:.6f} | {_pct(ch['quality'] / b['quality'])} | "
                     f"{_pct(ch['cost'] / b['cost'] if b['cost'] else math.nan)} |")
        for p in r["policy"]:
            lines.append(f"| | | | t = {p['t']:.1f} | {p['quality']:.3f} | ${p['cost']:.6f} | "
                         f"{_pct(p['quality_vs_best'])} | {_pct(p['cost_vs_best'])} |")
        lines.append(f"| | | | oracle | {o['quality']:.3f} | ${o['cost']:.6f} | "
                     f"{_pct(o['quality'] / b['quality'])} | "
                     f"{_pct(o['cost'] / b['cost'] if b['cost'] else math.nan)} |")
    lines += ["", "Least cost (share of the best single model's) reaching a share of its "
              "quality, over a sweep of t:", "",
              "| source | cost basis | " + " | ".join(f"{float(f):.0%} quality"
                                                    for f in QUALITY_FRACTIONS) + " |",
              "|---|---|" + "---:|" * len(QUALITY_FRACTIONS)]
    for source, r in m["routing"].items():
        lines.append(f"| {source} | {r['cost_basis']} | " + " | ".join(
            _pct(v) for v in r["cost_vs_best_at_quality"].values()) + " |")
    ot = m["output_tokens"]
    lines += ["", "**Output tokens** (held-out prompts; median absolute percentage error):", ""]
    for source, v in ot.items():
        lines.append(f"- {source} (n {v['n']:,}, median {v['median_tokens']:.0f} tokens): "
                     f"{_pct(v['mdape'])}; baselines: one constant "
                     f"{_pct(v['mdape_constant'])}, the source's median "
                     f"{_pct(v['mdape_source_median'])}, each model's median "
                     f"{_pct(v['mdape_model_median'])}")
    it = m.get("input_tokens") or {}
    if it:
        ours, quarter = it["estimate_tokens"], it["chars_div_4"]
        llama = f"mdape_{it['tokenizer_fit']}"
        lines += ["", f"**Input tokens** (RouteProfile: {it['rows']:,} prompt x model rows with "
                  "real counts; one template intercept per task and tokenizer): "
                  f"`estimate_tokens` {_pct(ours['mdape_all_tokenizers'])} median error over "
                  f"all tokenizers, {_pct(ours[llama])} on {it['tokenizer_fit']}'s it was "
                  f"fitted on; chars / 4: {_pct(quarter['mdape_all_tokenizers'])} and "
                  f"{_pct(quarter[llama])}."]
        if "coefficients" in it:
            coef = ", ".join(f"{k} {v}" for k, v in it["coefficients"].items())
            lines.append(f"Refit today: {coef} (in sample {_pct(it['fit_mdape'])}, "
                         f"leave-one-out {_pct(it['fit_mdape_leave_one_out'])}).")
    lat = m.get("latency_us")
    if lat:
        lines += ["", f"**Latency** of `assess` ({lat['n']:,} held-out prompts, mean "
                  f"{lat['mean_chars']:.0f} characters, one thread, best of 3 passes per "
                  f"prompt): p50 {lat['p50']:.0f} µs, p90 {lat['p90']:.0f} µs, p99 "
                  f"{lat['p99']:.0f} µs, max {lat['max']:.0f} µs; 500-character prompts: p50 "
                  f"{lat['p50_500']:.0f} µs, p99 {lat['p99_500']:.0f} µs."]
    lines.append(END)
    return "\n".join(lines)


def update_card(readme: Path, metrics: dict[str, Any]) -> None:
    """Replace the text between the training markers (or append it) with fresh numbers."""
    section = card_section(metrics)
    text = readme.read_text(encoding="utf-8") if readme.exists() else "# Model card\n"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        text = before + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n## Validation metrics\n\n" + section + "\n"
    readme.write_text(text, encoding="utf-8")
