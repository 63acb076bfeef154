"""Incidents survive worker restarts and stay small however long and noisy they get."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from incident.models import Acknowledge, AddNote, Alert, AlertBatch, Phase
from incident.policy import Policy
from incident.severity import Severity
from starter.api import decide, send_alerts
from tests.support.harness import Harness, eventually
from tests.support.workers import running_worker
from workflows.incident import IncidentWorkflow

MIN = timedelta(minutes=1)


async def test_worker_restart_mid_phase_loses_and_repeats_nothing(
    bare_harness: Harness, policy: Policy
) -> None:
    harness = bare_harness
    async with running_worker(harness, policy):
        incident = await harness.declare(Severity.P0)
        await decide(incident, Acknowledge(actor="bob"))
        await harness.advance(incident, 16 * MIN)
        await eventually(lambda: "VP Engineering" in harness.paged())
        before = await harness.state(incident)

    # A new worker process knows nothing of the incident: it rebuilds it from history.
    async with running_worker(harness, policy):
        await harness.advance(incident, 15 * MIN)  # +31 min: the CTO is due
        await eventually(lambda: "CTO" in harness.paged())
        after = await harness.state(incident)
        assert after.timeline[: len(before.timeline)] == before.timeline
        paged = harness.paged()
        assert paged.count("VP Engineering") == 1 and paged.count("CTO") == 1
        assert paged.count("All on-call") == 1
        keys = [n["key"] for n in harness.notices()]
        assert len(keys) == len(set(keys)), "a notice was sent twice"


async def test_noisy_incident_continues_as_new_and_keeps_its_state(harness: Harness) -> None:
    alert = Alert(
        fingerprint="flap",
        name="DroviAgentRunSuccessRateLow",
        labels={"severity": "warning", "service": "agents"},
    )
    incident = await harness.fire("flapping-group", alert)
    first_run = (await incident.describe()).run_id
    await decide(incident, Acknowledge(actor="bob"))
    batch = AlertBatch(source="alertmanager", alerts=[alert])
    handle = harness.client.get_workflow_handle_for(IncidentWorkflow.run, incident.id)

    async def firings(count: int) -> None:
        for _ in range(count):
            await send_alerts(
                harness.client, batch, dedup_key="flapping-group", task_queue=harness.task_queue
            )

    started = time.monotonic()
    await asyncio.gather(*(firings(2000) for _ in range(10)))  # 20,000 repeat firings
    print(f"20,000 firings in {time.monotonic() - started:.1f}s")

    async def notes(first: int) -> None:
        # A chat bot posting notes; the server admits 10 updates in flight per incident.
        for i in range(first, 2000, 4):
            await decide(handle, AddNote(actor="scribe-bot", text=f"observation {i}"))

    started = time.monotonic()
    await asyncio.gather(*(notes(first) for first in range(4)))
    print(f"2,000 notes in {time.monotonic() - started:.1f}s")

    state = await harness.until(handle, lambda s: s.firings == 20001 and s.notes == 2000, within=60)
    assert state.phase is Phase.RESPONDING and state.acknowledged_by == "bob"
    assert state.alerts["flap"].firings == 20001
    assert state.timeline[-1].text.startswith("observation")
    assert len(state.timeline) <= 500
    description = await handle.describe()
    assert description.run_id != first_run  # it continued as new, more than once
    assert description.history_length < 10_000
