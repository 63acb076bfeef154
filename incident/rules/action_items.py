"""Action items that live: added, completed, reassigned and reopened; their owners told when
they get one and reminded before and after the SLA's due date; the ticket tracker told of
every change.

Owners are people: each notice goes to the owner's handle (``Audience.PEOPLE``). Incidents
opened before this existed keep their action items as plain records: no notices, timers or
tracker calls (``IncidentState.runbook_rules``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from incident.durations import spoken_duration
from incident.escalation import Audience
from incident.models import (
    ActionItem,
    ActionItemStatus,
    AddActionItem,
    CompleteActionItem,
    PendingTimer,
    Phase,
    ReassignActionItem,
    ReopenActionItem,
    TimelineEvent,
    TimerKind,
)
from incident.notices import Notice, NoticeKind
from incident.rules import postmortem, timeline, wording
from incident.rules.effects import Effects
from incident.tickets import TicketAction, TicketEvent

if TYPE_CHECKING:
    from incident.lifecycle import Incident


def item_by_id(inc: Incident, item_id: int) -> ActionItem | None:
    """The action item with that number."""
    return next((i for i in inc.state.action_items if i.id == item_id), None)


def open_items(inc: Incident) -> list[ActionItem]:
    """The items still to do."""
    return [i for i in inc.state.action_items if i.status is ActionItemStatus.OPEN]


def overdue(inc: Incident, now: datetime) -> list[ActionItem]:
    """Open items past their due date: the count falls as work is done."""
    return [i for i in inc.state.action_items if i.overdue(now)]


def _missing(inc: Incident, item_id: int) -> str:
    known = ", ".join(f"#{i.id}" for i in inc.state.action_items) or "none yet"
    return f"no action item #{item_id} (items: {known})"


def _told(
    inc: Incident, item: ActionItem, now: datetime, key: str, headline: str, reason: str
) -> Notice:
    """A notice to the item's owner, as a person."""
    return wording.notice(
        inc,
        now,
        key,
        NoticeKind.ACTION_ITEM,
        item.owner,
        headline,
        reason=reason,
        message=item_line(item),
        to=Audience.PEOPLE,
    )


def item_line(item: ActionItem) -> str:
    """``#3 (P1, due 2026-12-10 09:00 UTC): add disk alerts``."""
    due = f"due {item.due:%Y-%m-%d %H:%M} UTC" if item.due else "backlog, no due date"
    return f"#{item.id} ({item.priority}, {due}): {item.description}"


def _ticket(
    inc: Incident, item: ActionItem, action: TicketAction, actor: str, now: datetime, seq: int
) -> TicketEvent:
    s = inc.state
    return TicketEvent(
        key=f"action_item:{item.id}:{action}:{seq}",
        incident_uid=s.uid,
        action=action,
        incident=s.human_id,
        incident_title=s.title,
        severity=s.severity.value,
        item=item.model_copy(),
        actor=actor,
        at=now,
        note=item.note,
    )


def _changed(
    inc: Incident,
    item: ActionItem,
    event: TimelineEvent,
    action: TicketAction,
    actor: str,
    now: datetime,
    fx: Effects,
) -> None:
    """What every change does: the store rewrites the item; the tracker hears of it; a new
    owner is told."""
    item.changed_seq = event.seq
    if not inc.state.runbook_rules:
        return
    fx.tickets.append(_ticket(inc, item, action, actor, now, event.seq))
    if action in ("created", "reassigned", "reopened"):
        what = {"created": "assigned to you", "reassigned": "now yours", "reopened": "reopened"}
        fx.notices.append(
            _told(
                inc,
                item,
                now,
                f"action_item:{item.id}:{action}:{event.seq}",
                f"Action item #{item.id} of {inc.state.human_id} {what[action]}",
                f"{actor} {action} it",
            )
        )


def apply_add(inc: Incident, d: AddActionItem, now: datetime, fx: Effects) -> TimelineEvent:
    event = postmortem.apply_action_item(inc, d, now, fx)
    item = inc.state.action_items[-1]
    item.assigned_at = now
    _changed(inc, item, event, "created", d.actor, now, fx)
    return event


def check_complete(inc: Incident, d: CompleteActionItem, now: datetime) -> str | None:
    item = item_by_id(inc, d.item_id)
    if item is None:
        return _missing(inc, d.item_id)
    if item.status is ActionItemStatus.DONE:
        return f"action item #{item.id} is already done ({item.completed_by})"
    return None


def apply_complete(
    inc: Incident, d: CompleteActionItem, now: datetime, fx: Effects
) -> TimelineEvent:
    item = item_by_id(inc, d.item_id)
    assert item is not None
    item.status = ActionItemStatus.DONE
    item.completed_at, item.completed_by, item.note = now, d.actor, d.note
    note = f": {d.note}" if d.note else ""
    event = timeline.add_event(
        inc, now, "action_item_done", d.actor, f"Action item #{item.id} done{note}", d.reason
    )
    _changed(inc, item, event, "completed", d.actor, now, fx)
    return event


def check_reassign(inc: Incident, d: ReassignActionItem, now: datetime) -> str | None:
    item = item_by_id(inc, d.item_id)
    if item is None:
        return _missing(inc, d.item_id)
    if item.owner == d.owner:
        return f"action item #{item.id} is already {d.owner}'s"
    return None


def apply_reassign(
    inc: Incident, d: ReassignActionItem, now: datetime, fx: Effects
) -> TimelineEvent:
    item = item_by_id(inc, d.item_id)
    assert item is not None
    was, item.owner, item.assigned_at = item.owner, d.owner, now
    event = timeline.add_event(
        inc,
        now,
        "action_item_reassigned",
        d.actor,
        f"Action item #{item.id} reassigned to {d.owner} (was {was})",
        d.reason,
    )
    _changed(inc, item, event, "reassigned", d.actor, now, fx)
    return event


def check_reopen(inc: Incident, d: ReopenActionItem, now: datetime) -> str | None:
    item = item_by_id(inc, d.item_id)
    if item is None:
        return _missing(inc, d.item_id)
    if item.status is ActionItemStatus.OPEN:
        return f"action item #{item.id} is still open"
    if not d.reason:
        return "say why the action item is reopened (reason)"
    return None


def apply_reopen(inc: Incident, d: ReopenActionItem, now: datetime, fx: Effects) -> TimelineEvent:
    item = item_by_id(inc, d.item_id)
    assert item is not None
    item.status, item.assigned_at = ActionItemStatus.OPEN, now
    item.completed_at = item.completed_by = None
    event = timeline.add_event(
        inc, now, "action_item_reopened", d.actor, f"Action item #{item.id} reopened", d.reason
    )
    _changed(inc, item, event, "reopened", d.actor, now, fx)
    return event


# --- reminders ---------------------------------------------------------------------------


def _stem(item: ActionItem) -> str:
    """Keys of one owner's spell with the item: a reassignment or reopening starts anew."""
    assigned = item.assigned_at or item.created_at
    return f"action_item:{item.id}:{assigned.isoformat()}"


def plan(inc: Incident) -> list[PendingTimer]:
    """For each open item with a due date: the reminder ``remind_before`` it, then the
    overdue reminders at it and every ``overdue_every`` after, until it is done (after close
    too, in the incident's follow-up)."""
    s = inc.state
    if not s.runbook_rules or (s.phase is Phase.CLOSED and not inc.after_close):
        return []
    rule = inc.policy.action_items
    taken = set(s.steps_taken)
    timers = []
    for item in open_items(inc):
        if item.due is None:
            continue
        stem = _stem(item)
        start = item.assigned_at or item.created_at
        soon = item.due - rule.remind_before
        if soon > start and f"{stem}:soon" not in taken:
            timers.append(
                PendingTimer(
                    key=f"{stem}:soon",
                    kind=TimerKind.ACTION_ITEM_DUE,
                    ref=item.id,
                    due=soon,
                    summary=f"remind {item.owner}: action item #{item.id} is due soon",
                )
            )
            continue
        n = sum(1 for k in taken if k.startswith(f"{stem}:overdue:"))
        timers.append(
            PendingTimer(
                key=f"{stem}:overdue:{n}",
                kind=TimerKind.ACTION_ITEM_DUE,
                ref=item.id,
                due=item.due + n * rule.overdue_every,
                summary=f"remind {item.owner}: action item #{item.id} is overdue",
            )
        )
    return timers


def remind(inc: Incident, timer: PendingTimer, now: datetime) -> Effects:
    """Remind the owner of an item due soon or overdue."""
    s = inc.state
    s.steps_taken.append(timer.key)
    item = item_by_id(inc, timer.ref or 0)
    if item is None or item.status is not ActionItemStatus.OPEN or item.due is None:
        return Effects()
    if timer.key.endswith(":soon"):
        when = f"due in {spoken_duration(item.due - now)}"
    else:
        when = f"overdue by {spoken_duration(now - item.due)}" if now > item.due else "due now"
    timeline.add_event(
        inc,
        now,
        "action_item_reminder",
        wording.SYSTEM,
        f"Reminded {item.owner}: action item #{item.id} {when}",
    )
    notice = _told(
        inc,
        item,
        now,
        timer.key,
        f"Action item #{item.id} of {s.human_id} {when}",
        f"{item.priority} action items are due {spoken_duration(item.due - item.created_at)} "
        "after they are created",
    )
    return Effects(notices=[notice])
