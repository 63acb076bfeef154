"""The HTTP service with its people's side, on a real uvicorn server on loopback, for tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml
from pydantic import SecretStr
from temporalio.client import Client

from starter.hooks.app import create_app
from starter.hooks.server import HOOKS_SHUTDOWN_GRACE, serving
from starter.hooks.settings import HookSettings
from starter.web import WebSettings, build_services

LINK_SECRET = "link-secret-for-tests-only-0123456789abcdef"
SLACK_SECRET = "slack-signing-secret-for-tests"
ALICE_SLACK = "U0ALICE"

PEOPLE: dict[str, Any] = {
    "version": "test-1",
    "people": {
        "alice": {
            "name": "Alice Ng",
            "contact": [
                {"kind": "email", "address": "alice@example.com"},
                {"kind": "slack", "address": ALICE_SLACK},
            ],
        },
        "bob": {"name": "Bob Stone", "contact": [{"kind": "email", "address": "bob@example.com"}]},
    },
}
"""Alice can be recognised by email and Slack; Bob by email; nobody else is known."""


def directory_file(folder: Path) -> Path:
    """The test directory as a YAML file in ``folder``."""
    path = folder / "directory.yaml"
    path.write_text(yaml.safe_dump(PEOPLE))
    return path


def web_settings(folder: Path, **values: Any) -> WebSettings:
    """People's settings with the test directory, the link secret and the Slack secret."""
    given: dict[str, Any] = {
        "directory_path": directory_file(folder),
        "link_secret": SecretStr(LINK_SECRET),
        "slack_signing_secret": SecretStr(SLACK_SECRET),
        **values,
    }
    return WebSettings(**given)


def fixed_client(client: Client) -> Callable[[], Awaitable[Client]]:
    """A client source that always returns ``client``."""

    async def source() -> Client:
        return client

    return source


def unreachable() -> Callable[[], Awaitable[Client]]:
    """A client source for a Temporal that cannot be reached."""

    async def source() -> Client:
        raise RuntimeError("Failed client connect: connection refused")

    return source


@asynccontextmanager
async def running_service(
    settings: WebSettings,
    client: Callable[[], Awaitable[Client]],
    *,
    rpc_timeout: float = 5.0,
    task_queue: str | None = None,
) -> AsyncIterator[str]:
    """Serve the whole HTTP service (hooks and people's routers); yields its base URL.

    ``task_queue`` is where incidents declared over it (the board) start.
    """
    hooks = HookSettings(tokens=("hooks-machine-token",), rpc_timeout_seconds=rpc_timeout)
    if task_queue is not None:
        hooks = hooks.model_copy(update={"task_queue": task_queue})
    people = build_services(
        settings, client, rpc_timeout=hooks.rpc_timeout, task_queue=hooks.task_queue
    )
    app = create_app(hooks, client, people)
    async with serving(app, "127.0.0.1", 0, shutdown_grace=HOOKS_SHUTDOWN_GRACE) as url:
        yield url
