"""Containment as a saga: gated by autonomy and approval, done once, undone on recovery."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

import asyncpg
import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError

from directory.models import Directory
from incident.containment import ActionKind, ActionState
from incident.models import (
    Acknowledge,
    Alert,
    ApproveContainment,
    AssignRole,
    Close,
    DenyContainment,
    EnterDegradedMode,
    IdentifyCause,
    LiftDegradedMode,
    Phase,
    PostmortemStatus,
    ProposeContainment,
    Resolve,
    Role,
    SubmitPostmortem,
)
from incident.policy import Policy
from incident.severity import Severity
from starter.api import IncidentHandle, decide
from tests.support.checks import VOUCHED
from tests.support.controlplane import ControlPlane
from tests.support.harness import Harness, scheduled
from tests.support.wait import eventually
from tests.support.workers import running_worker
from worker.run import People

MIN = timedelta(minutes=1)


async def _with_commander(harness: Harness, severity: Severity = Severity.P1) -> IncidentHandle:
    incident = await harness.declare(severity)
    await decide(incident, Acknowledge(actor="dana"))
    await decide(incident, AssignRole(actor="dana", role=Role.INCIDENT_COMMANDER, person="dana"))
    return incident


async def test_rollback_waits_for_approval_and_runs_once(
    contained: Harness, control_plane: ControlPlane
) -> None:
    harness, plane = contained, control_plane
    incident = await _with_commander(harness)
    await decide(
        incident,
        ProposeContainment(
            actor="erin",
            kind=ActionKind.ROLLBACK_DEPLOYMENT,
            target=plane.deployment,
            reason="v42 is bad",
        ),
    )
    state = await harness.state(incident)
    assert state.containment[0].state is ActionState.AWAITING_APPROVAL
    assert (await plane.deployment_row())["version"] == "v42"  # nothing happened yet

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await decide(incident, ApproveContainment(actor="erin", action_id=1))
    assert "only the incident commander or technical lead can" in str(refused.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await decide(incident, DenyContainment(actor="dana", action_id=1))
    assert "a denial needs a reason" in str(refused.value.cause)

    await decide(incident, ApproveContainment(actor="dana", action_id=1, reason="go"))
    state = await harness.until(incident, lambda s: s.containment[0].state is ActionState.IN_FORCE)
    assert "rolled back v42 → v41" in state.containment[0].detail
    assert (await plane.deployment_row())["version"] == "v41"
    assert await plane.effects(state.human_id) == [("rollback", plane.deployment)]
    # Stopping the bleeding goes ahead of routine notices and records (priority 3).
    calls = [s for s in await scheduled(incident) if s.activity == "contain.execute"]
    assert [c.priority for c in calls] == [2]


async def test_approval_deadline_escalates_and_keeps_waiting(
    contained: Harness, control_plane: ControlPlane
) -> None:
    harness = contained
    incident = await _with_commander(harness)
    await decide(
        incident,
        ProposeContainment(
            actor="erin", kind=ActionKind.DISABLE_TRIGGER, target=control_plane.trigger
        ),
    )
    await harness.advance(incident, 14 * MIN)
    assert "Engineering Manager" not in harness.paged()
    await harness.advance(incident, 2 * MIN)
    await eventually(lambda: "Engineering Manager" in harness.paged())
    state = await harness.state(incident)
    assert state.containment[0].state is ActionState.AWAITING_APPROVAL
    assert state.containment[0].approval_escalated


async def test_disabled_trigger_is_re_enabled_on_recovery_but_rollback_stays(
    contained: Harness, control_plane: ControlPlane
) -> None:
    harness, plane = contained, control_plane
    incident = await _with_commander(harness)
    for kind, target in (
        (ActionKind.ROLLBACK_DEPLOYMENT, plane.deployment),
        (ActionKind.DISABLE_TRIGGER, plane.trigger),
    ):
        await decide(incident, ProposeContainment(actor="erin", kind=kind, target=target))
    await decide(incident, ApproveContainment(actor="dana", action_id=1))
    await decide(incident, ApproveContainment(actor="dana", action_id=2))
    await harness.until(
        incident, lambda s: all(a.state is ActionState.IN_FORCE for a in s.containment)
    )
    assert not await plane.trigger_enabled()

    await decide(incident, Resolve(actor="dana", root_cause="v42 retry storm", verified=VOUCHED))
    await harness.advance(incident, 61 * MIN)
    state = await harness.until(
        incident, lambda s: s.containment[1].state is ActionState.COMPENSATED
    )
    assert state.containment[0].state is ActionState.IN_FORCE  # a rollback is not undone
    assert await plane.trigger_enabled()
    assert (await plane.deployment_row())["version"] == "v41"
    assert await plane.effects(state.human_id) == [
        ("rollback", plane.deployment),
        ("trigger", plane.trigger),
        ("trigger", plane.trigger),
    ]


async def test_degraded_mode_is_one_decision_and_lifted_as_one(
    contained: Harness, control_plane: ControlPlane
) -> None:
    harness, plane = contained, control_plane
    incident = await _with_commander(harness)
    await decide(incident, EnterDegradedMode(actor="erin", org=plane.org, reason="policy bypass"))
    await decide(incident, ApproveContainment(actor="dana", action_id=1))  # approves all three
    state = await harness.until(
        incident,
        lambda s: (
            len(s.containment) == 3 and all(a.state is ActionState.IN_FORCE for a in s.containment)
        ),
    )
    assert {a.kind for a in state.containment} == {
        ActionKind.LOWER_AUTONOMY,
        ActionKind.ACTIVATE_DENYLIST,
        ActionKind.PAUSE_SCHEDULED_TRIGGERS,
    }
    org = await plane.org_row()
    assert org["denylist_active"] and org["scheduled_paused"] and org["autonomy_tier"] == "L1"

    await decide(incident, LiftDegradedMode(actor="dana", org=plane.org))
    await harness.until(
        incident, lambda s: all(a.state is ActionState.COMPENSATED for a in s.containment)
    )
    org = await plane.org_row()
    assert not org["denylist_active"] and not org["scheduled_paused"]
    assert org["autonomy_tier"] == "L3"  # the tier it had before, restored


async def _p3_with_promotion_frozen(harness: Harness, plane: ControlPlane) -> IncidentHandle:
    """A P3 (it closes on resolution) whose technical lead froze promotion (auto by policy)."""
    incident = await harness.declare(Severity.P3)
    await decide(incident, AssignRole(actor="dana", role=Role.TECHNICAL_LEAD, person="dana"))
    await decide(
        incident,
        ProposeContainment(actor="erin", kind=ActionKind.FREEZE_PROMOTION, target=plane.deployment),
    )
    await harness.until(incident, lambda s: s.containment[0].state is ActionState.IN_FORCE)
    assert (await plane.deployment_row())["promotion_frozen"]
    return incident


async def test_closing_undoes_what_is_still_in_force(
    contained: Harness, control_plane: ControlPlane
) -> None:
    harness, plane = contained, control_plane
    incident = await _p3_with_promotion_frozen(harness, plane)
    # Mitigated, then resolved before the quiet window ends: close comes with resolution.
    await decide(incident, Resolve(actor="dana", root_cause="flaky eval", verified=VOUCHED))
    await harness.advance(incident, 61 * MIN)
    final = await incident.result()
    assert final.phase is Phase.CLOSED
    assert final.containment[0].state is ActionState.COMPENSATED
    assert not (await plane.deployment_row())["promotion_frozen"]


async def test_a_refused_action_says_why(contained: Harness) -> None:
    incident = await _with_commander(contained)
    await decide(
        incident,
        ProposeContainment(
            actor="erin", kind=ActionKind.LOWER_AUTONOMY, target="no-such-deployment"
        ),
    )
    state = await contained.until(incident, lambda s: s.containment[0].state is ActionState.FAILED)
    assert "refused (404)" in state.containment[0].detail
    assert any(e.kind == "containment_failed" for e in state.timeline)


async def test_playbook_and_decision_tree_propose_actions(
    contained: Harness, control_plane: ControlPlane
) -> None:
    harness, plane = contained, control_plane
    alert = Alert(
        fingerprint="f",
        name="DroviAgentRunSuccessRateLow",
        labels={
            "alertname": "DroviAgentRunSuccessRateLow",
            "deployment": plane.deployment,
            "trigger": plane.trigger,
            "org": plane.org,
        },
    )
    incident = await harness.fire(f"pb-{uuid.uuid4().hex[:6]}", alert)
    state = await harness.until(incident, lambda s: len(s.containment) == 2)
    assert [(a.kind, a.target, a.state) for a in state.containment] == [
        (ActionKind.ROLLBACK_DEPLOYMENT, plane.deployment, ActionState.AWAITING_APPROVAL),
        (ActionKind.DISABLE_TRIGGER, plane.trigger, ActionState.AWAITING_APPROVAL),
    ]
    await decide(incident, IdentifyCause(actor="dana", cause="recent_deployment"))
    state = await harness.state(incident)
    assert len(state.containment) == 2  # the rollback was already proposed
    assert state.status.value == "identified"
    assert "Roll back, then verify recovery" in state.timeline[-1].text
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await decide(incident, IdentifyCause(actor="dana", cause="aliens"))
    assert "unknown cause 'aliens'" in str(refused.value.cause)


async def test_p0_close_requires_postmortem_even_with_containment(contained: Harness) -> None:
    incident = await _with_commander(contained, Severity.P0)
    with pytest.raises(WorkflowUpdateFailedError):
        await decide(incident, Close(actor="dana"))
    with pytest.raises(WorkflowUpdateFailedError):
        await decide(incident, SubmitPostmortem(actor="dana", status=PostmortemStatus.FINAL))


async def test_cli_shows_the_pending_approval_and_approves_it(
    contained: Harness, control_plane: ControlPlane
) -> None:
    harness = contained
    incident = await _with_commander(harness)
    await harness.ok(
        "--as",
        "frank",
        "contain",
        incident.id,
        "rollback_deployment",
        control_plane.deployment,
        "--reason",
        "v42 fails 38% of runs",
    )
    assert "AWAITING APPROVAL" in await harness.ok("show", incident.id)
    refused = await harness.warroom("--as", "erin", "approve", incident.id, "1")
    assert refused.code == 1 and "only the incident commander or technical lead can" in refused.err
    await harness.ok("--as", "dana", "approve", incident.id, "1")
    await harness.until(incident, lambda s: s.containment[0].state is ActionState.IN_FORCE)
    shown = json.loads(await harness.ok("--json", "show", incident.id))
    assert shown["state"]["containment"][0]["decided_by"] == "dana"


async def test_cancelling_the_incident_undoes_what_is_in_force(
    contained: Harness, control_plane: ControlPlane
) -> None:
    harness, plane = contained, control_plane
    incident = await _with_commander(harness)
    await decide(
        incident,
        ProposeContainment(actor="erin", kind=ActionKind.DISABLE_TRIGGER, target=plane.trigger),
    )
    await decide(incident, ApproveContainment(actor="dana", action_id=1))
    state = await harness.until(incident, lambda s: s.containment[0].state is ActionState.IN_FORCE)
    assert not await plane.trigger_enabled()
    await incident.cancel()
    with pytest.raises(WorkflowFailureError):
        await incident.result()
    assert await plane.trigger_enabled()
    assert await plane.effects(state.human_id) == [("trigger", plane.trigger)] * 2


async def test_a_refused_undo_stays_in_force_escalates_and_is_tried_again(
    contained: Harness, control_plane: ControlPlane
) -> None:
    harness, plane = contained, control_plane
    incident = await _p3_with_promotion_frozen(harness, plane)
    # The deployment goes away from the control plane: unfreezing it is refused (404).
    conn = await asyncpg.connect(plane.database_url)
    await conn.execute("DELETE FROM cp_deployments WHERE id = $1", plane.deployment)
    await decide(incident, Resolve(actor="dana", root_cause="flaky eval", verified=VOUCHED))
    await harness.env.fast_forward(incident, 61 * MIN)
    await harness.env.fast_forward(incident, 11 * MIN)
    state = await harness.until(
        incident, lambda s: s.containment[0].compensation_attempts == 1, within=30
    )
    action = state.containment[0]
    assert state.phase is Phase.CLOSED
    assert action.state is ActionState.COMPENSATING  # never "compensated" on a refusal
    undone = [e.text for e in state.timeline if e.kind == "containment_undo_failed"]
    assert undone and "still in force" in undone[0] and "404" in undone[0]
    assert not any(e.kind == "containment_compensated" for e in state.timeline)
    await eventually(
        lambda: any("could not be undone" in n["headline"] for n in harness.notices("escalation"))
    )

    # Back on the control plane: the closed incident's retry timer undoes it, then it ends.
    await conn.execute(
        "INSERT INTO cp_deployments (id, version, stable_version, promotion_frozen) "
        "VALUES ($1, 'v42', 'v41', true)",
        plane.deployment,
    )
    await conn.close()
    await harness.env.fast_forward(incident, 6 * MIN)
    final = await asyncio.wait_for(incident.result(), 60)
    assert final.containment[0].state is ActionState.COMPENSATED
    assert not (await plane.deployment_row())["promotion_frozen"]


async def test_an_incident_is_never_seen_without_the_containment_it_opened_with(
    bare_harness: Harness, policy: Policy, control_plane: ControlPlane
) -> None:
    """While the directory is still being read for the first page, the incident already
    shows what its playbooks proposed (a query in that moment once saw none)."""
    harness, plane = bare_harness, control_plane
    reading = asyncio.Event()
    release = asyncio.Event()

    async def slow_directory() -> Directory | None:
        reading.set()
        await release.wait()
        return None

    people = People(directory=slow_directory)
    async with running_worker(harness, policy, control_plane_url=plane.url, people=people):
        alert = Alert(
            fingerprint="f",
            name="DroviAgentRunSuccessRateLow",
            labels={"alertname": "DroviAgentRunSuccessRateLow", "deployment": plane.deployment},
        )
        incident = await harness.fire(f"pb-{uuid.uuid4().hex[:6]}", alert)
        await asyncio.wait_for(reading.wait(), timeout=30)
        state = await harness.until(incident, lambda s: s.phase is not Phase.DETECTED)
        assert [(a.kind, a.target) for a in state.containment] == [
            (ActionKind.ROLLBACK_DEPLOYMENT, plane.deployment)
        ]
        release.set()
        await harness.until(incident, lambda s: s.paging is None and s.steps_taken != [])
