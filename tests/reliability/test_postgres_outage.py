"""Postgres down for a while: incidents go on, and the record catches up completely."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest

from incident.models import Acknowledge, AddNote, AssignRole, Role
from incident.policy import Policy
from incident.severity import Severity
from starter.api import decide
from starter.postgres import EmbeddedPostgres, upgrade
from tests.reliability.invariants import Wire, check_incidents
from tests.support.harness import Harness
from tests.support.wait import eventually
from tests.support.workers import running_worker

FACTOR = 300
"""Real time at x300: the VP's 15 minutes are 3 s, the CTO's 30 are 6 s, the CEO's hour 12 s."""


def _paged(wire: Wire, human_id: str, page: tuple[str, str]) -> bool:
    return page in wire.delivered(human_id)


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    """A Postgres of this test's own: stopping it must not pull the floor from other tests."""
    server = EmbeddedPostgres(tmp_path / "pgdata")
    yield server
    server.stop()


async def test_postgres_down_loses_nothing_and_catches_up(
    bare_harness: Harness, policy: Policy, own_postgres: EmbeddedPostgres, long: bool
) -> None:
    url = own_postgres.start()
    await upgrade(url)
    harness = dataclasses.replace(bare_harness, database_url=url)
    wire = Wire(harness.receiver)
    compressed = policy.compressed(FACTOR)
    count = 10 if long else 3
    # Down until the CTO was paged (short), or until the CEO was (long).
    last_step = 3 if long else 2
    async with running_worker(harness, compressed):
        incidents = await asyncio.gather(
            *(harness.declare(Severity.P0, title=f"Outage {n}") for n in range(count))
        )
        for incident in incidents:
            await harness.until(incident, lambda s: s.recorded_seq == s.timeline_seq > 0)
        own_postgres.stop()
        try:
            # People keep working while the database is down: their decisions are taken.
            await asyncio.gather(
                decide(incidents[0], Acknowledge(actor="bob", reason="on it")),
                *(
                    decide(i, AssignRole(actor="bob", role=Role.INCIDENT_COMMANDER, person="bob"))
                    for i in incidents
                ),
                *(decide(i, AddNote(actor="scribe", text="db is down too")) for i in incidents),
            )
            for incident in incidents:
                state = await harness.until(
                    incident,
                    lambda s: f"escalation:P0:{last_step}" in s.steps_taken,
                    within=30 + 15 * last_step,
                )
                # The incident went on while the database was down: timers fired, pages out.
                assert state.recorded_seq < state.timeline_seq
                page = (f"escalation:P0:{last_step}", "hook")
                await eventually(partial(_paged, wire, state.human_id, page))
        finally:
            own_postgres.restart()
        states = await check_incidents(
            harness.client,
            list(incidents),
            task_queue=harness.task_queue,
            policy=compressed,
            database_url=url,
            wire=wire,
            grace=timedelta(seconds=1),
        )
        for state in states:
            assert state.roles[Role.INCIDENT_COMMANDER] == "bob"
            assert [e.kind for e in state.timeline].count("note") == 1
