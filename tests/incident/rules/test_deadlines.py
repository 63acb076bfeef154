"""The runbook's deadlines, driven directly: a P0's incident commander within 5 minutes, a
P1's scope and impact within 15 (reminder, then the on-call's management), and each
severity's on-call requirement (a P3 pages in business hours only, a P4 nobody)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from incident.escalation import Audience, PagingLevel, PagingPlan
from incident.lifecycle import Incident
from incident.models import AssignRole, Declaration, PostStatusUpdate, Role, Status
from incident.notices import Notice
from incident.policy import load_policy
from incident.severity import Severity

POLICY = load_policy()
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
PLAN = PagingPlan(
    directory_version="d1",
    service="checkout",
    policy="platform-default",
    levels=[PagingLevel(targets="schedule primary", delay=timedelta(minutes=5))],
)


def declare(severity: Severity, at: datetime = TUESDAY_10, *, deadlines: bool = True) -> Incident:
    incident, _ = Incident.open(
        human_id="INC-DEADL-00001",
        source="manual",
        dedup_key=None,
        declaration=Declaration(title="Agents failing", severity=severity, actor="alice"),
        alerts=[],
        policy=POLICY,
        now=at,
        runbook_rules=deadlines,
    )
    return incident


def run_until(incident: Incident, now: datetime) -> list[Notice]:
    sent: list[Notice] = []
    while due := [t for t in incident.pending() if t.due <= now]:
        sent += incident.timer_due(due[0], due[0].due).notices
    return sent


def at(minutes: float, start: datetime = TUESDAY_10) -> datetime:
    return start + timedelta(minutes=minutes)


def test_a_p0_without_a_commander_at_5_min_reminds_the_channel_then_pages_management() -> None:
    incident = declare(Severity.P0)
    timers = {t.key: t.due for t in incident.pending()}
    assert timers["deadline:commander"] == at(5)
    assert timers["deadline:commander:escalation"] == at(10)

    [reminder] = [n for n in run_until(incident, at(5)) if n.key == "deadline:commander"]
    assert (reminder.audience, reminder.to) == ("Incident channel", Audience.INCIDENT)
    text = incident.state.timeline[-1].text
    assert text == (
        "No incident commander yet: the runbook wants an incident commander named "
        "within 5 min of a P0's declaration"
    )
    [page] = [n for n in run_until(incident, at(10)) if n.key.startswith("deadline:")]
    assert (page.audience, page.to) == ("Engineering Manager", Audience.PEOPLE)
    assert "no incident commander yet, 5 min past the deadline" in (page.reason or "")
    assert not [t for t in incident.pending() if t.key.startswith("deadline:")]


def test_a_commander_named_in_time_plans_no_reminder() -> None:
    incident = declare(Severity.P0)
    incident.apply(AssignRole(actor="alice", role=Role.INCIDENT_COMMANDER, person="alice"), at(3))
    assert not [t for t in incident.pending() if t.key.startswith("deadline:")]
    assert not [n for n in run_until(incident, at(20)) if n.key.startswith("deadline:")]


def test_a_p1_has_15_min_to_assess_its_scope_and_identified_counts() -> None:
    incident = declare(Severity.P1)
    timers = {t.key: t.due for t in incident.pending()}
    assert "deadline:commander" not in timers  # the 5-minute commander is a P0's
    assert (timers["deadline:scope"], timers["deadline:scope:escalation"]) == (at(15), at(30))
    sent = run_until(incident, at(15))
    assert [n.audience for n in sent if n.key == "deadline:scope"] == ["Incident channel"]
    incident.apply(
        PostStatusUpdate(actor="bob", message="Only org acme; runs fail", status=Status.IDENTIFIED),
        at(20),
    )
    assert incident.state.scope_assessed_at == at(20)
    assert not [n for n in run_until(incident, at(60)) if n.key.startswith("deadline:")]


def test_a_status_update_still_investigating_does_not_count_as_the_assessment() -> None:
    incident = declare(Severity.P1)
    incident.apply(PostStatusUpdate(actor="bob", message="Looking"), at(5))
    assert "deadline:scope" in {t.key for t in incident.pending()}


def test_incidents_opened_before_the_deadlines_plan_none_of_them() -> None:
    incident = declare(Severity.P0, deadlines=False)
    assert not [t for t in incident.pending() if t.key.startswith("deadline:")]


def test_a_p3_escalation_after_hours_waits_for_business_hours() -> None:
    # Declared Tuesday 16:00 UTC: the Team Lead is due at 20:00, after business hours.
    incident = declare(Severity.P3, at(6 * 60))
    timers = {t.key: t.due for t in incident.pending()}
    wednesday_9 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert timers["escalation:P3:0"] == wednesday_9
    # Acknowledgement (2 h) would fall at 18:00: it waits too.
    assert timers["ack_deadline"] == wednesday_9
    assert not [n for n in run_until(incident, wednesday_9 - timedelta(seconds=1))]
    paged = [n.audience for n in run_until(incident, wednesday_9) if n.to is Audience.PEOPLE]
    assert "Team Lead" in paged


def test_a_p3_declared_on_saturday_pages_its_level_on_monday_morning() -> None:
    saturday = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)
    incident = declare(Severity.P3, saturday)
    incident.use_paging(PLAN, saturday, None)
    monday_9 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    timers = {t.key: t.due for t in incident.pending()}
    assert timers["page:0:0"] == monday_9
    assert timers["ack_deadline"] == monday_9 + timedelta(hours=2)


def test_a_p3_in_business_hours_pages_at_once() -> None:
    incident = declare(Severity.P3)
    incident.use_paging(PLAN, TUESDAY_10, None)
    assert {t.key: t.due for t in incident.pending()}["page:0:0"] == TUESDAY_10


def test_a_p4_pages_nobody() -> None:
    incident = declare(Severity.P4)
    incident.use_paging(PLAN, TUESDAY_10, None)
    assert not [t for t in incident.pending() if t.key.startswith(("page:", "escalation:"))]


def test_business_hours_open_at() -> None:
    hours = POLICY.business_hours
    assert hours.open_at(TUESDAY_10) == TUESDAY_10
    early = datetime(2026, 11, 24, 7, 30, tzinfo=UTC)
    assert hours.open_at(early) == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    friday_evening = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    assert hours.open_at(friday_evening) == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
