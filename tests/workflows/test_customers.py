"""Customer communication under time skipping: the runbook's deadlines (a P0's customers
hear within 15 min, a P1's within 30), the status-page cadence after the first update, the
templates, and the communications lead paged when nobody posts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from temporalio.client import WorkflowUpdateFailedError

from incident.impact import ComponentImpact, CustomerStage
from incident.models import (
    Acknowledge,
    AssignRole,
    PostCustomerUpdate,
    Resolve,
    Role,
    Status,
)
from incident.policy import Policy
from incident.severity import Severity
from starter.api import decide
from tests.support.checks import VOUCHED
from tests.support.harness import Harness
from tests.support.wait import eventually
from tests.support.workers import running_worker

MIN = timedelta(minutes=1)


@pytest.fixture
async def told(bare_harness: Harness, policy: Policy) -> AsyncIterator[Harness]:
    """A worker with an incident channel (``/hook``) and a customer channel (``/customers``)."""
    async with running_worker(
        bare_harness,
        policy,
        channel_names=("hook", "customers"),
        audiences={"customers": ["customers"]},
    ):
        yield bare_harness


def received(harness: Harness, path: str, kind: str) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = [r.json() for r in harness.receiver.received if r.path == path]
    return [b for b in bodies if b["kind"] == kind]


async def test_a_silent_p0_reminds_at_15_min_then_pages_the_communications_lead(
    told: Harness,
) -> None:
    harness = told
    incident = await harness.declare(Severity.P0)
    await harness.advance(incident, 14 * MIN)
    assert received(harness, "/hook", "customer_reminder") == []

    await harness.advance(incident, 1 * MIN + timedelta(seconds=5))
    reminders = received(harness, "/hook", "customer_reminder")
    assert [r["audience"] for r in reminders] == ["Incident channel"]
    assert "customers hear within 15 min of declaration" in reminders[0]["text"]
    assert "agents" in reminders[0]["text"]  # the template's draft, to post as it is

    await harness.advance(incident, 10 * MIN)
    state = await harness.state(incident)
    kinds = [e.kind for e in state.timeline]
    assert kinds.count("customer_reminder") == 1
    assert kinds.count("customer_escalation") == 1
    escalation = next(e for e in state.timeline if e.kind == "customer_escalation")
    assert "paged Communications lead" in escalation.text
    # Nobody holds the role and no directory names one: the page is never unseen.
    assert [r["audience"] for r in received(harness, "/hook", "customer_reminder")] == [
        "Incident channel",
        "Communications lead",
    ]


async def test_the_first_update_follows_the_template_and_starts_the_cadence(
    told: Harness,
) -> None:
    harness = told
    incident = await harness.declare(Severity.P0)
    await decide(incident, Acknowledge(actor="dana"))
    await decide(incident, AssignRole(actor="dana", role=Role.INCIDENT_COMMANDER, person="dana"))
    await harness.advance(incident, 5 * MIN)
    await decide(incident, PostCustomerUpdate(actor="dana"))
    await harness.settle(incident)

    state = await harness.state(incident)
    [update] = state.customer_updates
    assert update.stage is CustomerStage.INITIAL
    assert update.impact is ComponentImpact.MAJOR_OUTAGE  # the P0's default
    assert update.message.startswith("We are investigating a problem affecting agents since ")
    assert "within 15 min" in update.message
    [sent] = received(harness, "/customers", "customer_update")
    assert update.message in sent["text"]
    assert "INC-" not in sent["text"] and "P0" not in sent["text"]  # nothing internal
    assert received(harness, "/hook", "customer_update") == []  # customers' channel only

    # The 15-minute deadline has been met; the status page is due 15 min after the update.
    await harness.advance(incident, 14 * MIN)
    assert received(harness, "/hook", "customer_reminder") == []
    await harness.advance(incident, 1 * MIN + timedelta(seconds=5))
    [reminder] = received(harness, "/hook", "customer_reminder")
    assert "the status page is updated every 15 min" in reminder["text"]


async def test_progress_then_resolution_follow_the_incident(told: Harness) -> None:
    harness = told
    incident = await harness.declare(Severity.P1)
    await decide(
        incident,
        PostCustomerUpdate(
            actor="cleo",
            message="Checkout is failing for some cards.",
            impact=ComponentImpact.DEGRADED,
        ),
    )
    await decide(incident, PostCustomerUpdate(actor="cleo"))
    state = await harness.state(incident)
    first, second = state.customer_updates
    assert (first.stage, first.message) == (
        CustomerStage.INITIAL,
        "Checkout is failing for some cards.",
    )
    assert second.stage is CustomerStage.PROGRESS
    assert second.impact is ComponentImpact.DEGRADED  # as the last update said
    assert "we are still looking for the cause" in second.message

    await decide(incident, Resolve(actor="cleo", root_cause="a bad deploy", verified=VOUCHED))
    await harness.advance(incident, 61 * MIN)
    state = await harness.state(incident)
    assert state.resolved_at is not None
    # Customers heard of it, so they must hear that it is over: the reminder says so.
    reminders = received(harness, "/hook", "customer_reminder")
    assert any("Final customer update due" in r["text"] for r in reminders)
    await decide(incident, PostCustomerUpdate(actor="cleo"))
    state = await harness.state(incident)
    last = state.customer_updates[-1]
    assert (last.stage, last.status, last.impact) == (
        CustomerStage.RESOLUTION,
        Status.RESOLVED,
        ComponentImpact.OPERATIONAL,
    )
    assert last.message.startswith("The problem affecting agents is resolved. It lasted 1 h")


async def test_only_the_communications_lead_or_commander_speaks_to_customers(
    told: Harness,
) -> None:
    harness = told
    incident = await harness.declare(Severity.P1)
    await decide(incident, AssignRole(actor="dana", role=Role.INCIDENT_COMMANDER, person="dana"))
    await decide(incident, AssignRole(actor="dana", role=Role.COMMUNICATIONS_LEAD, person="cleo"))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await decide(incident, PostCustomerUpdate(actor="erin", verified_by="token"))
    assert "only the communications lead (cleo) or incident commander (dana) can" in str(
        refused.value.cause
    )
    await decide(incident, PostCustomerUpdate(actor="cleo", verified_by="token"))
    assert len((await harness.state(incident)).customer_updates) == 1


async def test_the_record_keeps_what_customers_were_told_and_how_the_service_looks(
    told: Harness,
) -> None:
    harness = told
    incident = await harness.declare(Severity.P1)
    await decide(incident, PostCustomerUpdate(actor="cleo", message="Checkout is slow."))
    state = await harness.state(incident)

    async def recorded() -> list[asyncpg.Record] | None:
        conn = await asyncpg.connect(harness.database_url)
        try:
            rows = await conn.fetch(
                "SELECT u.stage, u.impact, u.message, i.customer_impact FROM customer_updates u"
                " JOIN incidents i USING (human_id) WHERE human_id = $1",
                state.human_id,
            )
        finally:
            await conn.close()
        return rows or None

    rows = await eventually(recorded)
    assert [tuple(r) for r in rows] == [
        ("initial", "partial_outage", "Checkout is slow.", "partial_outage")
    ]
