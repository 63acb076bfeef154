"""How the incident says things: times, durations, reasons, headlines, and the notices it sends."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from incident.containment import ActionState, ContainmentAction
from incident.durations import format_duration, spoken_duration
from incident.escalation import Audience
from incident.models import Role
from incident.notices import Notice, NoticeKind, audience_of
from incident.policy import EscalationStep, LadderKind
from incident.rules import views

if TYPE_CHECKING:
    from incident.lifecycle import Incident

SYSTEM = "warroom"
"""The actor of what the incident does by itself."""

INCIDENT_CHANNEL = "Incident channel"

STAKEHOLDERS = "Stakeholders"

EXECUTIVES = "Executive leadership"


def utc(moment: datetime) -> str:
    """``14:05 UTC``: a time of day as the timeline and notices say it."""
    return moment.strftime("%H:%M UTC")


def until(moment: datetime, now: datetime) -> str:
    """``14:32 UTC (in 48 min)``: when something falls due, as a person reads it at ``now``.

    Another day's moment carries its date (``2026-12-10 16:50 UTC (in 6 d 23 h)``), one
    already past says how long ago (``14:32 UTC (3 min ago)``)."""
    when = utc(moment) if moment.date() == now.date() else f"{moment:%Y-%m-%d %H:%M} UTC"
    if moment > now:
        return f"{when} (in {spoken_duration(moment - now)})"
    return f"{when} ({spoken_duration(now - moment)} ago)" if moment < now else f"{when} (now)"


def action_state(action: ContainmentAction) -> str:
    """``in force``, or ``undo failing (2 attempts): <why>`` when its undo keeps failing."""
    if action.state is ActionState.COMPENSATING and action.compensation_attempts:
        return f"undo failing ({action.compensation_attempts} attempts): {action.detail}"
    return action.state.value.replace("_", " ")


def step_summary(inc: Incident, step: EscalationStep) -> str:
    """What a step of the ladder will do, for its timer's summary."""
    if step.after == timedelta(0):
        return f"page {step.target} via {step.contact}"
    if step.ladder is LadderKind.PAGING:
        return f"page {step.target} via {step.contact} if still unacknowledged"
    return f"escalate to {step.target} via {step.contact} if still unresolved"


def elapsed(inc: Incident, delta: timedelta) -> str:
    """How long something took, as this incident's timeline writes it: a time read off a
    clock below a second is ``less than 1s``, never ``0.874914s``."""
    if inc.state.whole_seconds and timedelta(0) < delta < timedelta(seconds=1):
        return "less than 1s"
    return format_duration(delta, whole_seconds=inc.state.whole_seconds)


def response_text(inc: Incident) -> str:
    """The acknowledgement deadline in words: ``15m`` or ``the next business day``."""
    response = inc.rule.response_time
    return format_duration(response) if isinstance(response, timedelta) else "the next business day"


def ladder_reason(inc: Incident, step: EscalationStep, now: datetime) -> str:
    """Why a step of the ladder pages now."""
    s = inc.state
    open_for = elapsed(inc, now - s.declared_at)
    if step.after == timedelta(0):
        return f"new {s.severity} incident"
    if step.ladder is LadderKind.PAGING:
        return f"{s.severity} not acknowledged after {open_for}"
    return f"{s.severity} unresolved after {open_for}"


def approver_titles(inc: Incident) -> list[str]:
    """Who may approve containment, as people say it."""
    return [Role(r).title.lower() for r in inc.policy.containment.approvers]


def notice(
    inc: Incident,
    now: datetime,
    key: str,
    kind: NoticeKind,
    audience: str,
    headline: str,
    *,
    contact: str | None = None,
    reason: str | None = None,
    message: str | None = None,
    automatic: bool = False,
    to: Audience | None = None,
    level: int | None = None,
    person: str | None = None,
    rule: int | None = None,
) -> Notice:
    """A notice about this incident, carrying its brief as of ``now``; ``to`` defaults to
    the audience of its kind."""
    return Notice(
        key=key,
        incident_uid=inc.state.uid,
        kind=kind,
        audience=audience,
        to=to or audience_of(kind),
        level=level,
        person=person,
        rule=rule,
        contact=contact,
        headline=headline,
        reason=reason,
        message=message,
        automatic=automatic,
        at=now,
        incident=views.brief(inc, now),
    )
