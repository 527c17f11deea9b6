"""A real server on its own event-loop thread in this process: for the simulator's per-seed
stores and for tests, which drive it over a real channel exactly as ``router serve`` runs."""

from __future__ import annotations

import asyncio
import threading

from router.core.clock import Clock
from router.server.app import App, build_app
from router.server.run import run
from router.settings import Settings


class EmbeddedServer:
    """Built and serving on ``settings.address`` (port 0: a free one) until ``stop()``."""

    def __init__(self, settings: Settings, clock: Clock | None = None,
                 start_timeout_s: float = 30.0) -> None:
        self.app: App = build_app(settings, clock)
        self.port = 0
        self.http_port: int | None = None  # None: ROUTER_HTTP_ADDRESS is empty
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._thread.start()
        if not self._ready.wait(start_timeout_s):
            raise RuntimeError("the embedded server did not start")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()

        def started(port: int, http_port: int | None) -> None:
            self.port, self.http_port = port, http_port
            self._ready.set()

        await run(self.app, self._stop, started)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def http_url(self) -> str:
        """``http://127.0.0.1:<port>`` of the HTTP listener."""
        if self.http_port is None:
            raise RuntimeError("this server has no HTTP listener (ROUTER_HTTP_ADDRESS is empty)")
        return f"http://127.0.0.1:{self.http_port}"

    def stop(self) -> None:
        """Shut down as SIGTERM would (drain, commit), and wait for the thread."""
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
