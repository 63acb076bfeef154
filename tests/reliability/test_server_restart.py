"""The file-backed dev server stops and starts again with incidents open: nothing is lost."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from dev.ports import free_port
from incident.models import Acknowledge
from incident.policy import Policy
from incident.severity import Severity
from settings import TemporalSettings, connect
from starter.api import decide
from starter.devserver import DevServer
from tests.reliability.invariants import Wire, check_incidents
from tests.support.harness import Harness
from tests.support.receiver import RecordingReceiver
from tests.support.workers import running_worker

FACTOR = 120
"""Real time at x120: the P0 ack deadline is 2.5 s, the VP's 15 minutes 7.5 s, the CTO's 15 s."""


async def test_open_incidents_and_their_timers_survive_a_server_restart(
    env: WorkflowEnvironment,
    receiver: RecordingReceiver,
    database_url: str,
    policy: Policy,
    tmp_path: Path,
    long: bool,
) -> None:
    # Not the session server: a dev server of its own on a SQLite file, stopped and started
    # again on the same file. Real time with a compressed policy, so timers fall due while
    # the server is down (the dev server on a file does not skip time).
    compressed = policy.compressed(FACTOR)
    ladder = compressed.rule(Severity.P0).escalation
    count = 12 if long else 3
    # Down across the VP's step (short), or across the CTO's too (long).
    down_until_step = 2 if long else 1
    port, ui_port = free_port(), free_port()
    data_dir = tmp_path / "temporal"
    server = await DevServer.start(data_dir, port=port, ui_port=ui_port)
    try:
        client = await connect(TemporalSettings(address=server.address))
        harness = Harness(
            env=env,
            client=client,
            task_queue=f"warroom-restart-{uuid.uuid4().hex[:8]}",
            receiver=receiver,
            database_url=database_url,
        )
        wire = Wire(receiver)
        async with running_worker(harness, compressed):
            incidents = await asyncio.gather(
                *(harness.declare(Severity.P0, title=f"Outage {n}") for n in range(count))
            )
            # Half are acknowledged (paging stops, the management ladder goes on).
            await asyncio.gather(
                *(decide(i, Acknowledge(actor="bob")) for i in incidents[: count // 2])
            )
            states = [await harness.state(i) for i in incidents]
            before = {s.human_id: s.timeline for s in states}
            due = max(s.declared_at for s in states) + ladder[down_until_step].after
            assert all("escalation:P0:1" not in s.steps_taken for s in states)

            await asyncio.to_thread(server.stop)
            # The outage itself: the server stays down until the step has fallen due.
            await asyncio.sleep((due - datetime.now(UTC)).total_seconds() + 0.5)
            # The same frontend port (the worker and client reconnect to it); the Web UI's port,
            # free while the server was down, may have been taken by anything meanwhile.
            server = await DevServer.start(data_dir, port=port, ui_port=free_port())

            # The same worker and client reconnect; the due steps fire on the restarted server.
            for incident in incidents:
                state = await harness.until(
                    incident,
                    lambda s: f"escalation:P0:{down_until_step}" in s.steps_taken,
                    within=60,
                )
                assert state.timeline[: len(before[state.human_id])] == before[state.human_id]
            final = await check_incidents(
                client,
                list(incidents),
                task_queue=harness.task_queue,
                policy=compressed,
                database_url=database_url,
                wire=wire,
                grace=timedelta(seconds=1),
            )
            for state in final:
                paged = [d.key for d in wire.log if d.human_id == state.human_id]
                for step in range(down_until_step + 1):
                    assert paged.count(f"escalation:P0:{step}") == 1
                assert (state.acknowledged_at is None) == ("ack_deadline" in state.steps_taken)
    finally:
        await asyncio.to_thread(server.stop)
