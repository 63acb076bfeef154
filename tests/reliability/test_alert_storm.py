"""An alert storm while people decide: every decision applies, every firing is counted."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

from incident.models import (
    Acknowledge,
    AddNote,
    Alert,
    AlertBatch,
    AssignRole,
    ChangeSeverity,
    Decision,
    DecisionReceipt,
    DeclareMitigated,
    PostStatusUpdate,
    Role,
    Status,
)
from incident.policy import Policy
from incident.severity import Severity
from starter.api import IncidentHandle, decide, send_alerts
from tests.reliability.invariants import Wire, check_incidents
from tests.support.harness import Harness

CRITICAL = Alert(
    fingerprint="f-latency",
    name="DroviAgentRunLatencyP95High",
    labels={"severity": "critical", "service": "agents"},
)


def _commander_chain() -> list[Decision]:
    """What the commander does, one after the other, while the storm goes on."""
    return [
        Acknowledge(actor="dana", reason="paged"),
        AssignRole(actor="dana", role=Role.INCIDENT_COMMANDER, person="dana"),
        ChangeSeverity(actor="dana", severity=Severity.P1, reason="one region only"),
        AssignRole(actor="dana", role=Role.COMMUNICATIONS_LEAD, person="erin"),
        PostStatusUpdate(actor="erin", message="bad deploy found", status=Status.IDENTIFIED),
        DeclareMitigated(actor="dana", reason="rolled back by hand"),
    ]


async def test_alert_storm_while_people_decide(
    harness: Harness, policy: Policy, long: bool
) -> None:
    wire = Wire(harness.receiver)
    count = 8 if long else 3
    firings = 400 if long else 60
    notes = 40 if long else 8
    keys = [f"storm-{uuid.uuid4().hex[:8]}-{n}" for n in range(count)]
    incidents = [await harness.fire(key, CRITICAL) for key in keys]
    batch = AlertBatch(source="alertmanager", alerts=[CRITICAL])
    deliveries = asyncio.Semaphore(32)  # in flight at once, as several hook replicas would

    async def deliver(key: str) -> None:
        async with deliveries:
            handle = await send_alerts(
                harness.client, batch, dedup_key=key, task_queue=harness.task_queue
            )
        assert handle is not None

    async def chain(incident: IncidentHandle) -> list[DecisionReceipt]:
        return [await decide(incident, decision) for decision in _commander_chain()]

    async def scribe(incident: IncidentHandle) -> list[DecisionReceipt]:
        # A few notes at once, as a chat bridge would: the server admits 10 updates in flight.
        writing = asyncio.Semaphore(4)

        async def note(n: int) -> DecisionReceipt:
            async with writing:
                return await decide(incident, AddNote(actor="scribe", text=f"n{n}"))

        return list(await asyncio.gather(*(note(n) for n in range(notes))))

    storm = [deliver(key) for key in keys for _ in range(firings)]
    people = [chain(i) for i in incidents] + [scribe(i) for i in incidents]
    receipts, _ = await asyncio.gather(asyncio.gather(*people), asyncio.gather(*storm))
    by_incident: dict[str, list[DecisionReceipt]] = {}
    for made in receipts:
        for receipt in made:
            by_incident.setdefault(receipt.human_id, []).append(receipt)

    for incident in incidents:
        await harness.until(incident, lambda s: s.firings >= 1 + firings, within=60)
    states = await check_incidents(
        harness.client,
        incidents,
        task_queue=harness.task_queue,
        policy=policy,
        database_url=harness.database_url,
        wire=wire,
    )
    for state in states:
        # Every firing counted exactly once; each decision applied once, none refused.
        assert state.firings == 1 + firings
        assert state.alerts[CRITICAL.fingerprint].firings == 1 + firings
        made = by_incident[state.human_id]
        assert len(made) == len(_commander_chain()) + notes
        applied = {e.seq: e for e in state.timeline if e.decision is not None}
        assert sorted(applied) == sorted(r.event.seq for r in made)
        assert all(applied[r.event.seq] == r.event for r in made)
        assert Counter(e.kind for e in applied.values()) == {
            "acknowledged": 1,
            "role_assigned": 2,
            "severity_changed": 1,
            "status_update": 1,
            "mitigated": 1,
            "note": notes,
        }
        assert state.notes == notes and state.severity is Severity.P1
        assert state.roles == {Role.INCIDENT_COMMANDER: "dana", Role.COMMUNICATIONS_LEAD: "erin"}
        # A firing after the mitigation sends it back to investigating, once.
        mitigated = next(e for e in state.timeline if e.kind == "mitigated")
        reopened = [e for e in state.timeline if e.kind == "reopened"]
        assert state.reopened == len(reopened) <= 1
        assert all(e.seq > mitigated.seq for e in reopened)
