"""Every timer an incident waits on, and the one handler of each kind.

Each concern plans its own timers (``plan``) and says what happens when one
falls due; this module puts them in order and dispatches a due timer to its
handler by kind. A kind without a handler is an error, never a timer that
fires again and again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from incident.models import PendingTimer, TimerKind
from incident.rules import (
    action_items,
    communication,
    customers,
    deadlines,
    paging,
    postmortem,
    reach,
    recovery,
    saga,
    verification,
)
from incident.rules.effects import Effects

if TYPE_CHECKING:
    from incident.lifecycle import Incident

Planner = Callable[["Incident"], list[PendingTimer]]
Handler = Callable[["Incident", PendingTimer, datetime], Effects]

PLANNERS: tuple[Planner, ...] = (
    paging.plan,
    reach.plan,
    communication.plan,
    customers.plan,
    deadlines.plan,
    recovery.plan,
    saga.plan,
    verification.plan,
    postmortem.plan,
    action_items.plan,
)
HANDLERS: dict[TimerKind, Handler] = {
    TimerKind.ESCALATION: paging.escalation_due,
    TimerKind.ACK_DEADLINE: paging.ack_deadline_missed,
    TimerKind.RESOLUTION_TARGET: paging.resolution_target_breached,
    TimerKind.STATUS_REMINDER: communication.remind,
    TimerKind.STATUS_UPDATE: communication.post_automatic_update,
    TimerKind.RECOVERY_CHECK: recovery.check_recovery,
    TimerKind.APPROVAL_DUE: saga.approval_overdue,
    TimerKind.UNDO_RETRY: saga.retry_undo,
    TimerKind.POSTMORTEM_REMINDER: postmortem.remind,
    TimerKind.PAGE: reach.page_due,
    TimerKind.FOLLOW_UP: reach.follow_up_due,
    TimerKind.CUSTOMER_REMINDER: customers.remind,
    TimerKind.CUSTOMER_ESCALATION: customers.escalate,
    TimerKind.ACTION_ITEM_DUE: action_items.remind,
    TimerKind.ROLLBACK_CHECK: verification.check_due,
    TimerKind.DEADLINE_REMINDER: deadlines.remind,
    TimerKind.DEADLINE_ESCALATION: deadlines.escalate,
    TimerKind.UNRESOLVED_ESCALATION: paging.unresolved_due,
}


def pending(inc: Incident) -> list[PendingTimer]:
    """Every timer the incident is waiting on, soonest first (after close: its action items')."""
    planners = (action_items.plan,) if inc.after_close else PLANNERS
    timers = [timer for plan in planners for timer in plan(inc)]
    return sorted(timers, key=lambda t: (t.due, t.key))


def timer_due(inc: Incident, timer: PendingTimer, now: datetime) -> Effects:
    """Do what a due timer is for."""
    handler = HANDLERS.get(timer.kind)
    if handler is None:
        raise ValueError(f"no handler for timers of kind {timer.kind!r}")
    return handler(inc, timer, now)
