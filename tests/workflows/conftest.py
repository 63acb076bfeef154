"""Containment fixtures: the reference control plane with a deployment, trigger and org per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from incident.policy import Policy
from tests.support.controlplane import ControlPlane, reference_control_plane
from tests.support.harness import Harness
from tests.support.workers import running_worker


@pytest.fixture
async def control_plane(database_url: str) -> AsyncIterator[ControlPlane]:
    async with reference_control_plane(database_url) as plane:
        yield plane


@pytest.fixture
async def contained(
    bare_harness: Harness, policy: Policy, control_plane: ControlPlane
) -> AsyncIterator[Harness]:
    async with running_worker(bare_harness, policy, control_plane_url=control_plane.url):
        yield bare_harness
