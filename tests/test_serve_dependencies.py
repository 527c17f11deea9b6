"""Serving needs only the package's runtime dependencies: `make serve` installs no more, and
`router serve` imports none of the train and dev extras."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from router.settings import ROOT

# top-level modules of the train and dev extras (scikit-learn and its scipy and joblib,
# matplotlib, pytest, pytest-xdist, hypothesis, mypy); not grpcio-tools, which grpc itself
# imports when it is installed, and does without
EXTRAS = {"sklearn", "scipy", "joblib", "matplotlib", "pytest", "xdist", "hypothesis", "mypy"}

SERVE = """
import sys
import router.server
from router.cli import main

def serve(settings):  # what `router serve` runs, short of listening
    router.server.build_app(settings).close()

router.server.serve = serve
assert main(["serve", "--address", "127.0.0.1:0", "--database-url", sys.argv[1]]) == 0
print(" ".join(sorted({name.split(".")[0] for name in sys.modules})))
"""


def installs(target: str) -> list[str]:
    """The pip installs of the package that `make TARGET` runs on a machine with no venv."""
    if shutil.which("make") is None:
        pytest.skip("no make")
    plan = subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout
    return [line.split("--quiet", 1)[1].strip() for line in plan.splitlines()
            if "pip install" in line and "--upgrade pip" not in line]


def test_make_serve_installs_only_the_runtime_dependencies():
    assert installs("serve") == ["-e ."]


@pytest.mark.parametrize("target", ["test", "lint", "train", "bench"])
def test_the_other_targets_install_the_extras_too(target):
    assert installs(target)[-1] == "-e '.[train,dev]'"


def test_router_serve_imports_none_of_the_extras(tmp_path: Path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SERVE, f"sqlite:///{tmp_path / 'r.db'}"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    imported = set(done.stdout.split())
    assert "router" in imported and "grpc" in imported
    assert imported & EXTRAS == set()
