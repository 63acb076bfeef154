"""Monitoring, recovery exit criteria, reopening and the post-incident deadlines."""

from __future__ import annotations

from datetime import timedelta

from incident.models import (
    Acknowledge,
    Alert,
    AlertStatus,
    Phase,
    PostmortemStatus,
    Resolve,
    Status,
    SubmitPostmortem,
)
from incident.policy import Policy
from incident.severity import Severity
from starter.api import decide
from tests.support.checks import VOUCHED
from tests.support.harness import Harness
from tests.support.wait import eventually
from tests.support.workers import running_worker

MIN = timedelta(minutes=1)
CRITICAL = Alert(
    fingerprint="f-latency",
    name="DroviAgentRunLatencyP95High",
    labels={"severity": "critical", "service": "agents", "org": "acme"},
    annotations={"summary": "Agent run p95 latency above 120s"},
)


async def test_repeat_firing_during_monitoring_reopens(harness: Harness) -> None:
    incident = await harness.fire("group-1", CRITICAL)
    state = await harness.state(incident)
    assert (state.severity, state.service, state.org) == (Severity.P0, "agents", "acme")
    await decide(incident, Acknowledge(actor="bob"))
    await decide(incident, Resolve(actor="bob", root_cause="bad deployment v42", verified=VOUCHED))
    assert (await harness.state(incident)).status is Status.MONITORING

    await harness.advance(incident, 20 * MIN)
    again = await harness.fire("group-1", CRITICAL)  # same dedup key: same incident
    assert again.id == incident.id
    state = await harness.until(incident, lambda s: s.reopened == 1)
    assert state.phase is Phase.RESPONDING and state.status is Status.INVESTIGATING
    assert state.firings == 2
    reopened = next(e for e in state.timeline if e.kind == "reopened")
    assert reopened.reason == "DroviAgentRunLatencyP95High fired again during monitoring"
    # Back to responding, the P0 management ladder resumes: the VP (+15) is now overdue.
    await eventually(lambda: "VP Engineering" in harness.paged())


async def test_resolves_after_quiet_window_then_postmortem_closes(harness: Harness) -> None:
    incident = await harness.declare(Severity.P0, commander="dana")
    await decide(incident, Acknowledge(actor="dana"))
    await decide(incident, Resolve(actor="dana", root_cause="config push", verified=VOUCHED))
    await harness.advance(incident, 59 * MIN)
    assert (await harness.state(incident)).phase is Phase.RESPONDING
    await harness.advance(incident, 2 * MIN)
    state = await harness.until(incident, lambda s: s.phase is Phase.POST_INCIDENT)
    assert state.resolved_at is not None
    await eventually(lambda: harness.notices("resolution"))

    # Postmortem reminders fall on the P0 deadlines: scheduled by +24 h, final by +72 h.
    timers = {t.key: t.due for t in await harness.timers(incident)}
    assert timers == {
        "postmortem_schedule": state.resolved_at + timedelta(hours=24),
        "postmortem_complete": state.resolved_at + timedelta(hours=72),
    }
    await harness.advance(incident, timedelta(hours=23))
    assert not harness.notices("postmortem_reminder")
    await harness.advance(incident, timedelta(hours=2))
    reminders = await eventually(lambda: harness.notices("postmortem_reminder"))
    assert reminders[0]["audience"] == "dana"
    await harness.advance(incident, timedelta(hours=48))
    await eventually(lambda: len(harness.notices("postmortem_reminder")) == 2)

    await decide(incident, SubmitPostmortem(actor="dana", status=PostmortemStatus.FINAL))
    final = await incident.result()
    assert final.phase is Phase.CLOSED


async def test_all_alerts_resolved_moves_to_monitoring_never_closed(harness: Harness) -> None:
    incident = await harness.fire("group-2", CRITICAL)
    resolved = CRITICAL.model_copy(update={"status": AlertStatus.RESOLVED})
    await harness.fire("group-2", resolved)
    state = await harness.until(incident, lambda s: s.status is Status.MONITORING)
    assert state.phase is Phase.TRIAGED  # still needs a person; nothing closed on its own


async def test_unreachable_prometheus_is_never_healthy(
    bare_harness: Harness, policy: Policy
) -> None:
    harness = bare_harness
    async with running_worker(harness, policy, prometheus_url="http://127.0.0.1:9"):
        incident = await harness.declare(Severity.P1)
        await decide(incident, Resolve(actor="bob", root_cause="fixed", verified=VOUCHED))
        await harness.advance(incident, 61 * MIN)
        state = await harness.until(
            incident, lambda s: s.last_probe is not None and s.last_probe.error is not None
        )
        assert state.status is Status.MONITORING and state.resolved_at is None
        events = [e.text for e in state.timeline if e.kind == "probe"]
        assert "127.0.0.1:9" in events[-1]
        timers = await harness.timers(incident)
        assert any(t.key == "recovery_check" for t in timers)  # it keeps checking
