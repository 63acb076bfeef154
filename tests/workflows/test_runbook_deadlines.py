"""The runbooks' deadlines and matrices under time skipping: a P0 with no incident commander
at 5 min reminds the channel, then brings in the on-call's management; a P0 still
unresolved at 30 min brings in the Studio Producer; a later, more severe alert of the
group raises the incident's severity and re-plans its timers."""

from __future__ import annotations

from datetime import timedelta

from incident.models import Alert, AssignRole, Role
from incident.severity import Severity
from starter.api import decide
from tests.support.harness import Harness
from tests.support.wait import eventually

MIN = timedelta(minutes=1)


async def test_a_p0_without_a_commander_at_5_min_reminds_then_pages_management(
    harness: Harness,
) -> None:
    incident = await harness.declare(Severity.P0)
    await harness.advance(incident, 4 * MIN)
    assert "Engineering Manager" not in harness.paged()
    await harness.advance(incident, 1 * MIN + timedelta(seconds=5))
    await eventually(lambda: "Incident channel" in harness.paged())
    reminder = next(n for n in harness.notices("escalation") if n["audience"] == "Incident channel")
    assert "no incident commander yet" in reminder["headline"]

    await harness.advance(incident, 5 * MIN)  # +10 min
    await eventually(lambda: "Engineering Manager" in harness.paged())
    state = await harness.state(incident)
    [escalated] = [e for e in state.timeline if "Engineering Manager" in e.text]
    assert escalated.kind == "escalated"
    assert "no incident commander yet, 5 min past the deadline" in escalated.text


async def test_a_commander_named_in_time_pages_nobody_for_it(harness: Harness) -> None:
    incident = await harness.declare(Severity.P0)
    await decide(incident, AssignRole(actor="dana", role=Role.INCIDENT_COMMANDER, person="dana"))
    await harness.advance(incident, 12 * MIN)
    assert "Engineering Manager" not in harness.paged()
    assert "Incident channel" not in harness.paged()


async def test_a_p0_unresolved_at_30_min_brings_in_the_studio_producer(
    harness: Harness,
) -> None:
    incident = await harness.declare(Severity.P0, commander="dana")
    await harness.advance(incident, 29 * MIN)
    assert "Studio Producer" not in harness.paged()
    await harness.advance(incident, 1 * MIN + timedelta(seconds=5))
    await eventually(lambda: "Studio Producer" in harness.paged())
    producer = next(n for n in harness.notices("escalation") if n["audience"] == "Studio Producer")
    assert "bring additional resources and escalate to vendors" in producer["reason"]


async def test_a_later_critical_alert_raises_the_incident_and_replans_its_timers(
    harness: Harness,
) -> None:
    slow = Alert(fingerprint="slow", name="CheckoutSlow", labels={"severity": "warning"})
    incident = await harness.fire("checkout-group", slow)
    assert (await harness.state(incident)).severity is Severity.P2
    await harness.advance(incident, 20 * MIN)

    down = Alert(fingerprint="down", name="CheckoutDown", labels={"severity": "critical"})
    await harness.fire("checkout-group", down)
    state = await harness.until(incident, lambda s: s.severity is Severity.P0)
    [raised] = [e for e in state.timeline if e.kind == "severity_changed"]
    assert raised.text == "Severity raised P2 → P0; timers re-planned from declaration"
    assert raised.reason == (
        "CheckoutDown fired at P0, more severe than the group's alerts before it"
    )
    # Re-planned from the declaration: VP Engineering (+15) was overdue and goes out now.
    await eventually(lambda: "VP Engineering" in harness.paged())
    timers = {t.key: t.due for t in await harness.timers(incident)}
    assert timers["escalation:P0:2"] == state.declared_at + 30 * MIN

    # A warning again never lowers it.
    await harness.fire("checkout-group", slow)
    await harness.settle(incident)
    assert (await harness.state(incident)).severity is Severity.P0
