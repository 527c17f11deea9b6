"""What a browser test needs: Playwright for Python and Debian's chromium (never a browser
Playwright downloads). In CI (``CI=true``, where ``.ci/run`` installs chromium) a missing one
fails the run; elsewhere the test module that asks is skipped, saying what to install."""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def need_a_browser() -> None:
    """Call at a test module's top: skip the module (fail in CI) without what it drives."""
    in_ci = os.environ.get("CI") == "true"
    if importlib.util.find_spec("playwright") is None:
        if in_ci:
            raise RuntimeError("playwright is not installed: the dev extra holds it")
        pytest.skip("playwright is not installed (pip install -e '.[dev]')",
                    allow_module_level=True)
    if not os.path.exists(CHROMIUM):
        if in_ci:
            raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)",
                    allow_module_level=True)
