"""The spend dashboard's static files (``dashboard/``, shipped as package data): ``GET /`` is
its page, ``GET /dashboard/{name}`` its scripts and styles. Only the files found there at start
are served (no path from the URL reaches the file system), each with a Content-Security-Policy
that lets the page load nothing but this listener's own files and API."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from aiohttp import web

FOLDER = Path(__file__).with_name("dashboard")
PREFIX = "/dashboard/"
_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html",
          ".svg": "image/svg+xml", ".png": "image/png", ".txt": "text/plain"}
_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
                               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
}


class Assets:
    """The dashboard's files, read once: ``answer(path)`` is a response, or None when ``path``
    is not one of them."""

    def __init__(self, folder: Path = FOLDER) -> None:
        self._files: dict[str, tuple[bytes, str]] = {}
        for file in sorted(folder.rglob("*")) if folder.is_dir() else ():
            if file.is_file() and not file.name.startswith("."):
                kind = _TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0]
                self._files[PREFIX + file.relative_to(folder).as_posix()] = (
                    file.read_bytes(), kind or "application/octet-stream")
        if PREFIX + "index.html" in self._files:
            self._files["/"] = self._files[PREFIX + "index.html"]

    def answer(self, path: str) -> web.Response | None:
        found = self._files.get(path)
        if found is None:
            return None
        body, kind = found
        charset = "utf-8" if kind.startswith("text/") or kind.endswith("+xml") else None
        return web.Response(body=body, content_type=kind, charset=charset, headers=_HEADERS)
