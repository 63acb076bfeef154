"""A channel answers 500 for ten minutes: escalation keeps its schedule, no notice is lost."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from incident.policy import Policy
from incident.severity import Severity
from tests.reliability.invariants import Wire, check_incidents
from tests.support.harness import Harness
from tests.support.wait import eventually
from tests.support.workers import running_worker

FACTOR = 120
"""Real time at x120: a policy minute is half a second."""
ON_TIME = timedelta(seconds=1.5)
"""How late (real time) a step may fire on a busy 2-CPU machine and still be on schedule."""


async def test_a_channel_down_for_ten_minutes_delays_no_escalation_and_loses_no_notice(
    bare_harness: Harness, policy: Policy, long: bool
) -> None:
    # Real time, not skipped: the server skips time only while no activity is in flight, and
    # here notices keep retrying; fast-forwarding ten minutes took ~20 s real and stalled.
    harness = bare_harness
    wire = Wire(harness.receiver)
    compressed = policy.compressed(FACTOR)
    count = 6 if long else 2
    # Down from minute 10 to 20 (short): across the VP's step at 15. Long: from 10 to 40,
    # across the CTO's at 30 too. Steps and outage in the incidents' own (compressed) minutes.
    outage_from, outage_to = timedelta(minutes=10), timedelta(minutes=40 if long else 20)
    inside = [1, 2] if long else [1]
    async with running_worker(harness, compressed, channel_names=("hook", "pager")):
        incidents = await asyncio.gather(
            *(harness.declare(Severity.P0, title=f"Outage {n}") for n in range(count))
        )
        states = [await harness.state(i) for i in incidents]
        humans = [s.human_id for s in states]
        # Before the outage the ack deadline's re-page (minute 5) went out everywhere.
        await eventually(
            lambda: all(("ack_deadline:0", "pager") in wire.delivered(h) for h in humans)
        )
        start = min(s.declared_at for s in states) + outage_from / FACTOR
        await asyncio.sleep((start - datetime.now(UTC)).total_seconds())
        wire.status = 500
        await asyncio.sleep(((outage_to - outage_from) / FACTOR).total_seconds())  # the outage
        wire.status = 200
        last = f"escalation:P0:{inside[-1]}"
        for incident in incidents:
            await harness.until(incident, lambda s: last in s.steps_taken, within=60)
        final = await check_incidents(
            harness.client,
            list(incidents),
            task_queue=harness.task_queue,
            policy=compressed,
            database_url=harness.database_url,
            wire=wire,
            on_time_within=ON_TIME,
            within=90,
        )
        for state in final:
            # The ladder's steps (the commander deadline's page to the Engineering Manager at
            # minute 10 is another rule, tested on its own).
            escalated = [
                e.text.split(":")[0]
                for e in state.timeline
                if e.kind == "escalated" and " via " in e.text.split(":")[0]
            ]
            assert (
                escalated[: 1 + len(inside)]
                == [
                    "Escalated to All on-call via PagerDuty",
                    "Escalated to VP Engineering via Phone",
                    "Escalated to CTO via Phone",
                ][: 1 + len(inside)]
            )
            for step in inside:
                # The step fell in the outage: refused, retried, delivered once per channel.
                pages = [
                    d
                    for d in wire.log
                    if d.human_id == state.human_id and d.key == f"escalation:P0:{step}"
                ]
                assert {d.status for d in pages} == {500, 200}
                assert sorted(d.channel for d in pages if d.status == 200) == ["hook", "pager"]
