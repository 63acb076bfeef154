"""Escalation and cadence timers, walked on a real server with per-workflow time skipping."""

from __future__ import annotations

from datetime import timedelta

from incident.models import Acknowledge, ChangeSeverity, PostStatusUpdate, Status
from incident.severity import Severity
from starter.api import decide
from tests.support.harness import Harness
from tests.support.wait import eventually

MIN = timedelta(minutes=1)


async def test_unacknowledged_p0_climbs_the_whole_ladder(harness: Harness) -> None:
    # A commander named at declaration: the 5-minute commander deadline is met.
    incident = await harness.declare(Severity.P0, commander="dana")
    await eventually(lambda: harness.paged() == ["All on-call"])
    # The declaration goes out with the first page (both at once, in either order).
    await eventually(lambda: len(harness.notices("declaration")) == 1)

    await harness.advance(incident, 14 * MIN)
    # +5 min: nobody acknowledged, so on-call is paged again; the VP is not called yet.
    assert harness.paged() == ["All on-call", "All on-call"]

    await harness.advance(incident, 2 * MIN)  # +16 min
    await eventually(lambda: "VP Engineering" in harness.paged())
    vp = next(n for n in harness.notices("escalation") if n["audience"] == "VP Engineering")
    assert vp["contact"] == "Phone"
    assert "unresolved after 15m" in vp["reason"]

    await harness.advance(incident, 15 * MIN)  # +31 min
    # At +30 the CTO, and seed 002's Studio Producer for more resources and vendors.
    await eventually(lambda: {"CTO", "Studio Producer"} <= set(harness.paged()))
    await harness.advance(incident, 28 * MIN)  # +59 min
    assert "CEO" not in harness.paged()
    await harness.advance(incident, 2 * MIN)  # +61 min
    await eventually(lambda: "CEO" in harness.paged())
    await eventually(lambda: len(harness.paged()) == 7)
    paged = harness.paged()
    assert paged[:3] == ["All on-call", "All on-call", "VP Engineering"]
    assert set(paged[3:5]) == {"CTO", "Studio Producer"}
    # At +60 the CEO is called and the 1 h resolution target is flagged to the commander.
    assert set(paged[5:]) == {"CEO", "dana"}


async def test_p1_ladder_and_acknowledgement_stops_paging(harness: Harness) -> None:
    incident = await harness.declare(Severity.P1)
    await eventually(lambda: harness.paged() == ["Primary on-call"])
    await harness.advance(incident, 10 * MIN)
    await decide(incident, Acknowledge(actor="bob", reason="on it"))
    # The scope assessed within the P1's 15 minutes: no reminder, nobody paged for it.
    await decide(
        incident,
        PostStatusUpdate(actor="bob", message="Org acme only", status=Status.IDENTIFIED),
    )

    await harness.advance(incident, 55 * MIN)  # +65 min
    await eventually(lambda: "Engineering Manager" in harness.paged())
    # Secondary on-call (+30, paging) was made moot by the acknowledgement.
    assert harness.paged() == ["Primary on-call", "Engineering Manager"]
    await harness.advance(incident, 60 * MIN)  # +125 min
    # At +2 h seed 000's VP Engineering and seed 002's Project Shepherd.
    await eventually(lambda: {"VP Engineering", "Project Shepherd"} <= set(harness.paged()))
    state = await harness.state(incident)
    assert state.acknowledged_by == "bob"
    assert [e.kind for e in state.timeline].count("escalated") == 4


async def test_unacknowledged_p1_pages_secondary_at_30_minutes(harness: Harness) -> None:
    incident = await harness.declare(Severity.P1)
    await harness.advance(incident, 29 * MIN)
    assert "Secondary on-call" not in harness.paged()
    await harness.advance(incident, 2 * MIN)
    await eventually(lambda: "Secondary on-call" in harness.paged())


async def test_p2_ladder_team_lead_then_engineering_manager(harness: Harness) -> None:
    incident = await harness.declare(Severity.P2)
    await decide(incident, Acknowledge(actor="bob"))
    await harness.advance(incident, 119 * MIN)
    assert harness.paged() == ["Primary on-call"]
    await harness.advance(incident, 2 * MIN)
    await eventually(lambda: harness.paged() == ["Primary on-call", "Team Lead"])
    await harness.advance(incident, 120 * MIN)
    await eventually(lambda: harness.paged()[-1] == "Engineering Manager")


async def test_severity_upgrade_replans_every_timer(harness: Harness) -> None:
    incident = await harness.declare(Severity.P2)
    await decide(incident, Acknowledge(actor="bob"))
    await harness.advance(incident, 20 * MIN)
    assert harness.paged() == ["Primary on-call"]

    await decide(incident, ChangeSeverity(actor="bob", severity=Severity.P0, reason="every org"))
    # Re-planned from the declaration: VP Engineering (+15) is overdue and goes out now.
    await eventually(lambda: "VP Engineering" in harness.paged())
    timers = {t.key: t.due for t in await harness.timers(incident)}
    state = await harness.state(incident)
    assert timers["escalation:P0:2"] == state.declared_at + 30 * MIN
    assert timers["escalation:P0:3"] == state.declared_at + 60 * MIN
    await harness.advance(incident, 11 * MIN)  # +31 min
    await eventually(lambda: "CTO" in harness.paged())


async def test_comms_cadence_posts_an_automatic_update(harness: Harness) -> None:
    incident = await harness.declare(Severity.P1)
    await decide(incident, Acknowledge(actor="bob"))
    await harness.advance(incident, 26 * MIN)
    await eventually(lambda: harness.notices("status_reminder"))
    assert not harness.notices("status_update")

    await harness.advance(incident, 5 * MIN)  # +31: nobody posted within 30 min
    update = (await eventually(lambda: harness.notices("status_update")))[0]
    assert update["automatic"] is True
    assert "No status update was posted" in update["message"]

    # A human update resets the cadence: nothing automatic for the next 30 minutes.
    await decide(incident, PostStatusUpdate(actor="carol", message="Rollback in progress"))
    await harness.advance(incident, 29 * MIN)
    automatic = [n for n in harness.notices("status_update") if n["automatic"]]
    assert len(automatic) == 1
