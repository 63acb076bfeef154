"""kill -9 the worker process in every phase and mid-containment: each incident carries on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest

from incident.containment import ActionKind, ActionState
from incident.models import (
    Acknowledge,
    ApproveContainment,
    AssignRole,
    DeclareMitigated,
    Phase,
    PostmortemStatus,
    PostStatusUpdate,
    ProposeContainment,
    Resolve,
    Role,
    Status,
    SubmitPostmortem,
)
from incident.policy import Policy
from incident.severity import Severity
from starter.api import IncidentHandle, decide
from tests.reliability.invariants import Wire, check_incidents
from tests.reliability.processes import WorkerProcess
from tests.support.checks import VOUCHED
from tests.support.controlplane import ControlPlane, reference_control_plane
from tests.support.harness import Harness
from tests.support.wait import eventually

MIN = timedelta(minutes=1)
Step = Callable[[Harness, IncidentHandle], Awaitable[None]]


async def _identify(harness: Harness, incident: IncidentHandle) -> None:
    await decide(incident, Acknowledge(actor="dana", reason="paged"))
    await decide(
        incident,
        PostStatusUpdate(actor="dana", message="bad config push found", status=Status.IDENTIFIED),
    )


async def _mitigate(harness: Harness, incident: IncidentHandle) -> None:
    await decide(incident, DeclareMitigated(actor="dana", reason="config reverted"))


async def _resolve(harness: Harness, incident: IncidentHandle) -> None:
    await decide(incident, Resolve(actor="dana", root_cause="bad config push", verified=VOUCHED))
    # 60 quiet minutes and the recovery check: resolved, then post-incident.
    await harness.advance(incident, 61 * MIN)
    await harness.until(incident, lambda s: s.phase is Phase.POST_INCIDENT)


async def _ladder(harness: Harness, incident: IncidentHandle) -> None:
    # Unacknowledged for 31 minutes: ack deadline missed, the secondary on-call paged.
    await harness.advance(incident, 31 * MIN)
    await harness.until(incident, lambda s: "escalation:P1:1" in s.steps_taken)
    await decide(incident, Acknowledge(actor="dana", reason="back at the desk"))


async def _close(harness: Harness, incident: IncidentHandle) -> None:
    await decide(
        incident, SubmitPostmortem(actor="dana", status=PostmortemStatus.FINAL, summary="config")
    )
    await harness.until(incident, lambda s: s.phase is Phase.CLOSED)


async def _noop(harness: Harness, incident: IncidentHandle) -> None:
    return None


async def _idle(incident: IncidentHandle) -> bool:
    raw = (await incident.describe()).raw_description
    return not raw.pending_activities and not raw.HasField("pending_workflow_task")


async def _settled(incident: IncidentHandle) -> None:
    await eventually(partial(_idle, incident), within=120)


# Each track walks one incident on through the phases; a kill falls between every two steps.
TRACKS: dict[str, list[Step]] = {
    "investigating": [_noop, _ladder, _mitigate, _resolve, _close],
    "identified": [_identify, _mitigate, _resolve, _close],
    "monitoring": [_mitigate, _resolve, _close],
    "post_incident": [_resolve, _close],
}


async def test_worker_killed_in_every_phase_carries_on(
    bare_harness: Harness, policy: Policy, tmp_path: Path, long: bool
) -> None:
    harness = bare_harness
    wire = Wire(harness.receiver)
    worker = WorkerProcess(harness, tmp_path)
    # Short form: one incident per phase, one kill with all four in their phase.
    # Long form: three per phase, and a kill after every step until every incident closed,
    # every other kill while the step's notices and writes are still in flight.
    copies = 3 if long else 1
    kills = 5 if long else 1
    await worker.start()
    try:
        tracks: list[tuple[IncidentHandle, list[Step]]] = []
        for _ in range(copies):
            for steps in TRACKS.values():
                incident = await harness.declare(Severity.P1, commander="dana")
                tracks.append((incident, steps))
        for stage in range(kills + 1):
            await asyncio.gather(
                *(steps[stage](harness, i) for i, steps in tracks if stage < len(steps))
            )
            if stage == kills:
                break
            in_flight = long and stage % 2 == 1
            if not in_flight:
                await asyncio.gather(*(harness.settle(i) for i, _ in tracks))
            if stage == 0:
                phases = [(await harness.state(i)) for i, _ in tracks]
                assert {(s.phase, s.status) for s in phases} == {
                    (Phase.TRIAGED, Status.INVESTIGATING),
                    (Phase.RESPONDING, Status.IDENTIFIED),
                    (Phase.RESPONDING, Status.MONITORING),
                    (Phase.POST_INCIDENT, Status.RESOLVED),
                }
            await worker.restart_after_kill()
            if in_flight:
                # What the dead worker had started (a notice, a write) is retried only once its
                # start-to-close timeout ran out (60 s for a notice): no clock moves until then.
                await asyncio.gather(*(_settled(i) for i, _ in tracks))
        states = await check_incidents(
            harness.client,
            [i for i, _ in tracks],
            task_queue=harness.task_queue,
            policy=policy,
            database_url=harness.database_url,
            wire=wire,
            within=90,
        )
        # After the kill each carried on to its next phase on the new worker.
        expected = {
            (Phase.RESPONDING, Status.INVESTIGATING),
            (Phase.RESPONDING, Status.MONITORING),
            (Phase.POST_INCIDENT, Status.RESOLVED),
            (Phase.CLOSED, Status.RESOLVED),
        }
        if long:
            expected = {(Phase.CLOSED, Status.RESOLVED)}
        assert {(s.phase, s.status) for s in states} == expected
        assert worker.starts == kills + 1
    finally:
        await worker.stop()


@pytest.fixture
async def slow_control_plane(database_url: str) -> AsyncIterator[ControlPlane]:
    """Commits a rollback at once but answers 6 s later: a worker killed meanwhile never hears."""
    async with reference_control_plane(database_url, answer_late={"/rollback": 6.0}) as plane:
        yield plane


async def test_worker_killed_mid_rollback_rolls_back_once(
    bare_harness: Harness, policy: Policy, slow_control_plane: ControlPlane, tmp_path: Path
) -> None:
    harness, plane = bare_harness, slow_control_plane
    wire = Wire(harness.receiver)
    worker = WorkerProcess(harness, tmp_path, control_plane_url=plane.url)
    await worker.start()
    try:
        incident = await harness.declare(Severity.P1)
        human = (await harness.state(incident)).human_id
        await decide(
            incident, AssignRole(actor="dana", role=Role.INCIDENT_COMMANDER, person="dana")
        )
        await decide(
            incident,
            ProposeContainment(
                actor="erin", kind=ActionKind.ROLLBACK_DEPLOYMENT, target=plane.deployment
            ),
        )
        await decide(incident, ApproveContainment(actor="dana", action_id=1))
        # The control plane has acted; its answer is still on the way.
        await eventually(lambda: plane.effects(human), within=30)
        await worker.restart_after_kill()

        state = await harness.until(
            incident, lambda s: s.containment[0].state is ActionState.IN_FORCE, within=60
        )
        assert [e.kind for e in state.timeline].count("containment_done") == 1
        assert await plane.effects(human) == [("rollback", plane.deployment)]
        assert (await plane.deployment_row())["version"] == "v41"
        await check_incidents(
            harness.client,
            [incident],
            task_queue=harness.task_queue,
            policy=policy,
            database_url=harness.database_url,
            wire=wire,
            control_plane=plane,
        )
    finally:
        await worker.stop()
