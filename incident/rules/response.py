"""Response decisions: acknowledge, roles, severity, notes, mitigation, resolution, reopening.

Each decision has a ``check_…`` (why it cannot apply now, or None) and an ``apply_…``
(what it does; returns its timeline event), taken from ``decisions.RULES``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from incident.models import (
    Acknowledge,
    AddNote,
    AssignRole,
    ChangeSeverity,
    DeclareMitigated,
    Phase,
    Reopen,
    Resolve,
    Status,
    TimelineEvent,
)
from incident.rules import reach, recovery, regrade, timeline, wording
from incident.rules.effects import Effects

if TYPE_CHECKING:
    from incident.lifecycle import Incident


def open_only(inc: Incident, what: str) -> str | None:
    """Why a decision about ``what`` cannot be taken after resolution, or None."""
    if not inc.state.phase.is_open:
        return f"cannot {what} once the incident is {inc.state.phase.value}"
    return None


def check_ack(inc: Incident, d: Acknowledge, now: datetime) -> str | None:
    s = inc.state
    if s.acknowledged_at is not None:
        return f"already acknowledged by {s.acknowledged_by} at {wording.utc(s.acknowledged_at)}"
    return open_only(inc, "acknowledge")


def apply_ack(inc: Incident, d: Acknowledge, now: datetime, fx: Effects) -> TimelineEvent:
    return _acknowledge(inc, now, d.actor, d.reason)


def _acknowledge(inc: Incident, now: datetime, actor: str, reason: str | None) -> TimelineEvent:
    s = inc.state
    s.acknowledged_at, s.acknowledged_by = now, actor
    s.phase = Phase.RESPONDING
    reach.stop(inc)
    took = wording.elapsed(inc, now - s.declared_at)
    return timeline.add_event(
        inc, now, "acknowledged", actor, f"Acknowledged after {took}; paging stopped", reason
    )


def check_assign(inc: Incident, d: AssignRole, now: datetime) -> str | None:
    if inc.state.roles.get(d.role) == d.person:
        return f"{d.person} is already {d.role.title.lower()}"
    return None


def apply_assign(inc: Incident, d: AssignRole, now: datetime, fx: Effects) -> TimelineEvent:
    previous = inc.state.roles.get(d.role)
    inc.state.roles[d.role] = d.person
    was = f" (was {previous})" if previous else ""
    return timeline.add_event(
        inc, now, "role_assigned", d.actor, f"{d.role.title}: {d.person}{was}", d.reason
    )


def check_severity(inc: Incident, d: ChangeSeverity, now: datetime) -> str | None:
    if d.severity is inc.state.severity:
        return f"severity is already {d.severity}"
    if not d.reason:
        return "a severity change needs a reason"
    return open_only(inc, "change severity")


def apply_severity(inc: Incident, d: ChangeSeverity, now: datetime, fx: Effects) -> TimelineEvent:
    return regrade.regrade(inc, now, d.actor, d.severity, d.reason, fx)


def apply_note(inc: Incident, d: AddNote, now: datetime, fx: Effects) -> TimelineEvent:
    inc.state.notes += 1
    return timeline.add_event(inc, now, "note", d.actor, d.text, d.reason)


def check_mitigate(inc: Incident, d: DeclareMitigated, now: datetime) -> str | None:
    if inc.state.status is Status.MONITORING:
        return "already monitoring recovery"
    if not d.reason:
        return "say what mitigated the impact (reason)"
    return open_only(inc, "declare mitigation")


def apply_mitigate(inc: Incident, d: DeclareMitigated, now: datetime, fx: Effects) -> TimelineEvent:
    s = inc.state
    if s.acknowledged_at is None:
        _acknowledge(inc, now, d.actor, "acknowledged by mitigating")
    if s.mitigated_at is None:
        s.mitigated_at = now
    return recovery.start_monitoring(inc, now, d.actor, d.reason or "mitigated", kind="mitigated")


def check_resolve(inc: Incident, d: Resolve, now: datetime) -> str | None:
    s = inc.state
    if not d.root_cause:
        return "a resolution needs the root cause"
    if s.resolution_declared_at is not None:
        return f"resolution already declared: {recovery.watching(inc, now)}"
    return open_only(inc, "resolve")


def apply_resolve(inc: Incident, d: Resolve, now: datetime, fx: Effects) -> TimelineEvent:
    s = inc.state
    if s.acknowledged_at is None:
        _acknowledge(inc, now, d.actor, "acknowledged by resolving")
    s.root_cause = d.root_cause
    s.resolution_declared_at = now
    if s.status is not Status.MONITORING:
        recovery.start_monitoring(inc, now, d.actor, "resolution declared")
    event = timeline.add_event(
        inc, now, "resolution_declared", d.actor, f"Root cause: {d.root_cause}", d.reason
    )
    if s.recovered_at is not None:
        fx.notices += recovery.finish_resolution(inc, now)
    return event


def check_reopen(inc: Incident, d: Reopen, now: datetime) -> str | None:
    s = inc.state
    if not d.reason:
        return "say why the incident is reopened (reason)"
    if s.phase in (Phase.RESOLVED, Phase.POST_INCIDENT):
        return None
    if s.phase.is_open and s.status is Status.MONITORING:
        return None
    return "only an incident that is monitoring recovery or resolved can be reopened"


def apply_reopen(inc: Incident, d: Reopen, now: datetime, fx: Effects) -> TimelineEvent:
    fx.notices += recovery.reopen(inc, now, d.actor, d.reason or "")
    return inc.state.timeline[-1]
