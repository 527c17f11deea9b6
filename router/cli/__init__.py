"""``router``: the command line over the same core the server runs (see ``router.cli.main``)."""

from __future__ import annotations

from router.cli.main import main

__all__ = ["main"]
