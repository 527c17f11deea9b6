"""Cross-source validation: train without one source, evaluate on it (``make crossval``).

In-distribution numbers flatter any router; this asks how the classifier does on a benchmark it
has never seen. For each wide ``*_train.csv`` file, the classifier is retrained on every other
file (plus RouteProfile and the RouterBench responses when they are not the held-out source) and
evaluated on all rows of the held-out file, against baselines trained on the same rows.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from router.core.catalog import load_catalog
from router.core.classifier import Classifier
from router.evaluation.data import load_table
from router.evaluation.offline import evaluate_table, training_rows
from router.settings import ROOT, Settings


def _link_all_but(data_dir: Path, held_out: Path, into: Path) -> None:
    for path in data_dir.iterdir():
        if path == held_out or path.suffix not in (".csv", ".jsonl"):
            continue
        if held_out.stem.startswith("routerbench") and path.name.startswith("routerbench"):
            continue  # the responses of the held-out source would leak its prompts
        (into / path.name).symlink_to(path.resolve())


def cross_source(data_dir: Path, log: Any = print, online: bool = False,
                 limit: int = 3000) -> dict[str, Any]:
    """Per held-out source, the static evaluation; with ``online``, the prequential replay of
    (the first ``limit`` prompts of a seeded shuffle of) the held-out source instead: how the
    learner does where the classifier has never seen the task types."""
    from router.training.train import train

    catalog = load_catalog(Settings().catalog_path)
    results: dict[str, Any] = {}
    for held_out in sorted(data_dir.glob("*_train.csv")):
        with tempfile.TemporaryDirectory(prefix="crossval-") as tmp:
            folder = Path(tmp)
            _link_all_but(data_dir, held_out, folder)
            artifact = folder / "artifact.npz"
            log(f"training without {held_out.stem} ...")
            train(folder, artifact, log=lambda *_: None)
            if online:
                from router.evaluation.online import evaluate_online

                found = evaluate_online([held_out], folder, catalog, Classifier.load(artifact),
                                        limit=limit)[held_out.stem]
                results[held_out.stem] = {k: v for k, v in found.items()
                                          if k not in ("router_curve",)}
                log(json.dumps({held_out.stem: {"online_aiq": found["aiq"],
                                                "static_aiq": found["static"]["aiq"]}}))
                continue
            table = load_table(held_out)
            result = evaluate_table(table, training_rows(folder), catalog,
                                    Classifier.load(artifact), baselines_on_own_rows=False)
        keep = ("n", "best_single", "oracle", "cost_fraction_at_quality", "aiq", "apgr", "cpt50",
                "cpt80")
        results[held_out.stem] = {
            "ours": {k: result[k] for k in keep if k in result},
            "baselines": {name: {k: v for k, v in b.items() if k in keep}
                          for name, b in result["baselines"].items()},
        }
        log(json.dumps({held_out.stem: {
            "ours_aiq": result["aiq"],
            **{f"{k}_aiq": v["aiq"] for k, v in result["baselines"].items()}}}))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="router.evaluation.crossval", description=__doc__)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "routing"))
    parser.add_argument("--out", default="/tmp/crossval.json")
    parser.add_argument("--online", action="store_true",
                        help="replay each held-out source through the learner (router eval "
                             "--online) instead of the static evaluation")
    parser.add_argument("--limit", type=int, default=3000,
                        help="with --online: prompts replayed per held-out source")
    args = parser.parse_args(argv)
    results = cross_source(Path(args.data), online=args.online, limit=args.limit)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
