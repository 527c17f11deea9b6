"""The CLI against a real server: the example budgets file and an admin token, as the README's
quick start runs it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from router.settings import ROOT
from tests.conftest import RunningServer, make_settings

TOKEN = "s3cret"
EXAMPLE_BUDGETS = ROOT / "examples" / "budgets.toml"


@pytest.fixture
def admin_server(tmp_path: Path) -> Iterator[RunningServer]:
    running = RunningServer(make_settings(tmp_path, admin_token=TOKEN,
                                          budgets_path=str(EXAMPLE_BUDGETS)))
    yield running
    running.stop()


# what the CLI reads from the environment: a developer's own must not leak into the tests
_CLIENT_ENVIRONMENT = ("ROUTER_ADMIN_TOKEN", "ROUTER_API_KEY", "ROUTER_ADDRESS", "ROUTER_TLS",
                       "ROUTER_TLS_CA", "ROUTER_TLS_CERT", "ROUTER_TLS_CLIENT_CERT",
                       "ROUTER_TLS_CLIENT_KEY", "ROUTER_TLS_SERVER_NAME")


@pytest.fixture(autouse=True)
def _no_client_settings_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _CLIENT_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
