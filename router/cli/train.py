"""``router train``: train the complexity classifier on the shared routing outcomes."""

from __future__ import annotations

import argparse

from router.settings import ROOT

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "routing"


def add_parser(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train the complexity classifier on routing outcomes")
    train.add_argument("--data", default=str(DEFAULT_DATA),
                       help="folder with *_train.csv, routeprofile_tokens.csv, ... "
                            f"(default {DEFAULT_DATA})")
    train.add_argument("--out", default=str(ROOT / "models" / "complexity.npz"),
                       help="artifact to write")
    train.add_argument("--readme", default=str(ROOT / "models" / "README.md"),
                       help="model card whose metrics section is rewritten ('' to skip)")


def run(args: argparse.Namespace) -> int:
    from router.training.train import run as train

    metrics = train(args.data, args.out, args.readme or None)
    print(metrics.get("summary", metrics) if isinstance(metrics, dict) else metrics)
    return 0
