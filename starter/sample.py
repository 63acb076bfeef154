"""A sample incident, played by a scripted response team, to watch every phase in the Web UI.

It runs on a worker whose policy is compressed 60 times (a minute of policy
is a second of wall time), so the whole lifecycle — paging, acknowledgement,
escalation, a status update, mitigation, resolution, the monitoring window,
the postmortem and close — passes in about three minutes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from temporalio.client import Client

from incident.models import (
    Acknowledge,
    AddActionItem,
    AssignRole,
    Decision,
    Declaration,
    DeclareMitigated,
    PostmortemStatus,
    PostStatusUpdate,
    Resolve,
    Role,
    Status,
    SubmitPostmortem,
)
from incident.severity import Severity
from starter.api import IncidentHandle, decide, declare_incident
from workflows.incident import IncidentWorkflow

SAMPLE_TASK_QUEUE = "warroom-sample"
COMPRESSION = 60


def _script(now: Callable[[], datetime]) -> list[tuple[float, Decision]]:
    """(seconds after declaration, decision) — the response team's moves."""
    return [
        (20, Acknowledge(actor="sam.oncall", reason="paged; looking")),
        (22, AssignRole(actor="sam.oncall", role=Role.INCIDENT_COMMANDER, person="sam.oncall")),
        (24, AssignRole(actor="sam.oncall", role=Role.COMMUNICATIONS_LEAD, person="cleo.comms")),
        (
            28,
            PostStatusUpdate(
                actor="cleo.comms",
                message="Success rate at 62% since the 14:02 deploy of agents v42.",
                status=Status.IDENTIFIED,
            ),
        ),
        (40, DeclareMitigated(actor="sam.oncall", reason="rolled agents back to v41")),
        (50, Resolve(actor="sam.oncall", root_cause="v42 shipped a broken retry policy")),
        (
            125,
            SubmitPostmortem(
                actor="sam.oncall",
                status=PostmortemStatus.SCHEDULED,
                scheduled_for=now() + timedelta(days=1),
            ),
        ),
        (
            130,
            AddActionItem(
                actor="sam.oncall",
                description="Canary deploys must gate on run success rate",
                owner="devops",
                priority="P1",
            ),
        ),
        (
            150,
            SubmitPostmortem(
                actor="sam.oncall",
                status=PostmortemStatus.FINAL,
                summary="A retry-policy regression in v42 failed 38% of agent runs for 40 minutes.",
            ),
        ),
    ]


async def run_sample(client: Client, say: Callable[[str], None]) -> IncidentHandle:
    """Declare the sample incident and play the script against it; returns its handle."""
    handle = await declare_incident(
        client,
        Declaration(
            title="Agent run success rate below 90% (sample)",
            severity=Severity.P1,
            service="agents",
            org="acme",
            summary="DroviAgentRunSuccessRateLow firing for every org since the v42 deploy.",
            impact="About 40% of agent runs fail; customers see retries and timeouts.",
            actor="sample",
        ),
        task_queue=SAMPLE_TASK_QUEUE,
    )
    say(f"sample incident declared: workflow {handle.id}")
    started = asyncio.get_running_loop().time()
    for at, decision in _script(lambda: datetime.now(UTC)):
        delay = at - (asyncio.get_running_loop().time() - started)
        if delay > 0:
            await asyncio.sleep(delay)
        await _until_ready(handle, decision)
        receipt = await decide(handle, decision)
        say(
            f"{receipt.human_id} {receipt.phase.value}/{receipt.status.value}: {receipt.event.text}"
        )
    result = await handle.result()
    say(f"{result.human_id} closed after {result.timeline_seq} timeline events")
    return handle


async def _until_ready(handle: IncidentHandle, decision: Decision) -> None:
    """Postmortem decisions wait for the monitoring window to end (resolution)."""
    if not isinstance(decision, SubmitPostmortem | AddActionItem):
        return
    while (await handle.query(IncidentWorkflow.state)).resolved_at is None:
        await asyncio.sleep(1)
