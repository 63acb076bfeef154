"""Reaching people: the service's escalation policy level by level, each paged person's
follow-up contact methods, and who a page reached.

Who is on call is not decided here: a page names a level of the service's
policy, and the notify activity looks up who is on call for it when the page
goes out, so a handoff between two levels pages the new person. Everything here
stops once someone acknowledges.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from incident.escalation import Audience, FollowUp, PagingPlan
from incident.models import PendingTimer, TimerKind
from incident.notices import DeliveryReport, Notice, NoticeKind
from incident.policy import LadderKind
from incident.rules import timeline, wording
from incident.rules.effects import Effects

if TYPE_CHECKING:
    from incident.lifecycle import Incident

ALL_ON_CALL = "All on-call"
"""The policy's word for every on-call schedule of the service's team (seed 000's P0)."""


def page_key(round_: int, level: int) -> str:
    """The key of a level's page in one run through the policy."""
    return f"page:{round_}:{level}"


def reachable(inc: Incident, due: datetime) -> datetime:
    """When a page planned for ``due`` may go out: then, or, for a severity whose on-call
    requirement is business hours (a P3 by default), when business hours next start."""
    if inc.state.runbook_rules and inc.rule.pages_in_business_hours_only:
        return inc.policy.business_hours.open_at(due)
    return due


def pages_nobody(inc: Incident) -> bool:
    """Whether the severity's on-call requirement is none (a P4 by default)."""
    return inc.state.runbook_rules and inc.rule.pages_nobody


def plan(inc: Incident) -> list[PendingTimer]:
    """The levels still to page and the follow-ups still due, until someone acknowledges."""
    s = inc.state
    if s.paging is None or not s.phase.is_open or s.acknowledged_at is not None:
        return []
    if pages_nobody(inc):
        return []
    timers = []
    taken = set(s.steps_taken)
    levels = len(s.paging.levels)
    for round_, index, after in s.paging.steps():
        key = page_key(round_, index)
        if key in taken:
            continue
        again = f" (round {round_ + 1})" if round_ else ""
        timers.append(
            PendingTimer(
                key=key,
                kind=TimerKind.PAGE,
                ref=round_ * levels + index,
                due=reachable(inc, s.declared_at + after),
                summary=f"page level {index + 1}{again}: {targets(inc, round_, index)}",
            )
        )
    for follow_up in s.follow_ups:
        timers.append(
            PendingTimer(
                key=follow_up.key,
                kind=TimerKind.FOLLOW_UP,
                due=reachable(inc, follow_up.due),
                summary=f"reach {follow_up.name} by {follow_up.via} unless acknowledged",
            )
        )
    return timers


def targets(inc: Incident, round_: int, index: int) -> str:
    """Who a level pages in a round, as people read it."""
    plan = inc.state.paging
    assert plan is not None
    if round_ == 0 and index == 0 and _all_hands(inc):
        return f"{ALL_ON_CALL} and {plan.levels[0].targets}"
    return plan.levels[index].targets


def _all_hands(inc: Incident) -> bool:
    """Whether the severity's ladder pages every on-call schedule first (a P0)."""
    paging = [s for s in inc.rule.escalation if s.ladder is LadderKind.PAGING]
    return bool(paging) and paging[0].target == ALL_ON_CALL


def level_notice(inc: Incident, now: datetime, key: str, index: int, reason: str) -> Notice:
    """A page to level ``index`` of the service's policy: the notify activity finds who."""
    s = inc.state
    plan = s.paging
    assert plan is not None
    first = index == 0 and not any(k.startswith("page:") for k in s.steps_taken if k != key)
    audience = ALL_ON_CALL if first and _all_hands(inc) else f"level {index + 1}"
    return wording.notice(
        inc,
        now,
        key,
        NoticeKind.ESCALATION,
        audience,
        f"{s.severity} {s.human_id}: {reason}",
        reason=reason,
        to=Audience.ON_CALL,
        level=index,
    )


def page_due(inc: Incident, timer: PendingTimer, now: datetime, why: str | None = None) -> Effects:
    """A level of the service's policy is due (or ``why`` it is paged early): page whoever
    is on call for it now."""
    s = inc.state
    plan = s.paging
    assert plan is not None and timer.ref is not None
    s.steps_taken.append(timer.key)
    round_, index = divmod(timer.ref, len(plan.levels))
    if why is not None:
        reason = why
    elif timer.ref == 0:
        reason = f"new {s.severity} incident"
    else:
        reason = f"{s.severity} not acknowledged after {wording.elapsed(inc, now - s.declared_at)}"
    again = f", round {round_ + 1}" if round_ else ""
    timeline.add_event(
        inc,
        now,
        "escalated",
        wording.SYSTEM,
        f"Paging level {index + 1}{again} ({targets(inc, round_, index)}): {reason}",
    )
    return Effects(notices=[level_notice(inc, now, timer.key, index, reason)])


def repage(inc: Incident, now: datetime, reason: str) -> list[Notice]:
    """At the acknowledgement deadline: page again every level paged so far."""
    s = inc.state
    if s.paging is None:
        return []
    paged = sorted({int(k.rsplit(":", 1)[1]) for k in s.steps_taken if k.startswith("page:")})
    return [level_notice(inc, now, f"ack_deadline:page:{i}", i, reason) for i in paged]


def follow_up_due(inc: Incident, timer: PendingTimer, now: datetime) -> Effects:
    """A paged person has not acknowledged: reach them through their next methods."""
    s = inc.state
    follow_up = next((f for f in s.follow_ups if f.key == timer.key), None)
    s.follow_ups = [f for f in s.follow_ups if f.key != timer.key]
    s.steps_taken.append(timer.key)
    if follow_up is None:
        return Effects()
    reason = f"{s.severity} still not acknowledged: {follow_up.via} next"
    notice = wording.notice(
        inc,
        now,
        follow_up.key,
        NoticeKind.ESCALATION,
        follow_up.name,
        f"{s.severity} {s.human_id}: {reason}",
        reason=reason,
        to=Audience.ON_CALL,
        person=follow_up.person,
        rule=follow_up.rule,
    )
    return Effects(notices=[notice])


def delivered(inc: Incident, notice: Notice, report: DeliveryReport, now: datetime) -> None:
    """Put who a notice reached, and how, on the timeline; plan their follow-ups."""
    s = inc.state
    for person in report.reached:
        why = f" ({person.why})" if person.why else ""
        how = "; ".join(person.methods) or "no contact method"
        verb = "Paged" if notice.to is Audience.ON_CALL else "Notified"
        timeline.add_event(
            inc,
            now,
            "paged" if notice.to is Audience.ON_CALL else "notified",
            wording.SYSTEM,
            f"{verb} {person.name}{why}: {how}",
        )
        if notice.to is not Audience.ON_CALL or notice.person is not None:
            continue
        if s.acknowledged_at is not None or not s.phase.is_open:
            continue
        for rule, after, via in person.next_rules:
            key = f"{notice.key}:{person.person}:{rule}"
            if key in s.steps_taken or any(f.key == key for f in s.follow_ups):
                continue
            s.follow_ups.append(
                FollowUp(
                    key=key,
                    person=person.person,
                    name=person.name,
                    rule=rule,
                    via=via,
                    due=notice.at + after,
                    page=notice.key,
                )
            )
    if report.nobody is not None:
        timeline.add_event(
            inc,
            now,
            "notification_failed",
            wording.SYSTEM,
            f"Nobody to reach for {notice.audience}: {report.nobody}",
        )


def use(inc: Incident, plan: PagingPlan | None, now: datetime, problem: str | None) -> None:
    """Page by ``plan`` from now on; say on the timeline how the incident pages."""
    s = inc.state
    s.paging = plan
    if plan is not None:
        text = f"Paging by {plan.service}'s escalation policy {describe(plan)}"
        text += f" (directory {plan.directory_version})"
    elif problem is not None:
        text = f"Paging by the {s.severity} ladder of the policy: {problem}"
    else:
        return
    timeline.add_event(inc, now, "paging_plan", wording.SYSTEM, text)


def stop(inc: Incident) -> None:
    """Someone acknowledged: no follow-up is due any more."""
    inc.state.follow_ups = []


def describe(plan: PagingPlan) -> str:
    """The policy in a line, for the timeline: ``platform-default: 3 levels, repeated once``."""
    repeat = {0: "", 1: ", repeated once"}.get(plan.repeat, f", repeated {plan.repeat} times")
    levels = len(plan.levels)
    return f"{plan.policy}: {levels} level{'s' if levels != 1 else ''}{repeat}"
