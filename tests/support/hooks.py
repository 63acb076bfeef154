"""The hook service on a real uvicorn server on loopback, for tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio.client import Client

from starter.hooks.app import create_app
from starter.hooks.server import HOOKS_SHUTDOWN_GRACE, serving
from starter.hooks.settings import HookSettings


@asynccontextmanager
async def running_hooks(settings: HookSettings, client: Client) -> AsyncIterator[str]:
    """Serve the hooks until the block ends; yields the base URL.

    ``settings`` must carry credentials (or ``allow_open=True``): the hooks refuse
    to run open by accident, so every request needs them too.
    """

    async def source() -> Client:
        return client

    app = create_app(settings, source)
    async with serving(app, "127.0.0.1", 0, shutdown_grace=HOOKS_SHUTDOWN_GRACE) as url:
        yield url
