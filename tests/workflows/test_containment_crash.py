"""Exactly once, even when the worker is killed in the middle of a rollback."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from incident.containment import ActionKind, ActionState
from incident.models import ApproveContainment, AssignRole, ProposeContainment, Role
from incident.severity import Severity
from starter.api import decide
from starter.controlplane import create_control_plane
from starter.hooks.server import serving
from tests.support.harness import Harness, eventually
from tests.workflows.test_containment import ControlPlane


@pytest.fixture
async def slow_control_plane(database_url: str) -> AsyncIterator[ControlPlane]:
    """Commits a rollback at once but answers 6 s later: a worker killed meanwhile never hears."""
    app = create_control_plane(database_url, respond_after={"/rollback": 6.0})
    async with serving(app, "127.0.0.1", 0) as url:
        plane = ControlPlane(url, database_url, f"crash-{uuid.uuid4().hex[:6]}", "-", "-")
        await plane.state()  # creates the control plane's tables
        conn = await asyncpg.connect(database_url)
        await conn.execute(
            "INSERT INTO cp_deployments (id, version, stable_version) VALUES ($1, 'v42', 'v41')",
            plane.deployment,
        )
        await conn.close()
        yield plane


async def _worker(
    env: WorkflowEnvironment, harness: Harness, plane: ControlPlane
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "worker",
        env={
            **os.environ,
            "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "WARROOM_TASK_QUEUE": harness.task_queue,
            "DATABASE_URL": harness.database_url,
            "WARROOM_CONTROL_PLANE_URL": plane.url,
        },
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def test_worker_killed_mid_rollback_rolls_back_once(
    env: WorkflowEnvironment, bare_harness: Harness, slow_control_plane: ControlPlane
) -> None:
    harness, plane = bare_harness, slow_control_plane
    first = await _worker(env, harness, plane)
    try:
        incident = await harness.declare(Severity.P1)
        human = (await harness.state(incident)).human_id
        await decide(
            incident, AssignRole(actor="dana", role=Role.INCIDENT_COMMANDER, person="dana")
        )
        await decide(
            incident,
            ProposeContainment(
                actor="dana", kind=ActionKind.ROLLBACK_DEPLOYMENT, target=plane.deployment
            ),
        )
        await decide(incident, ApproveContainment(actor="dana", action_id=1))
        # The control plane has acted; its answer is still on the way.
        await eventually(lambda: _effects(plane, human), within=30)
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()

    second = await _worker(env, harness, plane)
    try:
        state = await harness.until(
            incident, lambda s: s.containment[0].state is ActionState.IN_FORCE, within=60
        )
    finally:
        second.send_signal(signal.SIGTERM)
        await second.wait()
    assert await plane.effects(human) == [("rollback", plane.deployment)]
    assert (await plane.deployment_row())["version"] == "v41"
    assert [e.kind for e in state.timeline].count("containment_done") == 1


async def _effects(plane: ControlPlane, human: str) -> list[tuple[str, str]]:
    return await plane.effects(human)
