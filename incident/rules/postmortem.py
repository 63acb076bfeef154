"""Post-incident: postmortem deadlines and reminders, action items, close.

Each decision has a ``check_…`` (why it cannot apply now, or None) and an ``apply_…``
(what it does; returns its timeline event), taken from ``decisions.RULES``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from incident.durations import format_duration
from incident.models import (
    ActionItem,
    AddActionItem,
    Close,
    PendingTimer,
    Phase,
    Postmortem,
    PostmortemStatus,
    Role,
    Status,
    SubmitPostmortem,
    TimelineEvent,
    TimerKind,
)
from incident.notices import NoticeKind
from incident.rules import recovery, timeline, wording
from incident.rules.effects import Effects

if TYPE_CHECKING:
    from incident.lifecycle import Incident

MAX_ACTION_ITEMS = 200


def postmortem_deadlines(inc: Incident) -> tuple[datetime | None, datetime | None]:
    """When the postmortem must be scheduled and completed (None before resolution)."""
    rule = inc.rule.postmortem
    resolved = inc.state.resolved_at
    if resolved is None or rule.schedule_within is None or rule.complete_within is None:
        return None, None
    return resolved + rule.schedule_within, resolved + rule.complete_within


def close(inc: Incident, now: datetime, actor: str, reason: str | None) -> TimelineEvent:
    """Close the incident for good."""
    inc.state.phase = Phase.CLOSED
    inc.state.closed_at = now
    return timeline.add_event(inc, now, "closed", actor, "Closed", reason)


def check_postmortem(inc: Incident, d: SubmitPostmortem, now: datetime) -> str | None:
    if inc.state.phase not in (Phase.RESOLVED, Phase.POST_INCIDENT):
        return f"the postmortem comes after resolution: {_not_resolved(inc, now)}"
    if d.status is PostmortemStatus.SCHEDULED and d.scheduled_for is None:
        return "a scheduled postmortem needs scheduled_for"
    return None


def apply_postmortem(
    inc: Incident, d: SubmitPostmortem, now: datetime, fx: Effects
) -> TimelineEvent:
    s = inc.state
    previous = s.postmortem
    s.postmortem = Postmortem(
        status=d.status,
        submitted_at=now,
        submitted_by=d.actor,
        scheduled_for=d.scheduled_for or (previous.scheduled_for if previous else None),
        document_url=d.document_url or (previous.document_url if previous else None),
        summary=d.summary or (previous.summary if previous else ""),
        contributing_factors=d.contributing_factors
        or (previous.contributing_factors if previous else []),
        lessons=d.lessons or (previous.lessons if previous else []),
        whys=d.whys or (previous.whys if previous else []),
        went_well=d.went_well or (previous.went_well if previous else []),
        to_improve=d.to_improve or (previous.to_improve if previous else []),
        revenue_impact=d.revenue_impact or (previous.revenue_impact if previous else None),
        reputation_impact=d.reputation_impact or (previous.reputation_impact if previous else None),
        owner=d.owner or (previous.owner if previous else None),
    )
    when = f" for {d.scheduled_for:%Y-%m-%d %H:%M} UTC" if d.scheduled_for else ""
    event = timeline.add_event(
        inc, now, "postmortem", d.actor, f"Postmortem {d.status.value}{when}", d.reason
    )
    if d.status is PostmortemStatus.FINAL and s.phase is Phase.POST_INCIDENT:
        close(inc, now, wording.SYSTEM, "postmortem final")
    return event


def check_action_item(inc: Incident, d: AddActionItem, now: datetime) -> str | None:
    if len(inc.state.action_items) >= MAX_ACTION_ITEMS:
        return f"at most {MAX_ACTION_ITEMS} action items per incident"
    return None


def apply_action_item(inc: Incident, d: AddActionItem, now: datetime, fx: Effects) -> TimelineEvent:
    s = inc.state
    due = inc.policy.action_item_due(d.priority, now)
    item = ActionItem(
        id=len(s.action_items) + 1,
        description=d.description,
        owner=d.owner,
        priority=d.priority,
        created_at=now,
        due=due,
    )
    s.action_items.append(item)
    by = f"due {due:%Y-%m-%d}" if due else "backlog"
    return timeline.add_event(
        inc,
        now,
        "action_item",
        d.actor,
        f"Action item #{item.id} ({d.priority}, {d.owner}, {by}): {d.description}",
        d.reason,
    )


def check_close(inc: Incident, d: Close, now: datetime) -> str | None:
    s = inc.state
    needs_postmortem = _needs_final_postmortem(inc)
    if s.phase.is_open:
        then = (
            f"; the {s.severity} also needs a final postmortem"
            if needs_postmortem
            else f"; a {s.severity} closes by itself once resolved"
        )
        return f"cannot close yet: {_not_resolved(inc, now)}{then}"
    pm = s.postmortem
    if needs_postmortem and (pm is None or pm.status is not PostmortemStatus.FINAL):
        state = pm.status.value if pm else "not started"
        _, complete_by = postmortem_deadlines(inc)
        due = f", due by {wording.until(complete_by, now)}" if complete_by else ""
        return (
            f"cannot close yet: a {s.severity} incident needs a final postmortem before it "
            f"closes (postmortem: {state}{due}); submitting it final closes the incident"
        )
    return None


def _needs_final_postmortem(inc: Incident) -> bool:
    """Whether this severity waits for a final postmortem to close (P3/P4 close on resolution)."""
    return inc.rule.postmortem.required and not inc.rule.close_on_resolve


def _not_resolved(inc: Incident, now: datetime) -> str:
    """What an open incident still waits for before it is resolved, and until when."""
    s = inc.state
    if s.status is Status.MONITORING:
        return recovery.watching(inc, now)
    window = format_duration(inc.policy.recovery.quiet_window)
    return (
        f"it is still {s.status.value}; resolve it with the root cause, then recovery is "
        f"watched for {window}"
    )


def apply_close(inc: Incident, d: Close, now: datetime, fx: Effects) -> TimelineEvent:
    return close(inc, now, d.actor, d.reason)


def plan(inc: Incident) -> list[PendingTimer]:
    """Reminders to schedule the postmortem and to make it final, by the policy's deadlines."""
    s = inc.state
    if s.phase is not Phase.POST_INCIDENT:
        return []
    timers = []
    fired = set(s.steps_taken)
    schedule_by, complete_by = postmortem_deadlines(inc)
    if schedule_by and s.postmortem is None and "postmortem_schedule" not in fired:
        timers.append(
            PendingTimer(
                key="postmortem_schedule",
                kind=TimerKind.POSTMORTEM_REMINDER,
                due=schedule_by,
                summary="remind the commander: the postmortem is not scheduled yet",
            )
        )
    final = s.postmortem is not None and s.postmortem.status is PostmortemStatus.FINAL
    if complete_by and not final and "postmortem_complete" not in fired:
        timers.append(
            PendingTimer(
                key="postmortem_complete",
                kind=TimerKind.POSTMORTEM_REMINDER,
                due=complete_by,
                summary="remind the commander: the postmortem is due to be final",
            )
        )
    return timers


def remind(inc: Incident, timer: PendingTimer, now: datetime) -> Effects:
    """A postmortem deadline passed: remind the commander."""
    s = inc.state
    s.steps_taken.append(timer.key)
    what = "scheduled" if timer.key == "postmortem_schedule" else "final"
    commander = s.roles.get(Role.INCIDENT_COMMANDER, "Incident commander")
    timeline.add_event(
        inc,
        now,
        "postmortem_reminder",
        wording.SYSTEM,
        f"Postmortem reminder to {commander}: it should be {what} by now",
    )
    notice = wording.notice(
        inc,
        now,
        timer.key,
        NoticeKind.POSTMORTEM_REMINDER,
        commander,
        f"Postmortem for {s.human_id} is due to be {what}",
        reason=f"{s.severity} postmortem deadline reached",
    )
    return Effects(notices=[notice])
