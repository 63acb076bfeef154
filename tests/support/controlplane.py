"""The reference control plane (starter.controlplane) for tests, with a row of each kind per test.

Test-only behaviour stays here, outside the product: :class:`AnswerLate` holds
back an answer after the control plane has acted, the way a network or a
killed worker loses it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from starter.controlplane import create_control_plane
from starter.hooks.server import serving


@dataclass
class ControlPlane:
    """The reference control plane, with this test's own deployment, trigger and org."""

    url: str
    database_url: str
    deployment: str
    trigger: str
    org: str

    async def state(self) -> dict[str, Any]:
        async with httpx.AsyncClient() as http:
            data: dict[str, Any] = (await http.get(f"{self.url}/api/v1/state")).json()
            return data

    async def row(self, table: str, id_: str) -> dict[str, Any]:
        """One row of the control plane's ``table`` (deployments, triggers, orgs) by id."""
        return next(r for r in (await self.state())[table] if r["id"] == id_)

    async def deployment_row(self) -> dict[str, Any]:
        return await self.row("deployments", self.deployment)

    async def trigger_enabled(self) -> bool:
        return bool((await self.row("triggers", self.trigger))["is_enabled"])

    async def org_row(self) -> dict[str, Any]:
        return await self.row("orgs", self.org)

    async def effects(self, incident: str) -> list[tuple[str, str]]:
        return [
            (e["action"], e["target"])
            for e in (await self.state())["effects"]
            # Keys are "<INC>/<run>:<action>:..." ("<INC>:..." for incidents opened earlier).
            if e["key"].startswith((f"{incident}:", f"{incident}/"))
        ]


class AnswerLate:
    """ASGI middleware: the first successful answer for each ``Idempotency-Key`` on a path
    containing a key of ``after`` goes out that many seconds late — the effect is committed,
    its answer still on the way. A retry with the same key is answered at once (replayed)."""

    def __init__(self, app: ASGIApp, after: Mapping[str, float]) -> None:
        self.app = app
        self.after = dict(after)
        self.seen: set[bytes] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        delay = next((s for part, s in self.after.items() if part in scope["path"]), None)
        key = dict(scope["headers"]).get(b"idempotency-key")
        if delay is None or key is None or key in self.seen:
            await self.app(scope, receive, send)
            return
        self.seen.add(key)

        async def late(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                await asyncio.sleep(delay)
            await send(message)

        await self.app(scope, receive, late)


@asynccontextmanager
async def reference_control_plane(
    database_url: str,
    *,
    answer_late: Mapping[str, float] | None = None,
    token: str | None = None,
) -> AsyncIterator[ControlPlane]:
    """Serve the reference control plane on loopback with a fresh deployment, trigger and org.

    ``answer_late`` maps path fragments to seconds (see :class:`AnswerLate`); ``token``
    is the bearer token it asks for.
    """
    app = create_control_plane(database_url, token=token)
    if answer_late:
        app.add_middleware(AnswerLate, after=answer_late)
    suffix = uuid.uuid4().hex[:6]
    async with serving(app, "127.0.0.1", 0) as url:
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{url}/healthz")).status_code == 200  # schema in place
        plane = ControlPlane(
            url, database_url, f"agents-{suffix}", f"digest-{suffix}", f"org-{suffix}"
        )
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(
                "INSERT INTO cp_deployments (id, version, stable_version) "
                "VALUES ($1, 'v42', 'v41')",
                plane.deployment,
            )
            await conn.execute(
                "INSERT INTO cp_triggers (id, org) VALUES ($1, $2)", plane.trigger, plane.org
            )
            await conn.execute("INSERT INTO cp_orgs (id) VALUES ($1)", plane.org)
        finally:
            await conn.close()
        yield plane
