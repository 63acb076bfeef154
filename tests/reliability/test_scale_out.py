"""Scale-out: three workers and two hook processes on one server, one worker killed under load.

Alerts are posted round-robin to both hook processes over real HTTP, as a load
balancer would spread them; while they land, one of the three real worker
processes is killed with SIGKILL and not brought back. The two left carry
every incident: none lost, none opened twice, no page acted on twice by a
channel that honours its Idempotency-Key (a notice the killed worker had sent
but not reported is sent again, under the same key: delivery is at least
once), and each still walks its ladder or takes its acknowledgement.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from incident.models import Acknowledge
from incident.policy import Policy
from starter.api import IncidentHandle, decide
from tests.reliability.invariants import IdempotentWire, check_incidents
from tests.reliability.processes import HookProcess, WorkerProcess
from tests.support.harness import Harness
from workflows.incident import IncidentWorkflow

MIN = timedelta(minutes=1)
FIRST_PAGE = "escalation:P1:0"
SECOND_PAGE = "escalation:P1:1"
"""The shipped P1 ladder: the primary on-call at once, the secondary at +30 min."""


def _delivery(key: str, round_: int) -> dict[str, Any]:
    """One generic delivery: a P1 alert of group ``key``, its ``round_``-th firing."""
    alert = {
        "dedup_key": key,
        "name": "CheckoutErrorsHigh",
        "severity": "error",
        "service": "checkout",
        "fingerprint": f"{key}-{round_}",
    }
    return {"source": "scale-out", "alerts": [alert]}


async def _worker_pids(incidents: list[IncidentHandle]) -> Counter[int]:
    """Workflow and activity tasks the incidents' histories say each worker process started."""
    ran: Counter[int] = Counter()
    for incident in incidents:
        async for event in incident.fetch_history_events():
            for started in (
                event.workflow_task_started_event_attributes,
                event.activity_task_started_event_attributes,
            ):
                pid, at, _host = started.identity.partition("@")
                if at and pid.isdigit():
                    ran[int(pid)] += 1
    return ran


async def test_a_worker_killed_under_load_loses_and_doubles_nothing(
    bare_harness: Harness, policy: Policy, tmp_path: Path, long: bool
) -> None:
    harness = bare_harness
    # The channel acts once per Idempotency-Key, as every channel is asked to: a notice
    # the killed worker had sent but not yet reported is sent again under its key.
    wire = IdempotentWire(harness.receiver)
    groups, rounds = (60, 5) if long else (24, 4)
    token = secrets.token_urlsafe(16)
    workers = [WorkerProcess(harness, tmp_path / f"worker{n}") for n in range(3)]
    hooks = [HookProcess(harness, tmp_path, token, name=f"hooks{n}") for n in range(2)]
    for worker in workers:
        worker.log_dir.mkdir()
    try:
        await asyncio.gather(*(w.start() for w in workers), *(h.start() for h in hooks))
        keys = [f"scale-{uuid.uuid4().hex[:8]}-{n}" for n in range(groups)]
        # Round by round, each group fires again; deliveries alternate between the two hooks.
        deliveries = [(key, r) for r in range(rounds) for key in keys]
        targets = itertools.cycle(hooks)
        plan = [(next(targets), key, r) for key, r in deliveries]
        accepted: Counter[str] = Counter()  # workflow ID -> deliveries the hooks accepted
        by_hook: Counter[str] = Counter()
        in_flight = asyncio.Semaphore(8)
        half_way = asyncio.Event()

        async def post(http: httpx.AsyncClient, hook: HookProcess, key: str, r: int) -> None:
            async with in_flight:
                response = await http.post(f"{hook.url}/hooks/generic", json=_delivery(key, r))
            assert response.status_code == 202, (hook.name, response.status_code, response.text)
            (incident,) = response.json()["incidents"]
            accepted[incident["workflow_id"]] += 1
            by_hook[hook.name] += 1
            if sum(accepted.values()) >= len(plan) // 3:
                half_way.set()

        pids = [w.process.pid for w in workers if w.process is not None]

        async def kill_one_worker() -> None:
            await half_way.wait()  # a third in: incidents opening, pages and writes in flight
            await workers[0].kill()

        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(timeout=60, headers=headers) as http:
            await asyncio.gather(kill_one_worker(), *(post(http, *p) for p in plan))
        assert workers[0].process is None, "the worker was not killed under load"
        assert by_hook == {"hooks0": len(plan) // 2, "hooks1": len(plan) - len(plan) // 2}
        # Every group accepted is one incident, holding every delivery the hooks accepted.
        assert len(accepted) == groups and set(accepted.values()) == {rounds}
        incidents: list[IncidentHandle] = [
            harness.client.get_workflow_handle_for(IncidentWorkflow.run, workflow_id)
            for workflow_id in sorted(accepted)
        ]
        states = await asyncio.gather(
            *(harness.until(i, lambda s: s.firings == rounds, within=90) for i in incidents)
        )
        # Each paged its primary on-call once (counted by idempotency key at the channel).
        for state in states:
            pages = wire.delivered(state.human_id)
            assert pages[(FIRST_PAGE, "hook")] <= 1, f"{state.human_id} paged twice"
        await asyncio.gather(
            *(harness.until(i, lambda s: FIRST_PAGE in s.steps_taken, within=90) for i in incidents)
        )

        # They carry on, on the two workers left: half are acknowledged, the other half
        # go unacknowledged past +30 min and page the secondary on-call.
        acknowledged, unanswered = incidents[::2], incidents[1::2]
        await asyncio.gather(
            *(decide(i, Acknowledge(actor="dana", reason="on it")) for i in acknowledged)
        )
        await asyncio.gather(*(harness.advance(i, 31 * MIN) for i in unanswered))
        await asyncio.gather(
            *(harness.until(i, lambda s: SECOND_PAGE in s.steps_taken) for i in unanswered)
        )
        for incident in acknowledged:
            assert (await harness.state(incident)).acknowledged_at is not None

        # Nothing lost in Temporal or Postgres, every due step paged once, every notice
        # delivered once; what the dead worker held is retried after its timeout runs out.
        states = await check_incidents(
            harness.client,
            incidents,
            task_queue=harness.task_queue,
            policy=policy,
            database_url=harness.database_url,
            wire=wire,
            within=120,
        )
        for state in states:
            pages = wire.delivered(state.human_id)
            assert pages[(FIRST_PAGE, "hook")] == 1, state.human_id
            assert all(n == 1 for n in pages.values()), pages
        # A notice sent again after the kill carried the key it was first sent under.
        assert all(len(keys) == 1 for keys in wire.keys.values()), wire.keys
        assert all(w.process is not None for w in workers[1:]), "a surviving worker died"
        # The work was really spread: each of the three, the killed one too, ran some of it.
        ran = await _worker_pids(incidents)
        assert set(pids) <= set(ran), f"workers {pids}, tasks run by {ran}"
    finally:
        await asyncio.gather(*(w.stop() for w in workers), *(h.stop() for h in hooks))
