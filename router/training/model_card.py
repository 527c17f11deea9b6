"""Keeps the generated sections of the model card (models/README.md) in step with the artifact."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

START, END = "<!-- training:start -->", "<!-- training:end -->"


def _fmt(x: float) -> str:
    return "n/a" if isinstance(x, float) and math.isnan(x) else f"{x:.3f}"


def training_section(result: dict[str, Any]) -> str:
    s = result["summary"]
    lines = [
        START,
        f"Artifact `{result['version']}`: {s['prompts']:,} prompts, {s['held_out']:,} held out; "
        f"{s['heads']} heads; vocabulary {s['vocabulary']:,} terms; "
        f"{s.get('artifact_bytes', 0) / 1e6:.1f} MB; trained in {s['train_seconds']} s.",
        "",
        f"- Difficulty regression, held-out correlation with the logit of the share of models "
        f"answering well: {s['difficulty_corr']:.3f}",
        f"- Output tokens, held-out median absolute percentage error: "
        f"{100 * s['output_tokens_mdape']:.1f}% (a constant guess: "
        f"{100 * s['output_tokens_mdape_constant']:.1f}%)",
        f"- MMLU -> ability fit over {s['mmlu_fit']['models']} models: ability = "
        f"{s['mmlu_fit']['intercept']:.3f} + {s['mmlu_fit']['slope']:.4f} x MMLU",
        f"- Mean held-out AUC over heads: {s['mean_auc']:.3f}",
        "",
        "| head | train | held out | AUC | log loss | Brier | base rate |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, m in sorted(result["heads"].items()):
        lines.append(f"| {name} | {m['n_train']} | {m['n_val']} | {_fmt(m['auc'])} | "
                     f"{_fmt(m['log_loss'])} | {_fmt(m['brier'])} | {_fmt(m['base_rate'])} |")
    lines.append(END)
    return "\n".join(lines)


def write_training_section(readme: Path, result: dict[str, Any]) -> None:
    """Replace the text between the training markers (or append it) with fresh numbers."""
    section = training_section(result)
    text = readme.read_text() if readme.exists() else "# Model card\n"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip() + "\n\n## Validation metrics\n\n" + section + "\n"
    readme.write_text(text)
