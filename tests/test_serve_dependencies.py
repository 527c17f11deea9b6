"""The package's base dependencies are the client library's; serving needs the `server` extra:
`make serve` installs no more, and `router serve` imports none of the train and dev extras.
`router.client` imports none of the server's dependencies, and the `router` command says which
extra to install when one is missing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
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


def test_make_serve_installs_only_the_server_extra():
    assert installs("serve") == ["-e '.[server]'"]


@pytest.mark.parametrize("target", ["test", "lint", "train", "bench"])
def test_the_other_targets_install_the_extras_too(target):
    assert installs(target)[-1] == "-e '.[server,train,parquet,dev]'"


def test_router_serve_imports_none_of_the_extras(tmp_path: Path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SERVE, f"sqlite:///{tmp_path / 'r.db'}"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    imported = set(done.stdout.split())
    assert "router" in imported and "grpc" in imported
    assert imported & EXTRAS == set()


# what the server needs and the client must not: refused by a meta-path hook in the subprocess
SERVER_ONLY = ["numpy", "sklearn", "sqlmodel", "sqlalchemy", "alembic", "structlog", "orjson",
               "aiohttp", "prometheus_client", "rich", "psycopg", "opentelemetry"]
REFUSE = """
import sys

class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {refused!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Refuse())
"""
CLIENT = """
from router import v1 as pb
from router.client import AsyncClient, Client, Retry, RouterUnavailable
from router.client_usage import from_anthropic, from_openai_chat, token_usage

with Client("127.0.0.1:1", key="rk_test", retry=Retry(total_s=0.2)) as router:
    request = router._route_request("a task", team="t", capabilities=["json"])
    assert request.capabilities == [pb.CAPABILITY_JSON]
    try:
        router.ListModels(pb.ListModelsRequest())
    except RouterUnavailable as err:
        assert err.code().name == "UNAVAILABLE"
    else:
        raise AssertionError("nothing listens on port 1")
assert from_openai_chat({"prompt_tokens": 10, "completion_tokens": 4}).input == 10
assert from_anthropic({"input_tokens": 3, "cache_read_input_tokens": 7}).cached_input == 7
assert token_usage({"input": 1}).input == 1
print("ok")
"""


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_router_client_imports_none_of_the_server_dependencies():
    done = _python(REFUSE.format(refused=set(SERVER_ONLY)) + CLIENT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_the_hook_refuses_what_it_should():  # else the test above could not fail
    done = _python(REFUSE.format(refused={"numpy"}) + "import router.core.classifier")
    assert done.returncode != 0 and "No module named 'numpy'" in done.stderr


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=\[ ;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_the_base_requirements_are_the_client_libraries_only():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert _requirement_names(project["dependencies"]) == {"grpcio", "grpcio-status", "protobuf"}
    server = _requirement_names(project["optional-dependencies"]["server"])
    assert {"numpy", "sqlmodel", "sqlalchemy", "alembic", "structlog", "orjson", "aiohttp",
            "prometheus-client", "rich", "grpcio-health-checking"} <= server


def test_the_router_command_names_the_extra_when_a_server_dependency_is_missing():
    done = _python(REFUSE.format(refused={"numpy"}) +
                   "import sys\nfrom router.cli import main\nsys.exit(main(['models']))")
    assert done.returncode == 2, done.stderr
    assert "pip install 'cost-router[server]'" in done.stderr
    assert "numpy" in done.stderr and "Traceback" not in done.stderr
