"""Write an evaluation: metrics.json, cost_quality.png and a table on the terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def write_metrics(results: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "metrics.json"
    path.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")
    return path


def plot(results: dict[str, Any], out_dir: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(6.5 * len(results), 5), squeeze=False)
    for ax, (name, r) in zip(axes[0], results.items(), strict=True):
        for model, s in r["single_models"].items():
            ax.scatter(s["cost_usd_per_query"], s["quality"], color="grey", s=18, zorder=3)
            ax.annotate(model, (s["cost_usd_per_query"], s["quality"]), fontsize=6,
                        xytext=(3, 2), textcoords="offset points", color="dimgrey")
        curves = {"ours": r, **{k: v for k, v in r["baselines"].items()}}
        for label, data in curves.items():
            pts = sorted((p["cost_usd_per_query"], p["quality"]) for p in data["router_curve"])
            ax.plot([c for c, _ in pts], [q for _, q in pts], label=f"{label} (AIQ "
                    f"{data['aiq']:.3f})", linewidth=2.2 if label == "ours" else 1.2,
                    linestyle="-" if label in ("ours", "random") else "--")
        o = r["oracle"]
        ax.scatter(o["cost_usd_per_query"], o["quality"], marker="*", s=120, color="gold",
                   edgecolor="black", zorder=4, label="oracle")
        ax.set_xscale("log")
        ax.set_xlabel("cost per query (USD, log scale)")
        ax.set_ylabel("mean quality (score)")
        ax.set_title(f"{name} (n={r['n']})")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path = out_dir / "cost_quality.png"
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def _pct(x: float | None) -> str:
    return "never" if x is None else f"{100 * x:.1f}%"


def print_table(results: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    for name, r in results.items():
        two = "apgr" in r
        table = Table(title=f"{name}: n={r['n']}, best single {r['best_single']['model']} "
                            f"(quality {r['best_single']['quality']:.3f}, "
                            f"{r['best_single']['cost_usd_per_query']:.6f} USD/query); "
                            f"oracle {r['oracle']['quality']:.3f}")
        table.add_column("router")
        table.add_column("AIQ", justify="right")
        for f in ("0.95", "0.98", "1.00"):
            table.add_column(f"cost @{f}", justify="right")
        if two:
            for col in ("APGR", "CPT50", "CPT80"):
                table.add_column(col, justify="right")
        rows = {"ours": r, **r["baselines"]}
        for label, data in rows.items():
            cells = [label, f"{data['aiq']:.4f}",
                     *(_pct(data["cost_fraction_at_quality"][f]) for f in ("0.95", "0.98",
                                                                            "1.00"))]
            if two:
                cells += [f"{data['apgr']:.3f}", _pct(data["cpt50"]), _pct(data["cpt80"])]
            table.add_row(*cells)
        console.print(table)
