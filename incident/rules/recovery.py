"""Alerts and recovery: alerts counted, monitoring, SLO probes, resolution, reopening, links."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from incident.classify import alert_severity
from incident.durations import format_duration
from incident.models import (
    AlertBatch,
    AlertRecord,
    AlertStatus,
    PendingTimer,
    Phase,
    ProbeResult,
    Status,
    TimelineEvent,
    TimerKind,
)
from incident.notices import Notice, NoticeKind
from incident.policy import SloProbe
from incident.rules import postmortem, regrade, saga, timeline, wording
from incident.rules.effects import Effects

if TYPE_CHECKING:
    from incident.lifecycle import Incident

MAX_ALERTS = 1000
"""Distinct alerts tracked per incident; more are counted, not stored."""


def link_previous(inc: Incident, human_id: str, closed_at: datetime, now: datetime) -> None:
    """Link to the group's previous incident if it closed within the policy's window."""
    window = inc.policy.routing.link_closed_within
    if now - closed_at > window:
        return
    inc.state.follows = human_id
    ago = wording.elapsed(inc, now - closed_at)
    timeline.add_event(
        inc,
        now,
        "linked",
        wording.SYSTEM,
        f"Follows {human_id}, closed {ago} ago: the same alert group fired again",
    )


def scope_values(inc: Incident, **overrides: str) -> dict[str, str | None]:
    """What a probe's placeholders are filled with: the incident's labels, its org and
    service as classified, then ``overrides`` (the rolled-back ``deployment``)."""
    s = inc.state
    values: dict[str, str | None] = dict(s.labels)
    values.update({"org": s.org, "service": s.service})
    values.update(overrides)
    return values


def scoped_probes(probes: list[SloProbe], values: dict[str, str | None]) -> list[SloProbe]:
    """``probes`` with their queries scoped to ``values`` (``incident.promql``)."""
    return [probe.scoped(values)[0] for probe in probes]


def with_scope_notes(
    result: ProbeResult, probes: list[SloProbe], values: dict[str, str | None]
) -> ProbeResult:
    """``result`` with each check saying which of its placeholders the incident had no
    value for: those matchers were dropped, so every series was judged."""
    notes: dict[str, str] = {}
    for probe in probes:
        unscoped = probe.scoped(values)[1].unscoped
        if unscoped:
            names = ", ".join("{{" + name + "}}" for name in unscoped)
            notes[probe.name] = f" [no value for {names}: not scoped, every series judged]"
    if not notes:
        return result
    checks = [
        c.model_copy(update={"detail": c.detail + notes.get(c.name, "")}) for c in result.checks
    ]
    return result.model_copy(update={"checks": checks})


def recovery_probes(inc: Incident) -> list[SloProbe]:
    """The exit criteria's probes, scoped to this incident."""
    return scoped_probes(inc.policy.recovery.probes, scope_values(inc))


def on_probe(inc: Incident, result: ProbeResult, now: datetime) -> Effects:
    """Take the SLO probes' answer: recover, or check again later."""
    s = inc.state
    effects = Effects()
    result = with_scope_notes(result, inc.policy.recovery.probes, scope_values(inc))
    previous = s.last_probe
    s.last_probe = result
    if not s.phase.is_open or s.status is not Status.MONITORING:
        return effects
    if previous is None or previous.healthy != result.healthy or previous.error != result.error:
        timeline.add_event(inc, now, "probe", wording.SYSTEM, result.summary)
    quiet_since = s.monitoring_since or now
    if result.healthy and now >= quiet_since + inc.policy.recovery.quiet_window:
        s.recovered_at = now
        effects.undo_actions += saga.compensate_all(inc)
        timeline.add_event(
            inc,
            now,
            "recovered",
            wording.SYSTEM,
            f"Recovery criteria met: {wording.elapsed(inc, now - quiet_since)} without a "
            f"recurring alert and SLO probes in bounds",
        )
        if s.resolution_declared_at is not None:
            effects.notices += finish_resolution(inc, now)
    else:
        s.probe_due = now + inc.policy.recovery.probe_every
    return effects


def finish_resolution(inc: Incident, now: datetime) -> list[Notice]:
    """Recovery held: the incident is resolved; notices to send."""
    s = inc.state
    s.phase = Phase.RESOLVED
    s.status = Status.RESOLVED
    s.resolved_at = now
    timeline.add_event(
        inc,
        now,
        "resolved",
        wording.SYSTEM,
        f"Resolved after {wording.elapsed(inc, now - s.declared_at)}: {s.root_cause}",
    )
    notices = [
        wording.notice(
            inc,
            now,
            f"resolved:{s.reopened}",
            NoticeKind.RESOLUTION,
            wording.INCIDENT_CHANNEL,
            f"Resolved: {s.title}",
        )
    ]
    if inc.rule.executive_brief:
        notices.append(
            wording.notice(
                inc,
                now,
                f"brief:resolved:{s.reopened}",
                NoticeKind.EXECUTIVE_BRIEF,
                wording.EXECUTIVES,
                f"Resolved: {s.title}",
            )
        )
    if inc.rule.close_on_resolve or not inc.rule.postmortem.required:
        postmortem.close(inc, now, wording.SYSTEM, f"{s.severity} closes on resolution by policy")
    else:
        s.phase = Phase.POST_INCIDENT
        schedule_by, complete_by = postmortem.postmortem_deadlines(inc)
        timeline.add_event(
            inc,
            now,
            "post_incident",
            wording.SYSTEM,
            f"Postmortem to be scheduled by {schedule_by:%Y-%m-%d %H:%M} UTC and final by "
            f"{complete_by:%Y-%m-%d %H:%M} UTC",
        )
    return notices


def on_alerts(inc: Incident, batch: AlertBatch, now: datetime, *, record: bool = True) -> Effects:
    """Count alerts; a firing during monitoring or after resolution reopens the incident.

    Repeats of a firing alert are counted, never appended, so a flapping
    alert cannot grow the incident without bound.
    """
    s = inc.state
    effects = Effects()
    changes: list[str] = []
    refired: list[str] = []
    for alert in batch.alerts:
        firing = alert.status is AlertStatus.FIRING
        if firing:
            s.firings += 1
            refired.append(alert.name)
        known = s.alerts.get(alert.fingerprint)
        if known is None:
            if len(s.alerts) >= MAX_ALERTS:
                s.alerts_untracked += 1
                continue
            s.alerts[alert.fingerprint] = AlertRecord(
                fingerprint=alert.fingerprint,
                name=alert.name,
                status=alert.status,
                first_seen=now,
                last_seen=now,
                firings=1 if firing else 0,
            )
            changes.append(
                f"{alert.name} {alert.status.value} ({alert_severity(alert, inc.policy)})"
            )
            continue
        known.last_seen = now
        known.firings += 1 if firing else 0
        if known.status is not alert.status:
            known.status = alert.status
            changes.append(f"{alert.name} {'fired again' if firing else 'resolved'}")
    if batch.truncated:
        s.alerts_untracked += batch.truncated
        changes.append(f"{batch.truncated} more alerts truncated by {batch.source}")
    if changes and record:
        more = f" and {len(changes) - 5} more" if len(changes) > 5 else ""
        timeline.add_event(
            inc, now, "alerts", batch.source, "Alerts: " + "; ".join(changes[:5]) + more
        )
    monitoring = s.phase.is_open and s.status is Status.MONITORING
    if refired and (monitoring or s.phase in (Phase.RESOLVED, Phase.POST_INCIDENT)):
        effects.notices += reopen(
            inc, now, batch.source, f"{refired[0]} fired again during {s.status.value}"
        )
    elif (
        not refired
        and s.phase.is_open
        and s.phase is not Phase.DETECTED
        and not monitoring
        and s.alerts
        and all(r.status is AlertStatus.RESOLVED for r in s.alerts.values())
    ):
        start_monitoring(inc, now, batch.source, "every alert has resolved")
    if s.runbook_rules:
        follow_severity(inc, batch, now, effects)
    return effects


def follow_severity(inc: Incident, batch: AlertBatch, now: datetime, fx: Effects) -> None:
    """A firing alert more severe than any the group gave before raises the incident to its
    severity; never lowers it, and a repeat of what was already seen leaves a person's
    regrade alone."""
    s = inc.state
    firing = [a for a in batch.alerts if a.status is AlertStatus.FIRING]
    if not firing:
        return
    lead = min(firing, key=lambda a: alert_severity(a, inc.policy).rank)
    level = alert_severity(lead, inc.policy)
    peak = s.alerts_peak
    if peak is not None and not level.is_higher_than(peak):
        return
    s.alerts_peak = level
    why = f"{lead.name} fired at {level}, more severe than the group's alerts before it"
    regrade.raise_to(inc, now, batch.source, level, why, fx)


def start_monitoring(
    inc: Incident, now: datetime, actor: str, reason: str, kind: str = "monitoring"
) -> TimelineEvent:
    """Impact contained: watch recovery through the quiet window and the SLO probes."""
    s = inc.state
    s.status = Status.MONITORING
    s.monitoring_since = now
    s.recovered_at = None
    s.probe_due = now + inc.policy.recovery.quiet_window
    window = format_duration(inc.policy.recovery.quiet_window)
    return timeline.add_event(
        inc,
        now,
        kind,
        actor,
        f"Monitoring recovery: resolves after {window} without a recurring alert "
        f"and with SLO probes in bounds",
        reason,
    )


def watching(inc: Incident, now: datetime) -> str:
    """What resolving a monitored incident still waits for and until when, for a person
    reading it at ``now``: ``recovery is being watched until 14:32 UTC (in 48 min)``."""
    s = inc.state
    declared = s.resolution_declared_at is not None
    if s.recovered_at is not None:
        return (
            f"the recovery criteria were met at {wording.utc(s.recovered_at)}; it waits for "
            "someone to resolve it with the root cause"
        )
    if s.probe_due is None:
        waits = "the quiet window has passed and the SLO probes are being checked now"
    elif (
        s.last_probe is not None
        and not s.last_probe.healthy
        and s.monitoring_since is not None
        and s.last_probe.at >= s.monitoring_since
    ):
        waits = (
            f"the SLO probes are not in bounds yet ({s.last_probe.summary}); they are "
            f"checked again at {wording.until(s.probe_due, now)}"
        )
    else:
        waits = f"recovery is being watched until {wording.until(s.probe_due, now)}"
    if declared:
        return waits
    return f"{waits}, and it resolves only once someone declares the root cause"


def reopen(inc: Incident, now: datetime, actor: str, reason: str) -> list[Notice]:
    """The problem is back: return to responding; notices to send."""
    s = inc.state
    was = s.phase.value if s.phase is not Phase.RESPONDING else s.status.value
    s.phase = Phase.RESPONDING
    s.status = Status.INVESTIGATING
    s.reopened += 1
    s.monitoring_since = s.recovered_at = s.resolved_at = s.resolution_declared_at = None
    s.probe_due = None
    s.last_status_update_at = now
    event = timeline.add_event(
        inc, now, "reopened", actor, f"Reopened (was {was}); back to investigating", reason
    )
    return [
        wording.notice(
            inc,
            now,
            f"reopened:{event.seq}",
            NoticeKind.ESCALATION,
            wording.INCIDENT_CHANNEL,
            f"{s.human_id} reopened: {reason}",
            reason=reason,
        )
    ]


def plan(inc: Incident) -> list[PendingTimer]:
    """The next recovery check while the incident is being watched."""
    s = inc.state
    if not s.phase.is_open or s.status is not Status.MONITORING or s.probe_due is None:
        return []
    return [
        PendingTimer(
            key="recovery_check",
            kind=TimerKind.RECOVERY_CHECK,
            due=s.probe_due,
            summary="check recovery: quiet window passed and SLO probes in bounds",
        )
    ]


def check_recovery(inc: Incident, timer: PendingTimer, now: datetime) -> Effects:
    """The quiet window passed: run the SLO probes."""
    inc.state.probe_due = None
    return Effects(run_probe=True)
