"""Reading TOML policy files (catalog, budgets) with errors that name the line.

``tomllib`` reports syntax errors with a line, but a value that parses and is still wrong (a
negative price, an unknown window) needs the line found again: ``TomlLines`` finds a key inside the
n-th ``[[array]]`` entry or inside a ``[table]``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any


def read(path: str | Path, error: type[ValueError], what: str) -> tuple[str, dict[str, Any]]:
    """The text and parsed content of ``path``; ``error`` naming the file (and line) if not."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc.strerror or exc}") from exc
    return text, loads(text, str(path), error)


def loads(text: str, source: str, error: type[ValueError]) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already ends in "(at line N, column M)".
        raise error(f"{source}: {exc}") from exc


class TomlLines:
    """Best-effort 1-based line numbers of keys, for error messages."""

    def __init__(self, text: str, array: str) -> None:
        self._lines = text.splitlines()
        header = f"[[{array}]]"
        self._starts = [i for i, line in enumerate(self._lines)
                        if line.strip().startswith(header)]

    def line_of(self, key: str, index: int | None = None, table: str | None = None) -> int:
        start, end = 0, len(self._lines)
        if index is not None and index < len(self._starts):
            start = self._starts[index]
            later = [s for s in self._starts if s > start]
            end = later[0] if later else end
        elif table is not None:
            start = next((i for i, line in enumerate(self._lines)
                          if line.strip() == f"[{table}]"), 0)
        pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
        for i in range(start, end):
            if pattern.match(self._lines[i]):
                return i + 1
        return start + 1
