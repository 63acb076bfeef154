"""The hook service on a real uvicorn server on loopback, for tests."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from temporalio.client import Client

from starter.hooks.app import create_app
from starter.hooks.settings import HookSettings


@asynccontextmanager
async def running_hooks(settings: HookSettings, client: Client) -> AsyncIterator[str]:
    """Serve the hooks until the block ends; yields the base URL."""

    async def source() -> Client:
        return client

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings, source), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
