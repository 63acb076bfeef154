"""Channels that refuse or fail never cost the incident a timer, and never get a notice twice."""

from __future__ import annotations

from collections import Counter

from incident.models import Acknowledge, PostStatusUpdate
from incident.policy import Policy
from incident.severity import Severity
from starter.api import decide
from tests.support.harness import Harness, scheduled
from tests.support.receiver import Received
from tests.support.wait import eventually
from tests.support.workers import running_worker


async def test_a_refusing_channel_is_recorded_on_the_timeline(
    bare_harness: Harness, policy: Policy
) -> None:
    harness = bare_harness

    def respond(request: Received) -> tuple[int, bytes]:
        return (410, b"webhook deleted") if request.path == "/gone" else (200, b"{}")

    harness.receiver.respond = respond
    async with running_worker(harness, policy, channel_names=("hook", "gone")):
        incident = await harness.declare(Severity.P2)
        state = await harness.until(
            incident, lambda s: any(e.kind == "notification_failed" for e in s.timeline)
        )
        failure = next(e for e in state.timeline if e.kind == "notification_failed")
        assert "gone refused it (410): webhook deleted" in failure.text
        await harness.settle(incident)
        to_gone = Counter(r.json()["key"] for r in harness.receiver.received if r.path == "/gone")
        assert to_gone and set(to_gone.values()) == {1}, "a 4xx must not be retried"


async def test_a_dead_channel_never_stalls_the_ladder(
    bare_harness: Harness, policy: Policy
) -> None:
    harness = bare_harness
    harness.receiver.respond = lambda request: (503, b"down")
    # Real time, not skipped: the server only skips time while no activity is in flight,
    # and here every notice keeps retrying. At x300, the VP's 15 minutes are 3 seconds.
    async with running_worker(harness, policy.compressed(300)):
        incident = await harness.declare(Severity.P0, commander="bob")
        await decide(incident, Acknowledge(actor="bob"))
        state = await harness.until(
            incident, lambda s: sum(e.kind == "escalated" for e in s.timeline) >= 3, within=30
        )
        targets = [e.text for e in state.timeline if e.kind == "escalated"]
        assert "VP Engineering" in targets[1] and "CTO" in targets[2]
        pending = (await incident.describe()).raw_description.pending_activities
        assert pending and max(a.attempt for a in pending) > 1  # still retrying, in the background


async def test_a_flaky_channel_is_retried_and_nobody_gets_a_notice_twice(
    bare_harness: Harness, policy: Policy
) -> None:
    harness = bare_harness
    failures = {"left": 3}

    def respond(request: Received) -> tuple[int, bytes]:
        if request.path == "/flaky" and failures["left"] > 0:
            failures["left"] -= 1
            return 502, b"bad gateway"
        return 200, b"{}"

    harness.receiver.respond = respond
    async with running_worker(harness, policy, channel_names=("steady", "flaky")):
        incident = await harness.declare(Severity.P1)
        await eventually(
            lambda: any(
                r.path == "/flaky" and r.json()["kind"] == "escalation"
                for r in harness.receiver.received[3:]
            ),
            within=30,
        )
        await harness.settle(incident)
    by_channel = Counter((r.path, r.json()["key"]) for r in harness.receiver.received)
    steady = {key: n for (path, key), n in by_channel.items() if path == "/steady"}
    assert steady and set(steady.values()) == {1}
    flaky_delivered = {k for (p, k) in by_channel if p == "/flaky"}
    assert flaky_delivered == set(steady)


async def test_pages_and_declarations_go_ahead_of_routine_notices(harness: Harness) -> None:
    # Under load (an alert storm, a hundred incidents' reminders) the task queue backs up;
    # Temporal hands out higher-priority tasks first, so a page never waits behind them.
    incident = await harness.declare(Severity.P0)
    await decide(incident, PostStatusUpdate(actor="dana", message="rolling back v42"))
    await harness.settle(incident)
    notices = {
        s.input["kind"]: s.priority
        for s in await scheduled(incident)
        if s.activity == "notify.deliver"
    }
    assert notices["escalation"] == notices["declaration"] == 1
    assert notices["status_update"] == 0  # the default, 3
    others = {s.activity: s.priority for s in await scheduled(incident)}
    assert others["policy.current"] == 1  # the first page waits on it
    assert others["store.record"] == 0
