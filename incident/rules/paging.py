"""Paging and escalation: the response ladder, the acknowledgement deadline, the resolution
target, and immediate-escalation flags.

Each decision has a ``check_…`` (why it cannot apply now, or None) and an ``apply_…``
(what it does; returns its timeline event), taken from ``decisions.RULES``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from incident.durations import format_duration
from incident.escalation import Audience
from incident.models import (
    Escalate,
    PendingTimer,
    RaisedFlag,
    RaiseFlag,
    Role,
    Status,
    TimelineEvent,
    TimerKind,
)
from incident.notices import Notice, NoticeKind
from incident.policy import LadderKind
from incident.rules import reach, regrade, response, saga, timeline, wording
from incident.rules.effects import Effects

if TYPE_CHECKING:
    from incident.lifecycle import Incident


def _step_key(inc: Incident, index: int) -> str:
    return f"escalation:{inc.state.severity}:{index}"


def escalate(
    inc: Incident,
    now: datetime,
    key: str,
    target: str,
    contact: str | None,
    reason: str,
    *,
    record: bool = True,
    to: Audience = Audience.PEOPLE,
) -> Notice:
    """Page ``target`` through ``contact``: the notice (and a timeline line unless told not to).

    ``target`` is a position or a person the directory knows ("VP Engineering"), or, for
    the severity's own paging steps (``to`` on-call), the on-call rotation."""
    via = f" via {contact}" if contact else ""
    if record:
        timeline.add_event(
            inc, now, "escalated", wording.SYSTEM, f"Escalated to {target}{via}: {reason}"
        )
    return wording.notice(
        inc,
        now,
        key,
        NoticeKind.ESCALATION,
        target,
        f"{inc.state.severity} {inc.state.human_id}: {reason}",
        contact=contact,
        reason=reason,
        to=to,
    )


def check_flag(inc: Incident, d: RaiseFlag, now: datetime) -> str | None:
    triggers = inc.policy.escalation_triggers
    if d.flag not in triggers:
        return f"unknown flag {d.flag!r}; known flags: {', '.join(sorted(triggers))}"
    if any(f.flag == d.flag for f in inc.state.flags):
        return f"flag {d.flag!r} is already raised"
    above = triggers[d.flag].above
    if above is not None and d.amount is None:
        return f"flag {d.flag!r} needs the amount: it escalates above {above:,.0f}"
    if above is not None and d.amount is not None and d.amount <= above:
        return (
            f"{d.amount:,.0f} is not above the {above:,.0f} that makes {d.flag!r} escalate; "
            "add a note instead"
        )
    return response.open_only(inc, "raise a flag")


def apply_flag(inc: Incident, d: RaiseFlag, now: datetime, fx: Effects) -> TimelineEvent:
    s = inc.state
    trigger = inc.policy.escalation_triggers[d.flag]
    s.flags.append(
        RaisedFlag(flag=d.flag, label=trigger.label, at=now, actor=d.actor, reason=d.reason)
    )
    amount = f" ({d.amount:,.0f})" if d.amount is not None else ""
    event = timeline.add_event(
        inc,
        now,
        "flag_raised",
        d.actor,
        f"{trigger.label}{amount}: immediate escalation to {', '.join(trigger.notify)}",
        d.reason,
    )
    reason = f"{trigger.label}{amount} (raised by {d.actor})"
    if trigger.severity is not None:
        why = f"{trigger.label}: at least {trigger.severity} by policy"
        regrade.raise_to(inc, now, d.actor, trigger.severity, why, fx)
    _contain(inc, d, now, fx)
    for target in trigger.notify:
        fx.notices.append(
            escalate(inc, now, f"flag:{d.flag}:{target}", target, None, reason, record=False)
        )
    if trigger.jump_ladder:
        for index, step in enumerate(inc.rule.escalation):
            key = _step_key(inc, index)
            if key not in s.steps_taken and step.ladder is LadderKind.MANAGEMENT:
                s.steps_taken.append(key)
                fx.notices.append(
                    escalate(inc, now, key, step.target, step.contact, f"{reason}: ladder jumped")
                )
    return event


def _contain(inc: Incident, d: RaiseFlag, now: datetime, fx: Effects) -> None:
    """Propose the containment the flag's trigger calls for, against the incident's org."""
    kinds = inc.policy.escalation_triggers[d.flag].contain
    if not kinds:
        return
    org = inc.state.org
    if org is None:
        timeline.add_event(
            inc,
            now,
            "containment_not_proposed",
            wording.SYSTEM,
            f"Not proposed ({', '.join(k.label for k in kinds)}): the incident names no org; "
            "propose it by hand with the org to act on",
        )
        return
    for kind in kinds:
        reason = f"{inc.policy.escalation_triggers[d.flag].label}: contain at once"
        saga.propose(inc, now, wording.SYSTEM, kind, org, {}, reason, fx)


def plan(inc: Incident) -> list[PendingTimer]:
    """The acknowledgement deadline, the ladder's steps still to come, the resolution target,
    and seed 002's matrix for an incident still unresolved."""
    s = inc.state
    if not s.phase.is_open:
        return []
    timers: list[PendingTimer] = []
    fired = set(s.steps_taken)
    acked = s.acknowledged_at is not None
    calm = s.status is Status.MONITORING
    if not acked and "ack_deadline" not in fired:
        paged = [st.target for st in inc.rule.escalation if st.ladder is LadderKind.PAGING]
        if s.paging is not None:
            paged = [f"the {s.paging.policy} levels paged so far"]
        who = ", ".join(paged) or "the on-call rotation"
        timers.append(
            PendingTimer(
                key="ack_deadline",
                kind=TimerKind.ACK_DEADLINE,
                due=inc.ack_due(),
                summary=f"re-page {who} if nobody has acknowledged",
            )
        )
    for index, step in enumerate(inc.rule.escalation):
        key = _step_key(inc, index)
        if key in fired:
            continue
        if step.ladder is LadderKind.PAGING and (acked or s.paging is not None):
            continue  # the service's escalation policy pages instead, when it has one
        if step.ladder is LadderKind.PAGING and reach.pages_nobody(inc):
            continue
        if step.ladder is LadderKind.MANAGEMENT and calm:
            continue
        timers.append(
            PendingTimer(
                key=key,
                kind=TimerKind.ESCALATION,
                ref=index,
                due=reach.reachable(inc, s.declared_at + step.after),
                summary=wording.step_summary(inc, step),
            )
        )
    if "resolution_target" not in fired and not calm:
        target = inc.rule.resolution_target
        timers.append(
            PendingTimer(
                key="resolution_target",
                kind=TimerKind.RESOLUTION_TARGET,
                due=reach.reachable(inc, s.declared_at + target),
                summary=f"flag the {format_duration(target)} resolution target as breached",
            )
        )
    if s.runbook_rules and not calm:
        for index, unresolved in enumerate(inc.policy.unresolved_escalation.get(s.severity, [])):
            key = _unresolved_key(inc, index)
            if key in fired:
                continue
            timers.append(
                PendingTimer(
                    key=key,
                    kind=TimerKind.UNRESOLVED_ESCALATION,
                    ref=index,
                    due=reach.reachable(inc, s.declared_at + unresolved.after),
                    summary=f"bring in {unresolved.target} to {unresolved.action} "
                    "if still unresolved",
                )
            )
    return timers


def _unresolved_key(inc: Incident, index: int) -> str:
    return f"unresolved:{inc.state.severity}:{index}"


def unresolved_due(inc: Incident, timer: PendingTimer, now: datetime) -> Effects:
    """Seed 002's matrix: still unresolved this long, bring its target in with its request."""
    s = inc.state
    s.steps_taken.append(timer.key)
    assert timer.ref is not None
    step = inc.policy.unresolved_escalation[s.severity][timer.ref]
    reason = (
        f"{s.severity} unresolved after {wording.elapsed(inc, now - s.declared_at)}: {step.action}"
    )
    return Effects(notices=[escalate(inc, now, timer.key, step.target, step.contact, reason)])


def escalation_due(
    inc: Incident, timer: PendingTimer, now: datetime, why: str | None = None
) -> Effects:
    """A step of the ladder is due (or ``why`` it is taken early): page its target."""
    inc.state.steps_taken.append(timer.key)
    # Timers planned before ``ref`` existed name their step only in their key.
    index = timer.ref if timer.ref is not None else int(timer.key.rsplit(":", 1)[1])
    step = inc.rule.escalation[index]
    reason = why or wording.ladder_reason(inc, step, now)
    to = Audience.ON_CALL if step.ladder is LadderKind.PAGING else Audience.PEOPLE
    return Effects(
        notices=[escalate(inc, now, timer.key, step.target, step.contact, reason, to=to)]
    )


def ack_deadline_missed(inc: Incident, timer: PendingTimer, now: datetime) -> Effects:
    """Nobody acknowledged in time: say so and page again whoever has been paged so far."""
    s = inc.state
    s.steps_taken.append(timer.key)
    reason = f"{s.severity} not acknowledged within {wording.response_text(inc)}"
    timeline.add_event(
        inc,
        now,
        "ack_deadline_missed",
        wording.SYSTEM,
        f"Acknowledgement deadline missed: {reason}",
    )
    effects = Effects(notices=reach.repage(inc, now, reason))
    for index, step in enumerate(inc.rule.escalation):
        if s.paging is not None:
            break
        # Later rungs keep their own time.
        if step.ladder is LadderKind.PAGING and s.declared_at + step.after <= now:
            effects.notices.append(
                escalate(
                    inc,
                    now,
                    f"ack_deadline:{index}",
                    step.target,
                    step.contact,
                    reason,
                    record=False,
                    to=Audience.ON_CALL,
                )
            )
    return effects


def resolution_target_breached(inc: Incident, timer: PendingTimer, now: datetime) -> Effects:
    """The severity's resolution target passed: say so and tell the commander."""
    s = inc.state
    s.steps_taken.append(timer.key)
    reason = (
        f"{s.severity} unresolved after its {format_duration(inc.rule.resolution_target)} target"
    )
    timeline.add_event(
        inc,
        now,
        "resolution_target_breached",
        wording.SYSTEM,
        f"Resolution target breached: {reason}",
    )
    commander = s.roles.get(Role.INCIDENT_COMMANDER, "Incident commander")
    return Effects(notices=[escalate(inc, now, timer.key, commander, None, reason, record=False)])


def _next_step(inc: Incident) -> PendingTimer | None:
    """The next page of the service's policy not sent yet, or, without one, the severity
    ladder's next step: what an escalation brings forward."""
    s = inc.state
    taken = set(s.steps_taken)
    if s.paging is not None:
        levels = len(s.paging.levels)
        for round_, index, after in s.paging.steps():
            if reach.page_key(round_, index) not in taken:
                return PendingTimer(
                    key=reach.page_key(round_, index),
                    kind=TimerKind.PAGE,
                    ref=round_ * levels + index,
                    due=s.declared_at + after,
                    summary=f"page level {index + 1}: {reach.targets(inc, round_, index)}",
                )
        return None
    for index, step in enumerate(inc.rule.escalation):
        key = f"escalation:{s.severity}:{index}"
        if key not in taken:
            return PendingTimer(
                key=key,
                kind=TimerKind.ESCALATION,
                ref=index,
                due=s.declared_at + step.after,
                summary=wording.step_summary(inc, step),
            )
    return None


def check_escalate(inc: Incident, d: Escalate, now: datetime) -> str | None:
    if not inc.state.phase.is_open:
        return f"cannot escalate once the incident is {inc.state.phase.value}"
    if _next_step(inc) is None:
        return "every level has been paged already; page someone by name with a flag or a role"
    return None


def apply_escalate(inc: Incident, d: Escalate, now: datetime, fx: Effects) -> TimelineEvent:
    step = _next_step(inc)
    assert step is not None
    event = timeline.add_event(
        inc, now, "escalation_requested", d.actor, f"Escalated now: {step.summary}", d.reason
    )
    due = reach.page_due if step.kind is TimerKind.PAGE else escalation_due
    why = f"escalated by {d.actor}" + (f": {d.reason}" if d.reason else "")
    fx.notices += due(inc, step, now, why).notices
    return event
