"""`python -m starter.hooks`: serve the alert hooks (address from WARROOM_HOOKS_ADDR)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys

import uvicorn
from fastapi import FastAPI
from temporalio.client import Client

from settings import SettingsError, connect
from starter.hooks.app import ClientSource, create_app
from starter.hooks.settings import HookSettings
from starter.web import WebSettings, build_services

log = logging.getLogger("warroom.hooks")


def lazy_client(settings: HookSettings) -> ClientSource:
    """A client source that connects on first use and keeps the connection."""
    lock = asyncio.Lock()
    holder: list[Client] = []

    async def client() -> Client:
        async with lock:
            if not holder:
                holder.append(await connect(settings.temporal, lazy=True))
            return holder[0]

    return client


def main() -> int:
    """Entry point; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        settings = HookSettings.from_env()
        settings.require_credentials()
        # Refused here, naming the variable, rather than in each server process.
        app = app_from_env()
    except SettingsError as err:
        print(f"warroom hooks: {err}", file=sys.stderr)
        return 2
    if settings.open:
        log.warning(
            "no credentials configured (WARROOM_HOOKS_TOKENS/_BASIC/_HMAC_SECRET): "
            "anyone who can reach %s:%s can open incidents",
            settings.host,
            settings.port,
        )
    if settings.processes > 1:  # the hooks hold no state: more processes, more requests per second
        uvicorn.run(
            "starter.hooks.__main__:app_from_env",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.processes,
            log_level="warning",
        )
    else:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    return 0


def app_from_env() -> FastAPI:
    """The app as configured by the environment (one per uvicorn process)."""
    settings = HookSettings.from_env()
    client = lazy_client(settings)
    people = build_services(
        WebSettings.from_env(),
        client,
        rpc_timeout=settings.rpc_timeout,
        task_queue=settings.task_queue,
    )
    return create_app(settings, client, people)


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # the SDK's core threads can abort interpreter shutdown
