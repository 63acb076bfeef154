"""Incidents survive worker restarts and stay small however long and noisy they get."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from incident.models import Acknowledge, AddNote, Alert, AlertBatch, Phase, Resolve
from incident.policy import Policy
from incident.severity import Severity
from starter.api import IncidentHandle, decide, opened_as, send_alerts
from tests.support.checks import VOUCHED
from tests.support.harness import Harness
from tests.support.wait import eventually
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


async def test_noisy_incident_continues_as_new_and_keeps_its_state(
    harness: Harness, long: bool
) -> None:
    # Either way past several runs of CONTINUE_AS_NEW_AFTER (1,000) signals and updates each.
    firings, notes_sent = (20_000, 2_000) if long else (8_000, 1_000)
    alert = Alert(
        fingerprint="flap",
        name="DroviAgentRunSuccessRateLow",
        labels={"severity": "warning", "service": "agents"},
    )
    incident = await harness.fire("flapping-group", alert)
    first_run = (await incident.describe()).run_id
    await decide(incident, Acknowledge(actor="bob"))
    batch = AlertBatch(source="alertmanager", alerts=[alert])
    handle: IncidentHandle = harness.client.get_workflow_handle_for(
        IncidentWorkflow.run, incident.id
    )

    async def repeat(count: int) -> None:
        for _ in range(count):
            await send_alerts(
                harness.client, batch, dedup_key="flapping-group", task_queue=harness.task_queue
            )

    started = time.monotonic()
    await asyncio.gather(*(repeat(firings // 10) for _ in range(10)))
    print(f"{firings:,} firings in {time.monotonic() - started:.1f}s")

    async def notes(first: int) -> None:
        # A chat bot posting notes; the server admits 10 updates in flight per incident.
        for i in range(first, notes_sent, 4):
            await decide(handle, AddNote(actor="scribe-bot", text=f"observation {i}"))

    started = time.monotonic()
    await asyncio.gather(*(notes(first) for first in range(4)))
    print(f"{notes_sent:,} notes in {time.monotonic() - started:.1f}s")

    state = await harness.until(
        handle, lambda s: s.firings == firings + 1 and s.notes == notes_sent, within=60
    )
    assert state.phase is Phase.RESPONDING and state.acknowledged_by == "bob"
    assert state.alerts["flap"].firings == firings + 1
    # The run now signalled is not the one that opened the incident: the hooks cannot
    # name it for free, so they leave its INC ID out rather than guess.
    again = await send_alerts(
        harness.client, batch, dedup_key="flapping-group", task_queue=harness.task_queue
    )
    assert again is not None and again.result_run_id != state.uid
    assert opened_as(again) is None
    assert state.timeline[-1].text.startswith("observation")
    assert len(state.timeline) <= 500
    description = await handle.describe()
    assert description.run_id != first_run  # it continued as new, more than once
    assert description.history_length < 10_000


DISK = Alert(fingerprint="d1", name="DiskNoise", labels={"severity": "info", "service": "disk"})


def _declarations(harness: Harness) -> list[tuple[str, str]]:
    """(incident, Idempotency-Key) of every declaration the channel received."""
    return [
        (r.json()["incident"]["human_id"], r.headers["idempotency-key"])
        for r in harness.receiver.received
        if r.json().get("kind") == "declaration"
    ]


async def test_the_next_incident_of_a_group_is_never_deduplicated_against_the_last(
    harness: Harness,
) -> None:
    first = await harness.fire("disk-group", DISK)
    await decide(first, Resolve(actor="bob", root_cause="log rotation stuck", verified=VOUCHED))
    await harness.advance(first, 61 * MIN)
    old = await first.result()  # a P3 closes on resolution
    second = await harness.fire("disk-group", DISK)  # the same group, the same workflow ID
    assert second.id == first.id
    await eventually(lambda: len(_declarations(harness)) == 2)
    (first_id, first_key), (second_id, second_key) = _declarations(harness)
    assert first_id == old.human_id and second_id != old.human_id
    # A channel that honours Idempotency-Key, as the README asks, must see a new key.
    assert first_key != second_key


async def test_a_firing_while_an_incident_closes_opens_the_next_one(harness: Harness) -> None:
    incident = await harness.fire("disk-closing", DISK)
    await decide(incident, Resolve(actor="bob", root_cause="log rotation stuck", verified=VOUCHED))
    harness.receiver.respond = lambda _request: (503, b"down")  # the resolution notice waits
    await harness.env.fast_forward(incident, 61 * MIN)
    closing = await harness.until(incident, lambda s: s.phase is Phase.CLOSED)

    # The closed run still waits for its resolution notice when the alert fires again.
    await send_alerts(
        harness.client,
        AlertBatch(source="alertmanager", alerts=[DISK]),
        dedup_key="disk-closing",
        task_queue=harness.task_queue,
    )
    harness.receiver.respond = lambda _request: (200, b"{}")
    handle: IncidentHandle = harness.client.get_workflow_handle_for(
        IncidentWorkflow.run, incident.id
    )
    new = await harness.until(handle, lambda s: s.human_id != closing.human_id, within=60)
    assert new.follows == closing.human_id and new.phase is Phase.TRIAGED
    assert any(e.kind == "linked" and closing.human_id in e.text for e in new.timeline)
    # The resolution notice went out for the incident that closed (after 503s), not the new one.
    resolution = harness.notices("resolution")
    assert {n["incident"]["human_id"] for n in resolution} == {closing.human_id}
