"""Severity changes, by a person or by what the incident learns: every timer is re-planned
from the declaration under the new severity's rule, and the channel is told why."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from incident.models import TimelineEvent
from incident.notices import NoticeKind
from incident.rules import timeline, wording
from incident.rules.effects import Effects
from incident.severity import Severity

if TYPE_CHECKING:
    from incident.lifecycle import Incident


def regrade(
    inc: Incident, now: datetime, actor: str, severity: Severity, reason: str | None, fx: Effects
) -> TimelineEvent:
    """Make the incident ``severity``: its timeline event; the channel (and, for a severity
    that briefs executives, the executives) told in ``fx``."""
    s = inc.state
    old = s.severity
    s.severity = severity
    direction = "raised" if severity.is_higher_than(old) else "lowered"
    event = timeline.add_event(
        inc,
        now,
        "severity_changed",
        actor,
        f"Severity {direction} {old} → {severity}; timers re-planned from declaration",
        reason,
    )
    fx.notices.append(
        wording.notice(
            inc,
            now,
            f"severity:{event.seq}",
            NoticeKind.ESCALATION,
            wording.INCIDENT_CHANNEL,
            f"{s.human_id} severity {direction} {old} → {severity}",
            reason=reason,
        )
    )
    if inc.rule.executive_brief:
        fx.notices.append(
            wording.notice(
                inc,
                now,
                f"brief:severity:{event.seq}",
                NoticeKind.EXECUTIVE_BRIEF,
                wording.EXECUTIVES,
                f"{severity} incident: {s.title}",
            )
        )
    return event


def raise_to(
    inc: Incident, now: datetime, actor: str, severity: Severity, reason: str, fx: Effects
) -> TimelineEvent | None:
    """Raise the severity to ``severity`` if that is more severe; never lowers it."""
    if not severity.is_higher_than(inc.state.severity) or not inc.state.phase.is_open:
        return None
    return regrade(inc, now, actor, severity, reason, fx)
