"""What the incident costs and what is being done about it: the ``set_impact`` decision, and
the current actions, next steps and ETA a status update carries, and the specific ask an
escalation carries, for the notices that print them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from incident.models import (
    Escalate,
    ImpactAssessment,
    PostStatusUpdate,
    RaiseFlag,
    SetImpact,
    TimelineEvent,
)
from incident.rules import communication, paging, timeline
from incident.rules.effects import Effects

if TYPE_CHECKING:
    from incident.lifecycle import Incident

_FIELDS = ("users_affected", "traffic_percent", "revenue_impact", "data_impact", "data_loss")


def check_impact(inc: Incident, d: SetImpact, now: datetime) -> str | None:
    if all(getattr(d, name) is None for name in (*_FIELDS, "summary")):
        return (
            "say what the impact is: users affected, share of traffic, revenue impact, "
            "data impact, data loss or a summary"
        )
    return None


def apply_impact(inc: Incident, d: SetImpact, now: datetime, fx: Effects) -> TimelineEvent:
    s = inc.state
    before = s.impact_assessment
    values = {name: getattr(d, name) for name in _FIELDS}
    for name, value in values.items():
        if value is None and before is not None:
            values[name] = getattr(before, name)
    s.impact_assessment = ImpactAssessment(at=now, by=d.actor, **values)
    if d.summary:
        s.impact = d.summary
    event = timeline.add_event(
        inc, now, "impact", d.actor, f"Impact: {impact_words(inc) or d.summary}", d.reason
    )
    data_loss_flag = "data_loss" in inc.policy.escalation_triggers
    if (
        d.data_loss
        and data_loss_flag
        and s.phase.is_open
        and not any(f.flag == "data_loss" for f in s.flags)
    ):
        # The runbook escalates at once on confirmed data loss: the impact says it is.
        flag = RaiseFlag(actor=d.actor, flag="data_loss", reason="impact: data loss confirmed")
        paging.apply_flag(inc, flag, now, fx)
    return event


def impact_words(inc: Incident) -> str:
    """``users affected: 1,200 · 12% of traffic · revenue: $4k/h · no data lost``."""
    a = inc.state.impact_assessment
    return "" if a is None else describe(a)


def describe(a: ImpactAssessment) -> str:
    """An impact assessment in one line, as notices and ``warroom show`` say it."""
    parts = []
    if a.users_affected is not None:
        parts.append(f"users affected: {a.users_affected}")
    if a.traffic_percent is not None:
        parts.append(f"{a.traffic_percent:g}% of traffic")
    if a.revenue_impact is not None:
        parts.append(f"revenue: {a.revenue_impact}")
    if a.data_loss is not None:
        parts.append("data lost" if a.data_loss else "no data lost")
    if a.data_impact is not None:
        parts.append(f"data: {a.data_impact}")
    return " · ".join(parts)


def apply_status_update(
    inc: Incident, d: PostStatusUpdate, now: datetime, fx: Effects
) -> TimelineEvent:
    """A status update that says who does what now, what comes next and when it ends."""
    s = inc.state
    if d.actions:
        s.current_actions = list(d.actions)
    if d.next_steps:
        s.next_steps = list(d.next_steps)
    if d.eta:
        s.eta = d.eta
    return communication.apply_update(inc, d, now, fx)


def apply_escalate(inc: Incident, d: Escalate, now: datetime, fx: Effects) -> TimelineEvent:
    """Escalate now; the notices carry what is asked of those brought in."""
    first = len(fx.notices)
    event = paging.apply_escalate(inc, d, now, fx)
    if d.ask:
        for i in range(first, len(fx.notices)):
            notice = fx.notices[i]
            brief = notice.incident.model_copy(update={"ask": d.ask})
            fx.notices[i] = notice.model_copy(update={"incident": brief})
    return event
