"""Serve the hook app in-process with uvicorn (the local stack, tests, benchmarks)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

HOOKS_SHUTDOWN_GRACE = 5
"""Seconds the hooks' requests in flight may take to finish when the service stops."""


@asynccontextmanager
async def serving(
    app: FastAPI, host: str, port: int, *, shutdown_grace: int | None = None
) -> AsyncIterator[str]:
    """Serve ``app`` until the block ends; yields its base URL. Port 0 picks a free one.

    On leaving, requests in flight may finish; with ``shutdown_grace`` (seconds)
    those still running after it are cancelled, so a stuck one cannot hold the
    shutdown forever.
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=shutdown_grace,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError(f"the hook service could not listen on {host}:{port}")
        await asyncio.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        await task
