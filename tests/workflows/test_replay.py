"""Determinism guard: saved incident histories must replay on the current workflow code.

Histories of every lifecycle path live in ``tests/histories/``: a P0 from
declaration to close, an alert-opened incident regraded and reopened by a
recurring alert, the containment saga (missed approval deadline, rollback,
trigger undone on recovery), degraded mode with a denial then cancellation,
a P3 reopened by a person and closed at resolution, a new incident linked to
the one closed before it, and a flapping incident's run that continued as new.
Each scenario also runs on every test run and its fresh history is replayed. A change
to ``IncidentWorkflow`` that would break incidents already running fails
here. After an intended change guarded by ``workflow.patched``, keep the
old recordings under a new name (``<scenario>.before-<change>.json``) and
re-record with ``WARROOM_RECORD_HISTORIES=1 pytest tests/workflows/test_replay.py``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from incident.containment import ActionKind, ActionState
from incident.models import (
    Acknowledge,
    AddActionItem,
    AddNote,
    Alert,
    AlertBatch,
    AlertStatus,
    ApproveContainment,
    AssignRole,
    ChangeSeverity,
    DeclareMitigated,
    DenyContainment,
    EnterDegradedMode,
    IdentifyCause,
    PostmortemStatus,
    PostStatusUpdate,
    ProposeContainment,
    RaiseFlag,
    Reopen,
    Resolve,
    Role,
    SubmitPostmortem,
)
from incident.severity import Severity
from starter.api import IncidentHandle, decide, send_alerts
from tests.support.checks import VOUCHED
from tests.support.controlplane import ControlPlane
from tests.support.harness import Harness
from tests.support.wait import eventually
from workflows.incident import CONTINUE_AS_NEW_AFTER, IncidentWorkflow

HISTORIES = Path(__file__).parents[1] / "histories"
MIN = timedelta(minutes=1)
ALERT = Alert(
    fingerprint="f1",
    name="DroviAgentRunSuccessRateLow",
    labels={"severity": "high", "service": "agents", "org": "acme"},
)


async def p0_full_lifecycle(h: Harness) -> IncidentHandle:
    incident = await h.declare(Severity.P0, title="Platform down")
    await h.advance(incident, 6 * MIN)
    await decide(incident, Acknowledge(actor="bob"))
    await decide(incident, AssignRole(actor="bob", role=Role.INCIDENT_COMMANDER, person="bob"))
    await decide(incident, PostStatusUpdate(actor="bob", message="DB failover in progress"))
    await decide(incident, RaiseFlag(actor="bob", flag="customer_sla_at_risk", reason="acme"))
    await decide(incident, AddNote(actor="bob", text="replica lag 40s"))
    await h.advance(incident, 20 * MIN)
    await decide(incident, DeclareMitigated(actor="bob", reason="failover done"))
    await decide(incident, Resolve(actor="bob", root_cause="primary disk full", verified=VOUCHED))
    await h.advance(incident, 61 * MIN)
    await h.until(incident, lambda s: s.resolved_at is not None)
    await decide(
        incident, AddActionItem(actor="bob", description="disk alerts", owner="ops", priority="P1")
    )
    await h.advance(incident, timedelta(hours=25))
    await decide(incident, SubmitPostmortem(actor="bob", status=PostmortemStatus.FINAL))
    await incident.result()
    return incident


async def alert_reopen_and_regrade(h: Harness) -> IncidentHandle:
    incident = await h.fire("replay-group", ALERT)
    await decide(incident, Acknowledge(actor="bob"))
    await decide(incident, ChangeSeverity(actor="bob", severity=Severity.P0, reason="all orgs"))
    await h.fire("replay-group", ALERT.model_copy(update={"status": AlertStatus.RESOLVED}))
    await h.until(incident, lambda s: s.status == "monitoring")
    await h.advance(incident, 10 * MIN)
    await h.fire("replay-group", ALERT)
    await h.until(incident, lambda s: s.reopened == 1)
    await h.advance(incident, 40 * MIN)
    await h.settle(incident)
    return incident


async def _commanded(h: Harness, severity: Severity) -> IncidentHandle:
    incident = await h.declare(severity, title="Agent runs failing")
    await decide(incident, Acknowledge(actor="dana"))
    await decide(incident, AssignRole(actor="dana", role=Role.INCIDENT_COMMANDER, person="dana"))
    return incident


async def containment_saga(h: Harness, plane: ControlPlane) -> IncidentHandle:
    """Approval deadline missed, rollback and trigger disable done, trigger undone on recovery."""
    incident = await _commanded(h, Severity.P1)
    await decide(incident, IdentifyCause(actor="dana", cause="recent_deployment"))
    for kind, target in (
        (ActionKind.ROLLBACK_DEPLOYMENT, plane.deployment),
        (ActionKind.DISABLE_TRIGGER, plane.trigger),
    ):
        await decide(incident, ProposeContainment(actor="erin", kind=kind, target=target))
    await h.advance(incident, 16 * MIN)  # the approval deadline escalates
    for action_id in (1, 2):
        await decide(incident, ApproveContainment(actor="dana", action_id=action_id))
    await h.until(incident, lambda s: all(a.state is ActionState.IN_FORCE for a in s.containment))
    await decide(incident, Resolve(actor="dana", root_cause="v42 retry storm", verified=VOUCHED))
    await h.advance(incident, 61 * MIN)
    await h.until(incident, lambda s: s.containment[-1].state is ActionState.COMPENSATED)
    await decide(incident, SubmitPostmortem(actor="dana", status=PostmortemStatus.FINAL))
    await incident.result()
    return incident


async def degraded_denied_and_cancelled(h: Harness, plane: ControlPlane) -> IncidentHandle:
    """Degraded mode in force, a proposal denied, then the incident cancelled: all undone."""
    incident = await _commanded(h, Severity.P1)
    await decide(
        incident,
        ProposeContainment(
            actor="erin", kind=ActionKind.ROLLBACK_DEPLOYMENT, target=plane.deployment
        ),
    )
    await decide(incident, DenyContainment(actor="dana", action_id=1, reason="not the deploy"))
    await decide(incident, EnterDegradedMode(actor="erin", org=plane.org, reason="bypass"))
    await decide(incident, ApproveContainment(actor="dana", action_id=2))
    await h.until(incident, lambda s: s.containment[-1].state is ActionState.IN_FORCE)
    await incident.cancel()
    await h.until(
        incident,
        lambda s: all(
            a.state in (ActionState.DENIED, ActionState.COMPENSATED) for a in s.containment
        ),
    )
    await eventually(lambda: _closed(incident))
    return incident


async def p3_reopened_then_closed(h: Harness, plane: ControlPlane) -> IncidentHandle:
    """An auto containment, a person reopening during monitoring, close at resolution."""
    incident = await h.declare(Severity.P3, title="Eval flaky")
    await decide(incident, AssignRole(actor="dana", role=Role.TECHNICAL_LEAD, person="dana"))
    await decide(
        incident,
        ProposeContainment(actor="erin", kind=ActionKind.FREEZE_PROMOTION, target=plane.deployment),
    )
    await h.until(incident, lambda s: s.containment[0].state is ActionState.IN_FORCE)
    await decide(incident, DeclareMitigated(actor="dana", reason="promotion frozen"))
    await decide(incident, Reopen(actor="dana", reason="errors are back"))
    await decide(incident, Resolve(actor="dana", root_cause="flaky eval", verified=VOUCHED))
    await h.advance(incident, 61 * MIN)
    await incident.result()
    return incident


async def linked_after_close(h: Harness, plane: ControlPlane) -> IncidentHandle:
    """An alert firing again after its incident closed opens a new one that follows it."""
    noise = ALERT.model_copy(update={"labels": {"severity": "info", "service": "disk"}})
    first = await h.fire("replay-linked", noise)
    await decide(first, Resolve(actor="bob", root_cause="log rotation stuck", verified=VOUCHED))
    await h.advance(first, 61 * MIN)
    await first.result()
    second = await h.fire("replay-linked", noise)
    await h.until(second, lambda s: s.follows is not None)
    await h.settle(second)
    return second


async def continued_as_new(h: Harness, plane: ControlPlane) -> IncidentHandle:
    """A flapping alert: the first run hands its state to the next (the history saved)."""
    incident = await h.fire("replay-flapping", ALERT)
    first_run = (await incident.describe()).run_id
    batch = AlertBatch(source="alertmanager", alerts=[ALERT])

    async def firings(count: int) -> None:
        for _ in range(count):
            await send_alerts(h.client, batch, dedup_key="replay-flapping", task_queue=h.task_queue)

    await asyncio.gather(*(firings(CONTINUE_AS_NEW_AFTER // 8 + 1) for _ in range(8)))
    await eventually(lambda: _new_run(incident, first_run), within=30)
    return h.client.get_workflow_handle_for(IncidentWorkflow.run, incident.id, run_id=first_run)


async def _closed(handle: IncidentHandle) -> bool:
    return (await handle.describe()).close_time is not None


async def _new_run(handle: IncidentHandle, first_run: str) -> bool:
    return (await handle.describe()).run_id != first_run


Scenario = Callable[[Harness, ControlPlane], Awaitable[IncidentHandle]]

SCENARIOS: dict[str, Scenario] = {
    "p0_full_lifecycle": lambda h, _: p0_full_lifecycle(h),
    "alert_reopen_and_regrade": lambda h, _: alert_reopen_and_regrade(h),
    "containment_saga": containment_saga,
    "degraded_denied_and_cancelled": degraded_denied_and_cancelled,
    "p3_reopened_then_closed": p3_reopened_then_closed,
    "linked_after_close": linked_after_close,
    "continued_as_new": continued_as_new,
}


def _replayer() -> Replayer:
    return Replayer(workflows=[IncidentWorkflow], data_converter=pydantic_data_converter)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_scenario_history_replays(
    contained: Harness, control_plane: ControlPlane, name: str
) -> None:
    """Run the scenario now and replay its history: catches non-determinism in new code."""
    incident = await SCENARIOS[name](contained, control_plane)
    history = await incident.fetch_history()
    await _replayer().replay_workflow(history)
    if os.environ.get("WARROOM_RECORD_HISTORIES"):
        HISTORIES.mkdir(exist_ok=True)
        (HISTORIES / f"{name}.json").write_text(history.to_json())
        ids = {**_workflow_ids(), name: incident.id}
        WORKFLOW_IDS.write_text("".join(f"{k} {v}\n" for k, v in sorted(ids.items())))


SAVED = sorted(HISTORIES.glob("*.json"))
WORKFLOW_IDS = HISTORIES / "workflow_ids.txt"
"""Each recording's workflow ID (a history file does not hold it): a declared incident's INC
ID, and its follow-up's workflow ID, come from it. Older recordings replay under their name."""


def _workflow_ids() -> dict[str, str]:
    if not WORKFLOW_IDS.exists():
        return {}
    return dict(line.split(" ", 1) for line in WORKFLOW_IDS.read_text().splitlines() if line)


def test_histories_are_saved() -> None:
    assert {p.stem for p in SAVED} >= set(SCENARIOS), "record the histories (see module doc)"


@pytest.mark.parametrize("path", SAVED, ids=[p.stem for p in SAVED])
async def test_saved_history_replays(path: Path) -> None:
    """Incidents recorded on earlier code must replay on this code."""
    history = WorkflowHistory.from_json(_workflow_ids().get(path.stem, path.stem), path.read_text())
    await _replayer().replay_workflow(history)
