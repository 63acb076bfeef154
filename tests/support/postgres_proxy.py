"""The test session's Postgres on a TCP port of a test's choosing, from when the test says."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


@asynccontextmanager
async def postgres_on(port: int, database_url: str) -> AsyncIterator[None]:
    """The session's Postgres reachable on TCP ``port`` from now on (it listens on a socket)."""
    query = parse_qs(urlsplit(database_url).query)
    (socket_file,) = Path(query["host"][0]).glob(".s.PGSQL.*[0-9]")

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_unix_connection(str(socket_file))
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    server = await asyncio.start_server(forward, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()
