"""A small HTTP receiver on loopback: the local stack's console channel.

`python -m starter.local` points a webhook channel at it and prints every
notice that arrives; tests point channels at it and assert on what really
came over the wire.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


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


Responder = Callable[[Received], tuple[int, bytes]]


def _accept(_request: Received) -> tuple[int, bytes]:
    return 200, b"{}"


@dataclass
class HttpReceiver:
    """Records requests; ``respond`` decides each answer (default 200)."""

    respond: Responder = _accept
    on_receive: Callable[[Received], None] | None = None
    host: str = "127.0.0.1"
    port: int = 0
    record: bool = True
    received: list[Received] = field(default_factory=list)
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        """Base URL of the running server."""
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def start(self) -> HttpReceiver:
        """Listen on an ephemeral loopback port."""
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        return self

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> HttpReceiver:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

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
            status, payload = self.respond(request)
            if self.record:
                self.received.append(request)
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

    def bodies(self) -> list[Any]:
        """Every received JSON body, in arrival order."""
        return [r.json() for r in self.received if r.body]
