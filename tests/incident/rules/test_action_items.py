"""Action items live: owners hear when they get one and around its due date, overdue counts
fall as work is done, and the ticket tracker hears of every change."""

from __future__ import annotations

from datetime import timedelta

import pytest

from incident.escalation import Audience
from incident.lifecycle import DecisionRejected, Incident
from incident.models import (
    ActionItemStatus,
    AddActionItem,
    CompleteActionItem,
    ReassignActionItem,
    ReopenActionItem,
    TimerKind,
)
from incident.notices import NoticeKind
from incident.rules import action_items
from incident.severity import Severity
from tests.incident.test_lifecycle import declare, minutes

DAY = timedelta(days=1)


def with_item(owner: str = "dana") -> Incident:
    incident = declare(Severity.P2)
    _, fx = incident.apply(
        AddActionItem(actor="bob", description="add a canary", owner=owner, priority="P1"),
        minutes(1),
    )
    told = [n for n in fx.notices if n.kind is NoticeKind.ACTION_ITEM]
    assert [(n.audience, n.to) for n in told] == [(owner, Audience.PEOPLE)]
    assert [(t.action, t.item.id) for t in fx.tickets] == [("created", 1)]
    return incident


def reminders(incident: Incident) -> list[str]:
    return [t.key for t in incident.pending() if t.kind is TimerKind.ACTION_ITEM_DUE]


def test_the_owner_is_reminded_two_days_before_at_the_due_date_and_weekly_after() -> None:
    incident = with_item()
    due = incident.state.action_items[0].due
    assert due == minutes(1) + 7 * DAY  # a P1 action item: one week
    first = next(t for t in incident.pending() if t.kind is TimerKind.ACTION_ITEM_DUE)
    assert first.due == due - 2 * DAY
    fx = incident.timer_due(first, first.due)
    assert fx.notices[0].audience == "dana" and "due in 2 d" in fx.notices[0].headline

    at_due = next(t for t in incident.pending() if t.kind is TimerKind.ACTION_ITEM_DUE)
    assert at_due.due == due
    fx = incident.timer_due(at_due, due)
    assert "due now" in fx.notices[0].headline
    after = next(t for t in incident.pending() if t.kind is TimerKind.ACTION_ITEM_DUE)
    assert after.due == due + 7 * DAY
    assert len(action_items.overdue(incident, due)) == 1


def test_done_work_stops_the_reminders_and_the_overdue_count_falls() -> None:
    incident = with_item()
    due = incident.state.action_items[0].due
    assert due is not None
    late = due + DAY
    assert incident.brief(late).action_items_overdue == 1
    _, fx = incident.apply(CompleteActionItem(actor="dana", item_id=1, note="PR 4411"), late)
    assert reminders(incident) == []
    brief = incident.brief(late)
    assert (brief.action_items_overdue, brief.action_items_open) == (0, 0)
    assert [t.action for t in fx.tickets] == ["completed"]
    with pytest.raises(DecisionRejected, match="already done"):
        incident.check(CompleteActionItem(actor="dana", item_id=1), minutes(10))


def test_reassigning_tells_the_new_owner_and_starts_their_reminders() -> None:
    incident = with_item()
    _, fx = incident.apply(ReassignActionItem(actor="bob", item_id=1, owner="erin"), minutes(5))
    assert [n.audience for n in fx.notices] == ["erin"]
    assert [t.action for t in fx.tickets] == ["reassigned"]
    assert all(
        "erin" in t.summary for t in incident.pending() if t.kind is TimerKind.ACTION_ITEM_DUE
    )
    with pytest.raises(DecisionRejected, match="no action item #9"):
        incident.check(ReassignActionItem(actor="bob", item_id=9, owner="erin"), minutes(10))


def test_a_reopened_item_needs_a_reason_and_is_open_again() -> None:
    incident = with_item()
    incident.apply(CompleteActionItem(actor="dana", item_id=1), minutes(5))
    with pytest.raises(DecisionRejected, match="reason"):
        incident.check(ReopenActionItem(actor="bob", item_id=1), minutes(10))
    _, fx = incident.apply(
        ReopenActionItem(actor="bob", item_id=1, reason="canary never deployed"), minutes(6)
    )
    assert incident.state.action_items[0].status is ActionItemStatus.OPEN
    assert [t.action for t in fx.tickets] == ["reopened"]
    assert reminders(incident)


def test_an_incident_opened_before_live_action_items_sends_nothing_new() -> None:
    incident = declare(Severity.P2)
    incident.state.runbook_rules = False
    _, fx = incident.apply(
        AddActionItem(actor="bob", description="x", owner="dana", priority="P1"), minutes(1)
    )
    assert fx.notices == [] and fx.tickets == [] and reminders(incident) == []
