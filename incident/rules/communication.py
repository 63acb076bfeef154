"""The status-update cadence: updates posted by people, reminders, and automatic updates.

Each decision has a ``check_…`` (why it cannot apply now, or None) and an ``apply_…``
(what it does; returns its timeline event), taken from ``decisions.RULES``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from incident.models import (
    PendingTimer,
    PostStatusUpdate,
    Role,
    Room,
    RoomRequest,
    Status,
    TimelineEvent,
    TimerKind,
)
from incident.notices import Notice, NoticeKind
from incident.rules import deadlines, response, timeline, wording
from incident.rules.effects import Effects

if TYPE_CHECKING:
    from incident.lifecycle import Incident


def next_update_due(inc: Incident) -> datetime | None:
    """When the next status update is due, while updates are on a cadence."""
    every = inc.rule.status_update_every
    if every is None or not inc.state.phase.is_open:
        return None
    due: datetime = inc.state.last_status_update_at + every
    return due


def room_wanted(inc: Incident) -> RoomRequest | None:
    """What to open the incident's room with, when the policy gives its severity one and it
    has none yet."""
    s = inc.state
    if s.room is not None or s.severity not in inc.policy.communication.rooms_for:
        return None
    return RoomRequest(human_id=s.human_id, title=s.title, service=s.service)


def room_opened(inc: Incident, room: Room, now: datetime) -> None:
    """Keep the room: every notice from now on links it, and the timeline says so."""
    inc.state.room = room
    text = f"Room #{room.name} opened: {room.url}"
    if room.invited:
        text += "; invited " + ", ".join(room.invited)
    elif room.not_invited:
        text += f"; nobody invited: {room.not_invited}"
    timeline.add_event(inc, now, "room", wording.SYSTEM, text)


def room_not_opened(inc: Incident, problem: str, now: datetime) -> None:
    """Say why the incident has no room; it goes on without one."""
    timeline.add_event(inc, now, "room", wording.SYSTEM, f"Room not opened: {problem}")


def check_update(inc: Incident, d: PostStatusUpdate, now: datetime) -> str | None:
    if d.status is not None and inc.state.status is Status.MONITORING:
        return "the incident is monitoring recovery; reopen it to go back to " + d.status.value
    return response.open_only(inc, "post a status update")


def apply_update(inc: Incident, d: PostStatusUpdate, now: datetime, fx: Effects) -> TimelineEvent:
    if d.status is not None:
        inc.state.status = d.status
    if d.status is Status.IDENTIFIED:
        deadlines.assess_scope(inc, now)
    fx.notices += _post_update(inc, now, d.actor, d.message, automatic=False)
    return inc.state.timeline[-1]


def _post_update(
    inc: Incident, now: datetime, actor: str, message: str, *, automatic: bool
) -> list[Notice]:
    s = inc.state
    s.last_status_update_at = now
    if not automatic:  # the latest word from a person, which automatic updates repeat
        s.last_status_update = message
    label = "Automatic status update" if automatic else "Status update"
    event = timeline.add_event(
        inc, now, "status_update", actor, f"{label} ({s.status.value}): {message}"
    )
    notices = [
        wording.notice(
            inc,
            now,
            f"update:{event.seq}",
            NoticeKind.STATUS_UPDATE,
            wording.STAKEHOLDERS,
            f"{s.human_id} update: {s.status.value}",
            message=message,
            automatic=automatic,
        )
    ]
    if inc.rule.executive_brief:
        notices.append(
            wording.notice(
                inc,
                now,
                f"brief:update:{event.seq}",
                NoticeKind.EXECUTIVE_BRIEF,
                wording.EXECUTIVES,
                f"{s.severity} incident: {s.title}",
                message=message,
            )
        )
    return notices


def plan(inc: Incident) -> list[PendingTimer]:
    """The reminder before the next status update is due, and the automatic update at it."""
    due = next_update_due(inc)
    every = inc.rule.status_update_every
    if due is None or every is None:
        return []
    timers = []
    before = inc.policy.communication.reminder_before
    if inc.state.reminded_for_update_due != due and before < every:
        timers.append(
            PendingTimer(
                key="status_reminder",
                kind=TimerKind.STATUS_REMINDER,
                due=due - before,
                summary="remind the communications lead: status update due " + wording.utc(due),
            )
        )
    timers.append(
        PendingTimer(
            key="status_update",
            kind=TimerKind.STATUS_UPDATE,
            due=due,
            summary="post an automatic status update if nobody has",
        )
    )
    return timers


def remind(inc: Incident, timer: PendingTimer, now: datetime) -> Effects:
    """Remind the communications lead that a status update is due."""
    s = inc.state
    due = next_update_due(inc)
    s.reminded_for_update_due = due
    who = s.roles.get(Role.COMMUNICATIONS_LEAD, "Communications lead")
    timeline.add_event(
        inc,
        now,
        "status_update_reminder",
        wording.SYSTEM,
        f"Reminded {who}: status update due {wording.utc(due) if due else ''}",
    )
    notice = wording.notice(
        inc,
        now,
        f"status_reminder:{timer.due.isoformat()}",
        NoticeKind.STATUS_REMINDER,
        who,
        f"Status update due for {s.human_id}",
        reason="the communication cadence requires an update",
    )
    return Effects(notices=[notice])


def post_automatic_update(inc: Incident, timer: PendingTimer, now: datetime) -> Effects:
    """Nobody posted an update in time: post one that says where things stand."""
    s = inc.state
    silence = now - s.last_status_update_at
    latest = (
        f"Latest: {s.last_status_update}"
        if s.last_status_update
        else "The response team is working on it."
    )
    message = (
        f"No status update was posted in the last {wording.elapsed(inc, silence)}. "
        f"Status: {s.status.value}. " + latest
    )
    return Effects(notices=_post_update(inc, now, wording.SYSTEM, message, automatic=True))
