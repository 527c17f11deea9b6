"""A small synchronous HTTP client over aiohttp's, for the HTTP edge's tests: JSON calls by RPC
name, raw requests, and server-sent-event streams read event by event."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from google.protobuf import json_format
from google.protobuf.message import Message


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


@dataclass
class Event:
    id: str = ""
    event: str = "message"
    data: str = ""
    comments: list[str] = field(default_factory=list)  # the comments before it


@dataclass
class Stream:
    status: int
    headers: dict[str, str]
    events: list[Event]
    comments: list[str]  # every comment line, heartbeats included
    ended: bool  # the server ended the stream (else the client stopped reading)
    body: str = ""  # of a refusal (no stream)


def bearer(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


class Http:
    def __init__(self, base_url: str, ssl_context: ssl.SSLContext | None = None) -> None:
        self.base_url = base_url
        self.ssl = ssl_context

    def request(self, method: str, path: str, body: bytes | str | None = None,
                headers: dict[str, str] | None = None, timeout_s: float = 10.0) -> Answer:
        async def go() -> Answer:
            async with aiohttp.ClientSession() as session, session.request(
                    method, self.base_url + path, data=body, headers=headers or {},
                    ssl=self.ssl if self.ssl is not None else True,
                    timeout=aiohttp.ClientTimeout(total=timeout_s)) as r:
                return Answer(r.status, dict(r.headers), await r.text())

        return asyncio.run(go())

    def post(self, path: str, payload: Any, key: str | None = None,
             headers: dict[str, str] | None = None) -> Answer:
        return self.request("POST", path, json.dumps(payload),
                            {"Content-Type": "application/json", **bearer(key),
                             **(headers or {})})

    def get(self, path: str, key: str | None = None) -> Answer:
        return self.request("GET", path, headers=bearer(key))

    def rpc(self, name: str, request: Message | dict, key: str | None = None) -> Answer:
        """``name`` over HTTP with ``request`` in the proto's JSON mapping."""
        payload = (json_format.MessageToDict(request) if isinstance(request, Message)
                   else request)
        return self.post(f"/v1/{name}", payload, key)

    def stream(self, path: str, key: str | None = None, *, events: int = 1,
               timeout_s: float = 10.0, comments: int = 0,
               opened: Callable[[], object] | None = None) -> Stream:
        """Read ``path`` as server-sent events until ``events`` events and ``comments``
        comments have come (or the server ends the stream, or ``timeout_s`` passes);
        ``opened`` runs (in a thread) once the stream's headers are in."""
        async def go() -> Stream:
            async with aiohttp.ClientSession() as session, session.get(
                    self.base_url + path, headers=bearer(key),
                    ssl=self.ssl if self.ssl is not None else True,
                    timeout=aiohttp.ClientTimeout(total=timeout_s)) as r:
                out = Stream(r.status, dict(r.headers), [], [], False)
                if r.status != 200:
                    out.body = await r.text()
                    return out
                if opened is not None:
                    await asyncio.get_running_loop().run_in_executor(None, opened)
                current = Event()
                try:
                    while len(out.events) < events or len(out.comments) < comments:
                        raw = await r.content.readline()
                        if not raw:
                            out.ended = True
                            break
                        line = raw.decode().rstrip("\n")
                        if not line:
                            if current.data or current.id:
                                out.events.append(current)
                            current = Event()
                        elif line.startswith(":"):
                            out.comments.append(line[1:].strip())
                            current.comments.append(line[1:].strip())
                        else:
                            name, _, value = line.partition(":")
                            value = value.removeprefix(" ")
                            if name == "data":
                                current.data += value
                            elif name in ("id", "event"):
                                setattr(current, name, value)
                except TimeoutError:
                    pass
                return out

        return asyncio.run(go())
