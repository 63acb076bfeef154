"""The runbook's deadlines counted from declaration: an incident commander named (a P0's
within 5 min by default) and the scope and impact assessed (a P1's within 15 min).

A deadline that falls due unmet reminds the incident channel; ``escalate_after``
later the deadline's position (the on-call's management by default) is paged.
A deadline met, or an incident no longer open, plans nothing. The scope counts
as assessed once a status update says the incident is identified.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from incident.durations import spoken_duration
from incident.escalation import Audience
from incident.models import PendingTimer, Role, Status, TimerKind
from incident.notices import NoticeKind
from incident.policy import RunbookDeadline
from incident.rules import paging, reach, timeline, wording
from incident.rules.effects import Effects

if TYPE_CHECKING:
    from incident.lifecycle import Incident

Which = Literal["commander", "scope"]
DEADLINES: tuple[Which, ...] = ("commander", "scope")

WHAT: dict[Which, str] = {
    "commander": "an incident commander named",
    "scope": "the scope and impact assessed",
}
MISSING: dict[Which, str] = {
    "commander": "No incident commander yet",
    "scope": "Scope and impact not assessed yet",
}


def _rule(inc: Incident, which: Which) -> RunbookDeadline:
    deadline: RunbookDeadline = getattr(inc.policy.deadlines, which)
    return deadline


def met(inc: Incident, which: Which) -> bool:
    """Whether the runbook's ask is done: a commander holds the role, or the scope was
    assessed."""
    s = inc.state
    if which == "commander":
        return Role.INCIDENT_COMMANDER in s.roles
    return s.scope_assessed_at is not None


def due(inc: Incident, which: Which) -> datetime | None:
    """When ``which`` is due for this incident's severity, or None when nothing is owed."""
    s = inc.state
    if not s.runbook_rules or not s.phase.is_open or s.status is Status.MONITORING:
        return None
    if met(inc, which):
        return None
    within = _rule(inc, which).within.get(s.severity)
    return None if within is None else s.declared_at + within


def plan(inc: Incident) -> list[PendingTimer]:
    """For each deadline still owed: the reminder when it falls due, the page after."""
    taken = set(inc.state.steps_taken)
    timers = []
    for which in DEADLINES:
        when = due(inc, which)
        if when is None:
            continue
        rule = _rule(inc, which)
        if f"deadline:{which}" not in taken:
            timers.append(
                PendingTimer(
                    key=f"deadline:{which}",
                    kind=TimerKind.DEADLINE_REMINDER,
                    due=reach.reachable(inc, when),
                    summary=f"remind the incident channel: {WHAT[which]} is due",
                )
            )
        if f"deadline:{which}:escalation" not in taken:
            timers.append(
                PendingTimer(
                    key=f"deadline:{which}:escalation",
                    kind=TimerKind.DEADLINE_ESCALATION,
                    due=reach.reachable(inc, when + rule.escalate_after),
                    summary=f"page {rule.escalate_to} if still without {WHAT[which]}",
                )
            )
    return timers


def _which(timer: PendingTimer) -> Which:
    name = timer.key.split(":")[1]
    return "commander" if name == "commander" else "scope"


def _words(inc: Incident, which: Which) -> str:
    within = _rule(inc, which).within.get(inc.state.severity)
    limit = f" within {spoken_duration(within)}" if within is not None else ""
    return f"the runbook wants {WHAT[which]}{limit} of a {inc.state.severity}'s declaration"


def remind(inc: Incident, timer: PendingTimer, now: datetime) -> Effects:
    """A deadline fell due unmet: say so in the incident channel."""
    s = inc.state
    which = _which(timer)
    s.steps_taken.append(timer.key)
    text = f"{MISSING[which]}: {_words(inc, which)}"
    timeline.add_event(inc, now, "deadline_reminder", wording.SYSTEM, text)
    notice = wording.notice(
        inc,
        now,
        timer.key,
        NoticeKind.ESCALATION,
        wording.INCIDENT_CHANNEL,
        f"{s.human_id}: {MISSING[which].lower()}",
        reason=_words(inc, which),
        to=Audience.INCIDENT,
    )
    return Effects(notices=[notice])


def escalate(inc: Incident, timer: PendingTimer, now: datetime) -> Effects:
    """Still unmet ``escalate_after`` later: page the deadline's position."""
    s = inc.state
    which = _which(timer)
    rule = _rule(inc, which)
    s.steps_taken.append(timer.key)
    if f"deadline:{which}" not in s.steps_taken:
        s.steps_taken.append(f"deadline:{which}")
    late = spoken_duration(rule.escalate_after)
    reason = f"{MISSING[which].lower()}, {late} past the deadline ({_words(inc, which)})"
    return Effects(notices=[paging.escalate(inc, now, timer.key, rule.escalate_to, None, reason)])


def assess_scope(inc: Incident, now: datetime) -> None:
    """The scope and impact are known (a status update said identified)."""
    s = inc.state
    if s.scope_assessed_at is None:
        s.scope_assessed_at = now
