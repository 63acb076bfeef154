"""Decisions are validated updates: accepted ones land on the timeline, rejected ones leave none."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError

from incident.models import (
    Acknowledge,
    AddActionItem,
    AddNote,
    AssignRole,
    Close,
    RaiseFlag,
    Resolve,
    Role,
)
from incident.severity import Severity
from starter.api import decide
from tests.support.checks import VOUCHED
from tests.support.harness import Harness
from tests.support.wait import eventually

UPDATE_EVENTS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
}


async def _update_events(handle: object) -> int:
    history = await handle.fetch_history()  # type: ignore[attr-defined]
    return sum(1 for e in history.events if e.event_type in UPDATE_EVENTS)


async def test_rejected_decision_says_why_and_leaves_no_trace(harness: Harness) -> None:
    incident = await harness.declare(Severity.P0)
    await harness.settle(incident)  # the first pages and records are out
    before = await harness.state(incident)
    updates_before = await _update_events(incident)

    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await decide(incident, Close(actor="mallory", reason="looks fine"))
    assert "cannot close yet: it is still investigating; resolve it with the root cause" in str(
        rejected.value.cause
    )
    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await decide(incident, Resolve(actor="bob", root_cause="", verified=VOUCHED))
    assert "needs the root cause" in str(rejected.value.cause)

    assert await harness.state(incident) == before
    assert await _update_events(incident) == updates_before


async def test_accepted_decisions_carry_actor_and_reason(harness: Harness) -> None:
    incident = await harness.declare(Severity.P1)
    receipt = await decide(incident, Acknowledge(actor="bob", reason="paged at 02:13"))
    assert receipt.event.actor == "bob" and receipt.event.reason == "paged at 02:13"
    await decide(incident, AssignRole(actor="bob", role=Role.INCIDENT_COMMANDER, person="dana"))
    await decide(incident, AddNote(actor="scribe-bot", text="error rate 34% in eu-west"))
    await decide(
        incident,
        AddActionItem(actor="dana", description="alert on p95", owner="erin", priority="P2"),
    )
    receipt = await decide(
        incident, RaiseFlag(actor="dana", flag="customer_sla_at_risk", reason="acme SLA 99.9")
    )
    state = await harness.state(incident)
    assert state.roles[Role.INCIDENT_COMMANDER] == "dana"
    kinds = [e.kind for e in state.timeline]
    for kind in ("acknowledged", "role_assigned", "note", "action_item", "flag_raised"):
        assert kind in kinds
    assert state.action_items[0].due is not None
    await eventually(lambda: "VP Engineering" in harness.paged())
    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await decide(incident, Acknowledge(actor="erin"))
    assert "already acknowledged by bob" in str(rejected.value.cause)
