"""``router``: the command line over the same core the server runs (see ``router.cli.main``).

``pip install cost-router`` is the client library alone; the command line needs the server's
dependencies (``cost-router[server]``), and ``router train``/``router eval`` the ``train``
extra's too. Without them it says which extra to install, instead of an ImportError."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

# top-level modules of the extras, for the message; anything else missing is a real bug
EXTRAS = {"server": {"numpy", "sqlmodel", "sqlalchemy", "alembic", "psycopg", "structlog",
                     "orjson", "rich", "prometheus_client", "aiohttp", "opentelemetry",
                     "grpc_health", "grpc_reflection", "tomlkit"},
          "train": {"sklearn", "scipy", "joblib", "matplotlib"}}


_run: Callable[[Sequence[str] | None], int] | None
_missing: ModuleNotFoundError | None = None
try:  # the package attribute `main` is the function below, not the submodule
    from router.cli.main import main as _run
except ModuleNotFoundError as missing:
    _run, _missing = None, missing


def _told(exc: ModuleNotFoundError) -> int:
    top = (exc.name or "").split(".")[0]
    extra = next((e for e, modules in EXTRAS.items() if top in modules), None)
    if extra is None:
        raise exc
    needs = "'cost-router[server]'" if extra == "server" else "'cost-router[server,train]'"
    print(f"router: this command needs {top!r}, from the {extra!r} extra: pip install {needs}",
          file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    if _run is None:
        assert _missing is not None
        return _told(_missing)
    try:
        return _run(argv)
    except ModuleNotFoundError as exc:  # a command's own import (scikit-learn for train)
        return _told(exc)


__all__ = ["main"]
