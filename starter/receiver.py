"""A small HTTP listener on loopback: the local stack's console channel.

`python -m starter.local` points a webhook channel at it and prints every
notice that arrives (``on_receive``). It keeps nothing and answers 200; the
tests' recording receiver with scripted answers (tests/support/receiver.py)
builds on it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import InitVar, dataclass
from typing import Any, Self


@dataclass
class Received:
    """One request as it arrived."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """Hands every request to ``on_receive`` and answers it with :meth:`answer` (200)."""

    on_receive: Callable[[Received], None] | None = None
    host: str = "127.0.0.1"
    port: int = 0
    _server: asyncio.Server | None = None
    record: InitVar[bool] = False
    """Ignored: this listener keeps nothing (accepted for callers that still say so)."""

    def __post_init__(self, record: bool) -> None:
        del record

    @property
    def url(self) -> str:
        """Base URL of the running server."""
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def start(self) -> Self:
        """Listen on ``host:port`` (an ephemeral loopback port by default)."""
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        return self

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def answer(self, request: Received) -> tuple[int, bytes]:
        """The status and JSON body to answer ``request`` with."""
        del request
        return 200, b"{}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await reader.readline()).decode("latin-1").strip()
            if not request_line:
                return
            method, path, _ = request_line.split(" ", 2)
            headers: dict[str, str] = {}
            while True:
                line = (await reader.readline()).decode("latin-1").strip()
                if not line:
                    break
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            body = await reader.readexactly(length) if length else b""
            request = Received(method=method, path=path, headers=headers, body=body)
            status, payload = self.answer(request)
            if self.on_receive is not None:
                self.on_receive(request)
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Length: {len(payload)}\r\n"
                f"Content-Type: application/json\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
