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


@pytest.fixture(autouse=True)
def _no_admin_token_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads $ROUTER_ADMIN_TOKEN: a developer's own must not leak into the tests."""
    monkeypatch.delenv("ROUTER_ADMIN_TOKEN", raising=False)
