"""Containment fixtures: the reference control plane with a deployment, trigger and org per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from incident.policy import Policy
from starter.controlplane import create_control_plane
from starter.hooks.server import serving
from tests.support.harness import Harness
from tests.support.workers import running_worker


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

    async def deployment_row(self) -> dict[str, Any]:
        return next(d for d in (await self.state())["deployments"] if d["id"] == self.deployment)

    async def trigger_enabled(self) -> bool:
        trig = next(t for t in (await self.state())["triggers"] if t["id"] == self.trigger)
        return bool(trig["is_enabled"])

    async def org_row(self) -> dict[str, Any]:
        return next(o for o in (await self.state())["orgs"] if o["id"] == self.org)

    async def effects(self, incident: str) -> list[tuple[str, str]]:
        return [
            (e["action"], e["target"])
            for e in (await self.state())["effects"]
            # Keys are "<INC>/<run>:<action>:..." ("<INC>:..." for incidents opened earlier).
            if e["key"].startswith((f"{incident}:", f"{incident}/"))
        ]


@pytest.fixture
async def control_plane(database_url: str) -> AsyncIterator[ControlPlane]:
    suffix = uuid.uuid4().hex[:6]
    async with serving(create_control_plane(database_url), "127.0.0.1", 0) as url:
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{url}/healthz")).status_code == 200  # schema in place
        plane = ControlPlane(
            url, database_url, f"agents-{suffix}", f"digest-{suffix}", f"org-{suffix}"
        )
        conn = await asyncpg.connect(database_url)
        await conn.execute(
            "INSERT INTO cp_deployments (id, version, stable_version) VALUES ($1, 'v42', 'v41')",
            plane.deployment,
        )
        await conn.execute(
            "INSERT INTO cp_triggers (id, org) VALUES ($1, $2)", plane.trigger, plane.org
        )
        await conn.execute("INSERT INTO cp_orgs (id) VALUES ($1)", plane.org)
        await conn.close()
        yield plane


@pytest.fixture
async def contained(
    bare_harness: Harness, policy: Policy, control_plane: ControlPlane
) -> AsyncIterator[Harness]:
    async with running_worker(bare_harness, policy, control_plane_url=control_plane.url):
        yield bare_harness
