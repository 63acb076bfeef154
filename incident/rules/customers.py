"""Customer communication: the runbooks' templates, the deadline for the first update and the
status-page cadence after it, and how each service looks to customers.

A customer update is written for customers: it is the template for where the
incident stands, or a person's own words, and never anything from the internal
timeline. A due update reminds the incident channel; ``escalate_after`` later
the communications lead is paged.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from incident import bounds
from incident.durations import spoken_duration
from incident.escalation import Audience
from incident.impact import ComponentImpact, CustomerStage
from incident.models import (
    CustomerUpdate,
    PendingTimer,
    Phase,
    PostCustomerUpdate,
    Role,
    Status,
    TimelineEvent,
    TimerKind,
)
from incident.notices import Notice, NoticeKind
from incident.rules import timeline, wording
from incident.rules.effects import Effects

if TYPE_CHECKING:
    from incident.lifecycle import Incident

COMMUNICATIONS_LEAD = "Communications lead"
"""The directory position paged for an overdue update while nobody holds the role."""

PROGRESS_WORDS = {
    Status.INVESTIGATING: "we are still looking for the cause",
    Status.IDENTIFIED: "we have found the cause and are working on a fix",
    Status.MONITORING: "a fix is in place and we are watching the service recover",
    Status.RESOLVED: "the service has recovered",
}


def stage(inc: Incident) -> CustomerStage:
    """Which template fits now: initial, then progress, then resolution once resolved."""
    s = inc.state
    if not s.phase.is_open:
        return CustomerStage.RESOLUTION
    return CustomerStage.PROGRESS if s.customer_updates else CustomerStage.INITIAL


def impact(inc: Incident) -> ComponentImpact:
    """How the incident's service looks to customers now: operational once resolved, else what
    the last update said, else the severity's default."""
    s = inc.state
    if not s.phase.is_open:
        return ComponentImpact.OPERATIONAL
    if s.customer_impact is not None:
        return s.customer_impact
    return inc.policy.customers.impact.get(s.severity, ComponentImpact.OPERATIONAL)


def draft(inc: Incident, now: datetime, which: CustomerStage | None = None) -> str:
    """The policy's template for ``which`` stage (default: the one that fits now), filled in."""
    s = inc.state
    rule = inc.policy.customers
    template = getattr(rule.templates, (which or stage(inc)).value)
    ended = s.resolved_at or now
    every = rule.update_every.get(s.severity)
    return str(
        template.format_map(
            {
                "service": s.service or "our service",
                "started": wording.utc(s.declared_at),
                "ended": wording.utc(ended),
                "duration": spoken_duration(ended - s.declared_at),
                "progress": PROGRESS_WORDS[s.status],
                "next_update": f"within {spoken_duration(every)}" if every else "as we learn more",
            }
        )
    )


def due(inc: Incident) -> datetime | None:
    """When customers must next hear from the incident, or None when nothing is due: the
    first update within the severity's deadline, then on its cadence while open, and the
    resolution update once resolved (when customers heard of the incident at all)."""
    s = inc.state
    rule = inc.policy.customers
    updates = s.customer_updates
    if not s.runbook_rules or s.phase is Phase.CLOSED:
        return None
    if not s.phase.is_open:
        if not updates or updates[-1].stage is CustomerStage.RESOLUTION:
            return None
        return s.resolved_at
    if not updates:
        within = rule.first_update_within.get(s.severity)
        return s.declared_at + within if within is not None else None
    every = rule.update_every.get(s.severity)
    return updates[-1].at + every if every is not None else None


def plan(inc: Incident) -> list[PendingTimer]:
    """The reminder when a customer update falls due, and the page to the communications
    lead ``escalate_after`` later."""
    s = inc.state
    when = due(inc)
    if when is None:
        return []
    timers = []
    what = _what_is_due(inc)
    if s.customer_reminded_for != when:
        timers.append(
            PendingTimer(
                key="customer_reminder",
                kind=TimerKind.CUSTOMER_REMINDER,
                due=when,
                summary=f"remind the incident channel: {what} due",
            )
        )
    if s.customer_escalated_for != when:
        timers.append(
            PendingTimer(
                key="customer_escalation",
                kind=TimerKind.CUSTOMER_ESCALATION,
                due=when + inc.policy.customers.escalate_after,
                summary=f"page the communications lead if the {what} is still not posted",
            )
        )
    return timers


def remind(inc: Incident, timer: PendingTimer, now: datetime) -> Effects:
    """A customer update is due: say so in the incident channel."""
    s = inc.state
    when = due(inc)
    s.customer_reminded_for = when
    what = _what_is_due(inc)
    lead = s.roles.get(Role.COMMUNICATIONS_LEAD, COMMUNICATIONS_LEAD)
    text = f"{what.capitalize()} due now ({_deadline_words(inc)}); {lead} posts it"
    timeline.add_event(inc, now, "customer_reminder", wording.SYSTEM, text)
    notice = wording.notice(
        inc,
        now,
        f"customer_reminder:{timer.due.isoformat()}",
        NoticeKind.CUSTOMER_REMINDER,
        wording.INCIDENT_CHANNEL,
        f"{what.capitalize()} due for {s.human_id}",
        reason=_deadline_words(inc),
        message=draft(inc, now),
    )
    return Effects(notices=[notice])


def escalate(inc: Incident, timer: PendingTimer, now: datetime) -> Effects:
    """Still no customer update: page the communications lead (the role's holder, else the
    directory's position)."""
    s = inc.state
    when = due(inc)
    s.customer_escalated_for = when
    s.customer_reminded_for = when
    what = _what_is_due(inc)
    late = spoken_duration(inc.policy.customers.escalate_after)
    lead = s.roles.get(Role.COMMUNICATIONS_LEAD, COMMUNICATIONS_LEAD)
    text = f"{what.capitalize()} {late} overdue: paged {lead}"
    timeline.add_event(inc, now, "customer_escalation", wording.SYSTEM, text)
    notice = wording.notice(
        inc,
        now,
        f"customer_escalation:{timer.due.isoformat()}",
        NoticeKind.CUSTOMER_REMINDER,
        lead,
        f"{what.capitalize()} overdue for {s.human_id}",
        reason=f"{_deadline_words(inc)}; {late} overdue",
        message=draft(inc, now),
        to=Audience.PEOPLE,
    )
    return Effects(notices=[notice])


def prompt(inc: Incident, why: str, now: datetime) -> list[Notice]:
    """A customer notice is called for now (not on the clock): the incident channel hears
    why, with the template's draft."""
    s = inc.state
    timeline.add_event(inc, now, "customer_reminder", wording.SYSTEM, f"Tell customers now: {why}")
    return [
        wording.notice(
            inc,
            now,
            f"customer_prompt:{now.isoformat()}",
            NoticeKind.CUSTOMER_REMINDER,
            wording.INCIDENT_CHANNEL,
            f"Customer update needed now for {s.human_id}",
            reason=why,
            message=draft(inc, now),
        )
    ]


def check_update(inc: Incident, d: PostCustomerUpdate, now: datetime) -> str | None:
    if inc.state.phase is Phase.CLOSED:
        return "the incident is closed; customers were told what they were told"
    if d.impact is not None and not inc.state.phase.is_open:
        return "the incident is resolved: its service is operational again"
    return None


def apply_update(inc: Incident, d: PostCustomerUpdate, now: datetime, fx: Effects) -> TimelineEvent:
    s = inc.state
    which = stage(inc)
    message = d.message or draft(inc, now, which)
    if d.impact is not None:
        s.customer_impact = d.impact
    shown = impact(inc)
    status = Status.RESOLVED if which is CustomerStage.RESOLUTION else s.status
    event = timeline.add_event(
        inc, now, "customer_update", d.actor, f"Customer update ({shown.words}): {message}"
    )
    update = CustomerUpdate(
        seq=event.seq,
        at=now,
        actor=d.actor,
        stage=which,
        status=status,
        impact=shown,
        message=message,
    )
    s.customer_updates = [*s.customer_updates, update][-bounds.MAX_CUSTOMER_UPDATES :]
    fx.notices.append(
        wording.notice(
            inc,
            now,
            f"customer:{event.seq}",
            NoticeKind.CUSTOMER_UPDATE,
            "Customers",
            f"{s.service or s.human_id}: {status.value}",
            message=message,
            to=Audience.CUSTOMERS,
        )
    )
    return event


def sent(inc: Incident) -> bool | None:
    """Whether customers were told (the resolution checklist's item); None when the
    severity does not call for customer communication."""
    s = inc.state
    if s.customer_updates:
        return True
    if s.severity not in inc.policy.customers.first_update_within:
        return None
    return False


def _what_is_due(inc: Incident) -> str:
    which = stage(inc)
    if which is CustomerStage.RESOLUTION:
        return "final customer update"
    return "first customer update" if which is CustomerStage.INITIAL else "customer update"


def _deadline_words(inc: Incident) -> str:
    s = inc.state
    rule = inc.policy.customers
    which = stage(inc)
    if which is CustomerStage.INITIAL:
        within = rule.first_update_within.get(s.severity, timedelta(0))
        return f"{s.severity}: customers hear within {spoken_duration(within)} of declaration"
    if which is CustomerStage.RESOLUTION:
        return "Customers were told of the incident, so they hear that it is resolved"
    every = rule.update_every.get(s.severity, timedelta(0))
    return f"{s.severity}: the status page is updated every {spoken_duration(every)}"
