"""The reference control plane (the stand-in `warroom up` runs): its first requests, however
many arrive at once, find its tables made exactly once."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx

from starter.controlplane import create_control_plane
from starter.hooks.server import serving


async def test_first_requests_at_once_on_a_fresh_database_all_succeed(database_url: str) -> None:
    # A rollback and a trigger approved together reach it at the same moment (the sample does).
    name = f"cp_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(database_url)
    await admin.execute(f"CREATE DATABASE {name}")
    await admin.close()
    fresh = database_url.replace("/postgres?", f"/{name}?")
    async with (
        serving(create_control_plane(fresh), "127.0.0.1", 0) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        answers = await asyncio.gather(*(http.get("/healthz") for _ in range(8)))
    assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers]
