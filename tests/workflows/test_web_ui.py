"""What an engineer sees in the Web UI: search attributes, summaries, current details."""

from __future__ import annotations

import uuid

import temporalio.api.sdk.v1
from temporalio.api.enums.v1 import EventType

from incident import search_attributes as sa
from incident.models import Acknowledge, Alert, AssignRole, ChangeSeverity, Resolve, Role
from incident.severity import Severity
from starter.api import IncidentHandle, decide, incident_handle
from tests.support.checks import VOUCHED
from tests.support.harness import Harness
from tests.support.wait import eventually


async def _listed(harness: Harness, query: str) -> list[str]:
    return [w.id async for w in harness.client.list_workflows(query)]


async def test_search_attributes_follow_the_incident(harness: Harness) -> None:
    incident = await harness.declare(Severity.P1, title="Checkout latency 10x")
    await decide(incident, AssignRole(actor="bob", role=Role.INCIDENT_COMMANDER, person="dana"))
    state = await harness.state(incident)
    query = f'IncidentId = "{state.human_id}" AND IncidentCommander = "dana"'
    await eventually(lambda: _listed(harness, query + ' AND IncidentPhase = "triaged"'))

    await decide(incident, Acknowledge(actor="dana"))
    await decide(incident, Resolve(actor="dana", root_cause="pool exhausted", verified=VOUCHED))
    ids = await eventually(
        lambda: _listed(
            harness,
            query + ' AND IncidentSeverity = "P1" AND IncidentPhase = "responding"'
            ' AND IncidentStatus = "monitoring" AND IncidentService = "agents"',
        )
    )
    assert ids == [incident.id]
    found = await incident_handle(harness.client, state.human_id.lower())
    assert found.id == incident.id
    attrs = (await incident.describe()).typed_search_attributes
    assert attrs.get(sa.INCIDENT_SEVERITY) == "P1"


async def test_a_declared_incident_s_workflow_id_is_its_inc_id(harness: Harness) -> None:
    incident = await harness.declare(Severity.P2, title="Search is slow")
    state = await harness.state(incident)
    assert incident.id == f"incident-{state.human_id}"
    assert state.uid == (await incident.describe()).run_id  # idempotency keys: still the run
    # Found at once by its INC ID, as typed; and by its search attribute, once listed.
    typed = "inc-" + state.human_id.removeprefix("INC-").replace("-", "").lower()
    found = await incident_handle(harness.client, typed)
    assert found.id == incident.id
    await eventually(lambda: _listed(harness, f'IncidentId = "{state.human_id}"'))


async def test_an_alert_started_incident_is_still_found_by_its_derived_inc_id(
    harness: Harness,
) -> None:
    checkout = Alert(fingerprint="c5", name="Checkout5xx", labels={"severity": "critical"})
    incident = await harness.fire(f"web-ui-{uuid.uuid4().hex[:6]}", checkout)
    state = await harness.state(incident)
    assert state.human_id not in incident.id
    await eventually(lambda: _listed(harness, f'IncidentId = "{state.human_id}"'))
    found = await incident_handle(harness.client, state.human_id)
    assert found.id == incident.id


async def test_summaries_say_what_each_timer_and_activity_is_for(harness: Harness) -> None:
    incident = await harness.declare(Severity.P0, title="Platform down", commander="dana")
    await eventually(lambda: harness.paged())
    description = await incident.describe()
    assert await description.static_summary() == "Platform down"
    details = await eventually(lambda: _current_details(incident))
    assert "Waiting for:" in details and "acknowledgement" in details
    assert "escalate to VP Engineering via Phone if still unresolved" in details

    history = await incident.fetch_history()
    timer_summaries = []
    activity_summaries = []
    for event in history.events:
        summary = (
            event.user_metadata.summary.data.decode() if event.HasField("user_metadata") else ""
        )
        if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
            timer_summaries.append(summary)
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            activity_summaries.append(summary)
    assert timer_summaries and all(timer_summaries)
    assert any("re-page All on-call if nobody has acknowledged" in s for s in timer_summaries)
    assert all(activity_summaries)
    assert any("escalation → All on-call" in s for s in activity_summaries)


async def test_the_static_summary_never_claims_what_changed_since(harness: Harness) -> None:
    incident = await harness.declare(Severity.P1, title="Checkout latency 10x")
    await decide(incident, ChangeSeverity(actor="bob", severity=Severity.P0, reason="every org"))
    await harness.until(incident, lambda s: s.severity is Severity.P0)
    description = await incident.describe()
    summary = await description.static_summary() or ""
    details = await description.static_details() or ""
    assert "Checkout latency 10x" in summary
    assert "P1" not in summary + details
    assert description.typed_search_attributes.get(sa.INCIDENT_SEVERITY) == "P0"


async def _current_details(incident: IncidentHandle) -> str:
    """What the Web UI shows as current details (the SDK's built-in metadata query)."""
    metadata = await incident.query(
        "__temporal_workflow_metadata", result_type=temporalio.api.sdk.v1.WorkflowMetadata
    )
    return str(metadata.current_details)
