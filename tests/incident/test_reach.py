"""Reaching people, driven directly: the service's escalation levels, follow-ups, who may act."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from incident.containment import ActionKind
from incident.escalation import Audience, PagingLevel, PagingPlan, Reached
from incident.lifecycle import DecisionRejected, Incident
from incident.models import (
    Acknowledge,
    ApproveContainment,
    AssignRole,
    Close,
    Declaration,
    Escalate,
    ProposeContainment,
    Resolve,
    Role,
    TimerKind,
)
from incident.notices import DeliveryReport, Notice, NoticeKind
from incident.policy import load_policy
from incident.severity import Severity
from tests.support.checks import VOUCHED

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
POLICY = load_policy()
PLAN = PagingPlan(
    directory_version="d1",
    service="checkout",
    policy="platform-default",
    levels=[
        PagingLevel(targets="schedule primary", delay=timedelta(minutes=5)),
        PagingLevel(targets="schedule secondary", delay=timedelta(minutes=10)),
    ],
    repeat=1,
)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def declare(severity: Severity = Severity.P1, plan: PagingPlan | None = PLAN) -> Incident:
    incident, _ = Incident.open(
        human_id="INC-REACH-00001",
        source="manual",
        dedup_key=None,
        declaration=Declaration(title="Checkout failing", severity=severity, actor="alice"),
        alerts=[],
        policy=POLICY,
        now=T0,
    )
    incident.use_paging(plan, T0, None)
    return incident


def run_until(incident: Incident, now: datetime) -> list[Notice]:
    """Let every timer due by ``now`` fall due; the pages and escalations sent."""
    sent: list[Notice] = []
    while due := [t for t in incident.pending() if t.due <= now]:
        effects = incident.timer_due(due[0], due[0].due)
        sent += [n for n in effects.notices if n.kind is NoticeKind.ESCALATION]
    return sent


def test_the_service_policy_pages_level_by_level_and_repeats() -> None:
    incident = declare()
    pages = {t.key: t.due for t in incident.pending() if t.kind is TimerKind.PAGE}
    assert pages == {
        "page:0:0": T0,
        "page:0:1": minutes(5),
        "page:1:0": minutes(15),
        "page:1:1": minutes(20),
    }
    # The severity's own paging steps give way to the service's policy; management stays.
    keys = {t.key for t in incident.pending()}
    assert "escalation:P1:0" not in keys and "escalation:P1:1" not in keys
    assert "escalation:P1:2" in keys
    sent = run_until(incident, minutes(5))
    assert [(n.to, n.level, n.audience) for n in sent] == [
        (Audience.ON_CALL, 0, "level 1"),
        (Audience.ON_CALL, 1, "level 2"),
    ]


def test_a_p0_first_pages_every_on_call_schedule() -> None:
    incident = declare(Severity.P0)
    [first] = run_until(incident, T0)
    assert first.audience == "All on-call" and first.level == 0


def test_acknowledging_stops_every_page_and_follow_up() -> None:
    incident = declare()
    [page] = run_until(incident, T0)
    incident.delivered(
        page,
        DeliveryReport(
            key=page.key,
            reached=[
                Reached(
                    person="dana",
                    name="Dana Reyes",
                    why="level 1: schedule primary",
                    methods=["console: delivered"],
                    delivered=True,
                    next_rules=[
                        (1, timedelta(minutes=2), "sms"),
                        (2, timedelta(minutes=4), "voice"),
                    ],
                )
            ],
        ),
        T0,
    )
    follow_ups = [t for t in incident.pending() if t.kind is TimerKind.FOLLOW_UP]
    assert [(t.due, t.summary) for t in follow_ups] == [
        (minutes(2), "reach Dana Reyes by sms unless acknowledged"),
        (minutes(4), "reach Dana Reyes by voice unless acknowledged"),
    ]
    timeline = [e.text for e in incident.state.timeline if e.kind == "paged"]
    assert timeline == ["Paged Dana Reyes (level 1: schedule primary): console: delivered"]
    [sms] = run_until(incident, minutes(2))
    assert (sms.person, sms.rule) == ("dana", 1)
    incident.apply(Acknowledge(actor="dana", verified_by="link"), minutes(3))
    assert not [t for t in incident.pending() if t.kind in (TimerKind.PAGE, TimerKind.FOLLOW_UP)]
    later = run_until(incident, minutes(60))
    assert later and all(n.to is not Audience.ON_CALL for n in later)  # management goes on


def test_the_ack_deadline_pages_again_every_level_paged_so_far() -> None:
    incident = declare()
    sent = run_until(incident, minutes(15))  # P1 acknowledgement is due at 15m
    repages = [n for n in sent if n.key.startswith("ack_deadline:")]
    assert [(n.key, n.level) for n in repages] == [
        ("ack_deadline:page:0", 0),
        ("ack_deadline:page:1", 1),
    ]


def test_without_a_service_policy_the_severity_ladder_pages_on_call() -> None:
    incident = declare(plan=None)
    [first] = run_until(incident, T0)
    assert (first.audience, first.to) == ("Primary on-call", Audience.ON_CALL)


def test_the_timeline_says_how_the_incident_pages() -> None:
    incident = declare()
    [event] = [e for e in incident.state.timeline if e.kind == "paging_plan"]
    assert event.text == (
        "Paging by checkout's escalation policy platform-default: 2 levels, repeated once "
        "(directory d1)"
    )


# --- who may act ---------------------------------------------------------------


def with_commander() -> Incident:
    incident = declare()
    incident.apply(
        AssignRole(
            actor="alice", role=Role.INCIDENT_COMMANDER, person="alice", verified_by="token"
        ),
        minutes(1),
    )
    return incident


def test_once_someone_commands_only_they_assign_roles() -> None:
    incident = with_commander()
    with pytest.raises(DecisionRejected, match="only the incident commander \\(alice\\)"):
        incident.check(
            AssignRole(actor="bob", role=Role.TECHNICAL_LEAD, person="bob", verified_by="token"),
            minutes(2),
        )
    incident.check(
        AssignRole(actor="alice", role=Role.TECHNICAL_LEAD, person="bob", verified_by="token"),
        minutes(2),
    )


def test_only_the_leads_resolve_and_close_once_someone_commands() -> None:
    incident = with_commander()
    resolve = Resolve(
        actor="mallory", root_cause="bad deploy", verified_by="oidc", verified=VOUCHED
    )
    with pytest.raises(DecisionRejected, match="mallory cannot resolve the incident"):
        incident.check(resolve, minutes(2))
    with pytest.raises(DecisionRejected, match="cannot close"):
        incident.check(Close(actor="mallory", verified_by="oidc"), minutes(2))
    incident.check(
        Resolve(actor="alice", root_cause="bad deploy", verified_by="oidc", verified=VOUCHED),
        minutes(2),
    )


def test_an_administrator_may_act_for_anyone_and_the_timeline_says_so() -> None:
    incident = with_commander()
    event, _ = incident.apply(
        Resolve(actor="mallory", root_cause="bad deploy", verified=VOUCHED), minutes(2)
    )
    assert event.via == "admin"
    assert [e.via for e in incident.state.timeline if e.kind == "role_assigned"] == ["token"]


def test_nobody_approves_their_own_containment_proposal() -> None:
    incident = with_commander()
    incident.apply(
        AssignRole(actor="alice", role=Role.TECHNICAL_LEAD, person="bob", verified_by="token"),
        minutes(2),
    )
    incident.apply(
        ProposeContainment(
            actor="alice",
            kind=ActionKind.ROLLBACK_DEPLOYMENT,
            target="checkout-api",
            verified_by="token",
        ),
        minutes(3),
    )
    [action] = incident.state.containment
    for via in ("token", None):  # an administrator neither
        with pytest.raises(DecisionRejected, match=r"alice proposed .* and cannot approve it too"):
            incident.check(
                ApproveContainment(actor="alice", action_id=action.id, verified_by=via), minutes(4)
            )
    incident.check(
        ApproveContainment(actor="bob", action_id=action.id, verified_by="token"), minutes(4)
    )


def test_escalating_pages_the_next_level_now_and_not_again_on_its_timer() -> None:
    incident = declare()
    run_until(incident, T0)  # level 1
    event, effects = incident.apply(Escalate(actor="dana", verified_by="slack"), minutes(1))
    assert event.text == "Escalated now: page level 2: schedule secondary"
    assert [(n.level, n.to, n.reason) for n in effects.notices] == [
        (1, Audience.ON_CALL, "escalated by dana")
    ]
    assert "page:0:1" not in {t.key for t in incident.pending()}
    for _ in range(2):  # round 2's two levels
        incident.apply(Escalate(actor="dana"), minutes(2))
    with pytest.raises(DecisionRejected, match="every level has been paged already"):
        incident.check(Escalate(actor="dana"), minutes(3))
