"""The incident state machine: decisions, alerts and timers applied to one incident.

``Incident`` is pure and deterministic: it is given the time, never reads a
clock, and returns the notices to send instead of sending them. The workflow
owns one and turns its answers into timers and activities; tests drive it
directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from incident import bounds
from incident.classify import Classification, alert_severity, classify
from incident.containment import (
    ActionKind,
    ActionState,
    Autonomy,
    ContainmentAction,
    scope_of,
    target_problem,
)
from incident.durations import format_duration
from incident.models import (
    Acknowledge,
    ActionItem,
    AddActionItem,
    AddNote,
    Alert,
    AlertBatch,
    AlertRecord,
    AlertStatus,
    ApproveContainment,
    AssignRole,
    ChangeSeverity,
    Close,
    Decision,
    Declaration,
    DeclareMitigated,
    DenyContainment,
    EnterDegradedMode,
    IncidentState,
    LiftDegradedMode,
    NotificationRecord,
    PendingTimer,
    Phase,
    Postmortem,
    PostmortemStatus,
    PostStatusUpdate,
    ProbeResult,
    ProposeContainment,
    RaisedFlag,
    RaiseFlag,
    RecordCause,
    Reopen,
    Resolve,
    Role,
    Status,
    SubmitPostmortem,
    TimelineEvent,
)
from incident.notices import DeliveryOutcome, IncidentBrief, Notice, NoticeKind
from incident.policy import EscalationStep, LadderKind, PlaybookStep, Policy, SeverityRule
from incident.records import RecordBatch

MAX_TIMELINE = 500
"""Timeline events kept in the workflow; older ones are counted (the store keeps all)."""
MAX_ALERTS = 1000
"""Distinct alerts tracked per incident; more are counted, not stored."""
MAX_ACTION_ITEMS = 200
UNDO_RETRY_AFTER = timedelta(minutes=5)
"""After an undo gave up (refused or unreachable for UNDO_PATIENCE), when it is tried again."""
TITLE_BYTES = 512
"""An alert-derived title (a summary annotation may be 8 KiB) as headlines carry it."""
MAX_UNRECORDED = 5000
"""Events kept past MAX_TIMELINE while the store is unreachable (within TIMELINE_BYTES)."""
MAX_UNRECORDED_NOTIFICATIONS = 500
"""Channel outcomes kept for the store while it is unreachable (each at most ~1 KiB)."""
MIN_TIMELINE_KEPT = 10
"""Timeline events (and alerts) ``fit`` never goes below."""

SYSTEM = "warroom"
INCIDENT_CHANNEL = "Incident channel"
STAKEHOLDERS = "Stakeholders"
EXECUTIVES = "Executive leadership"


class DecisionRejected(ValueError):
    """A decision that does not apply; the message says why, for a person."""


@dataclass
class Effects:
    """What the workflow must do after a change: send notices, run the SLO probes."""

    notices: list[Notice] = field(default_factory=list)
    run_probe: bool = False
    run_actions: list[int] = field(default_factory=list)
    undo_actions: list[int] = field(default_factory=list)


def _utc(moment: datetime) -> str:
    return moment.strftime("%H:%M UTC")


def _action_state(action: ContainmentAction) -> str:
    """``in force``, or ``undo failing (2 attempts): <why>`` when its undo keeps failing."""
    if action.state is ActionState.COMPENSATING and action.compensation_attempts:
        return f"undo failing ({action.compensation_attempts} attempts): {action.detail}"
    return action.state.value.replace("_", " ")


class Incident:
    """One incident's state and the policy it follows, with the rules that move it."""

    def __init__(self, state: IncidentState, policy: Policy) -> None:
        self.state = state
        self.policy = policy
        self._sizes: dict[int, int] = {}
        """Timeline events' sizes in bytes, by ``seq``, measured once."""

    # --- opening ----------------------------------------------------------

    @classmethod
    def open(
        cls,
        *,
        human_id: str,
        uid: str | None = None,
        source: str,
        dedup_key: str | None,
        declaration: Declaration | None,
        alerts: list[Alert],
        policy: Policy,
        now: datetime,
        truncated: int = 0,
    ) -> tuple[Incident, Effects]:
        """Detect and triage a new incident from a declaration or its first alerts."""
        if declaration is not None:
            found = Classification(
                severity=declaration.severity,
                title=declaration.title,
                service=declaration.service,
                org=declaration.org,
                summary=declaration.summary,
            )
            declared_by = declaration.actor
        else:
            found = classify(alerts, policy)
            declared_by = source
        rule = policy.rule(found.severity)
        state = IncidentState(
            human_id=human_id,
            uid=uid,
            title=bounds.clip(found.title, TITLE_BYTES),
            source=source,
            dedup_key=dedup_key,
            severity=found.severity,
            policy_version=policy.version,
            phase=Phase.DETECTED,
            status=Status.INVESTIGATING,
            service=found.service,
            org=found.org,
            summary=found.summary,
            impact=declaration.impact if declaration else "",
            runbook_url=found.runbook_url,
            labels=found.labels,
            declared_at=now,
            declared_by=declared_by,
            last_status_update_at=now,
        )
        incident = cls(state, policy)
        if declaration is not None:
            incident._record(now, "detected", declaration.actor, f"Declared: {found.title}")
            if declaration.commander:
                state.roles[Role.INCIDENT_COMMANDER] = declaration.commander
        else:
            count = f" ({len(alerts)} alerts)" if len(alerts) > 1 else ""
            incident._record(
                now, "detected", source, f"Detected from {source}: {found.title}{count}"
            )
        effects = Effects()
        if alerts:
            batch = AlertBatch(source=source, alerts=alerts, truncated=truncated)
            effects = incident.on_alerts(batch, now, record=False)
        state.phase = Phase.TRIAGED
        incident._record(
            now,
            "triaged",
            SYSTEM,
            f"Triaged as {found.severity} ({rule.name}) under policy {policy.version}; "
            f"acknowledgement due by {_utc(incident.ack_due())}",
        )
        effects.notices.append(
            incident._notice(
                now,
                "declared",
                NoticeKind.DECLARATION,
                INCIDENT_CHANNEL,
                f"{found.severity} incident declared: {found.title}",
            )
        )
        if rule.executive_brief:
            effects.notices.append(
                incident._notice(
                    now,
                    "brief:declared",
                    NoticeKind.EXECUTIVE_BRIEF,
                    EXECUTIVES,
                    f"{found.severity} incident: {found.title}",
                )
            )
        return incident, effects

    # --- views --------------------------------------------------------------

    @property
    def rule(self) -> SeverityRule:
        """The policy's rule for the current severity."""
        return self.policy.rule(self.state.severity)

    def ack_due(self) -> datetime:
        """When acknowledgement is (or was) due."""
        return self.policy.response_deadline(self.state.severity, self.state.declared_at)

    def next_update_due(self) -> datetime | None:
        """When the next status update is due, while updates are on a cadence."""
        every = self.rule.status_update_every
        if every is None or not self.state.phase.is_open:
            return None
        due: datetime = self.state.last_status_update_at + every
        return due

    def postmortem_deadlines(self) -> tuple[datetime | None, datetime | None]:
        """When the postmortem must be scheduled and completed (None before resolution)."""
        rule = self.rule.postmortem
        resolved = self.state.resolved_at
        if resolved is None or rule.schedule_within is None or rule.complete_within is None:
            return None, None
        return resolved + rule.schedule_within, resolved + rule.complete_within

    def brief(self, now: datetime) -> IncidentBrief:
        """The facts a notice about this incident carries."""
        s = self.state
        schedule_by, complete_by = self.postmortem_deadlines()
        return IncidentBrief(
            human_id=s.human_id,
            title=s.title,
            severity=s.severity,
            severity_name=self.rule.name,
            phase=s.phase,
            status=s.status,
            service=s.service,
            org=s.org,
            summary=s.summary,
            impact=s.impact,
            commander=s.roles.get(Role.INCIDENT_COMMANDER),
            roles={role.title: person for role, person in s.roles.items()},
            responders=list(self.rule.response_team),
            flags=[f.label for f in s.flags],
            declared_at=s.declared_at,
            duration=(s.resolved_at or now) - s.declared_at,
            last_update=s.last_status_update,
            root_cause=s.root_cause,
            resolved_at=s.resolved_at,
            next_update_due=self.next_update_due(),
            postmortem_schedule_by=schedule_by,
            postmortem_complete_by=complete_by,
            action_items=len(s.action_items),
            firings=s.firings,
        )

    def search_fields(self) -> dict[str, str]:
        """Values for the Web UI's search attributes."""
        s = self.state
        fields = {
            "IncidentId": s.human_id,
            "IncidentSeverity": s.severity.value,
            "IncidentPhase": s.phase.value,
            "IncidentStatus": s.status.value,
            "IncidentService": s.service or "",
            "IncidentCommander": s.roles.get(Role.INCIDENT_COMMANDER, ""),
        }
        # Over the server's limit, the upsert would get the run terminated.
        return {k: bounds.keyword(v) for k, v in fields.items()}

    def details(self, now: datetime, timers: list[PendingTimer]) -> str:
        """Markdown for the Web UI's current details: where it stands and what comes next."""
        s = self.state
        lines = [
            f"**{s.human_id}** · {s.severity} {self.rule.name} · "
            f"{s.phase.value} / {s.status.value}",
            f"**{s.title}**",
            "",
            f"- Service: {s.service or 'unknown'} · Org: {s.org or '-'}",
            f"- Commander: {s.roles.get(Role.INCIDENT_COMMANDER, 'not assigned')}",
            f"- Declared {_utc(s.declared_at)} by {s.declared_by}; open for "
            f"{format_duration((s.resolved_at or now) - s.declared_at)}",
        ]
        if s.acknowledged_at:
            lines.append(f"- Acknowledged {_utc(s.acknowledged_at)} by {s.acknowledged_by}")
        if s.flags:
            lines.append("- Flags: " + ", ".join(f.label for f in s.flags))
        if s.last_probe is not None:
            lines.append(f"- Last SLO probe: {s.last_probe.summary}")
        if s.containment:
            lines += ["", "**Containment:**"]
            lines += [
                f"- {a.title}: {_action_state(a)} ({a.autonomy.value})" for a in s.containment
            ]
        waiting = self.waiting_for()
        if waiting:
            lines += ["", f"**Waiting for:** {waiting}"]
        if timers:
            lines += ["", "**Next:**"]
            lines += [f"- {_utc(t.due)} — {t.summary}" for t in timers[:5]]
        return bounds.clip("\n".join(lines), bounds.DETAILS_BYTES)

    def waiting_for(self) -> str:
        """What the incident needs from people right now, in one line."""
        s = self.state
        pending = [a for a in s.containment if a.state is ActionState.AWAITING_APPROVAL]
        if pending:
            first = pending[0]
            approvers = " or ".join(self._approver_titles())
            due = f" (due {_utc(first.approval_due)})" if first.approval_due else ""
            more = f" and {len(pending) - 1} more" if len(pending) > 1 else ""
            return f"approval of {first.title}{more} by the {approvers}{due}"
        if s.phase is Phase.TRIAGED:
            return f"acknowledgement (due {_utc(self.ack_due())})"
        if s.phase.is_open and s.status is Status.MONITORING:
            if s.recovered_at and not s.resolution_declared_at:
                return "recovery criteria met: a person to resolve with the root cause"
            return "recovery exit criteria (quiet window and SLO probes)"
        if s.phase is Phase.RESPONDING:
            return "mitigation or resolution"
        if s.phase is Phase.POST_INCIDENT:
            pm = s.postmortem.status.value if s.postmortem else "not scheduled"
            return f"the postmortem to be final (now: {pm})"
        return ""

    # --- timers ---------------------------------------------------------------

    def pending(self) -> list[PendingTimer]:
        """Every timer the incident is waiting on, soonest first."""
        s = self.state
        timers: list[PendingTimer] = []
        fired = set(s.fired_steps)
        if s.phase.is_open:
            acked = s.acknowledged_at is not None
            calm = s.status is Status.MONITORING
            if not acked and "ack_deadline" not in fired:
                paging = [
                    st.target for st in self.rule.escalation if st.ladder is LadderKind.PAGING
                ]
                who = ", ".join(paging) or "the on-call rotation"
                timers.append(
                    PendingTimer(
                        key="ack_deadline",
                        kind="ack_deadline",
                        due=self.ack_due(),
                        summary=f"re-page {who} if nobody has acknowledged",
                    )
                )
            for index, step in enumerate(self.rule.escalation):
                key = self._step_key(index)
                if key in fired:
                    continue
                if step.ladder is LadderKind.PAGING and acked:
                    continue
                if step.ladder is LadderKind.MANAGEMENT and calm:
                    continue
                timers.append(
                    PendingTimer(
                        key=key,
                        kind="escalation",
                        due=s.declared_at + step.after,
                        summary=self._step_summary(step),
                    )
                )
            if "resolution_target" not in fired and not calm:
                target = self.rule.resolution_target
                timers.append(
                    PendingTimer(
                        key="resolution_target",
                        kind="resolution_target",
                        due=s.declared_at + target,
                        summary=f"flag the {format_duration(target)} resolution target as breached",
                    )
                )
            due = self.next_update_due()
            every = self.rule.status_update_every
            if due is not None and every is not None:
                before = self.policy.communication.reminder_before
                if s.reminded_for_update_due != due and before < every:
                    timers.append(
                        PendingTimer(
                            key="status_reminder",
                            kind="status_reminder",
                            due=due - before,
                            summary="remind the communications lead: status update due "
                            + _utc(due),
                        )
                    )
                timers.append(
                    PendingTimer(
                        key="status_update",
                        kind="status_update",
                        due=due,
                        summary="post an automatic status update if nobody has",
                    )
                )
            if calm and s.probe_due is not None:
                timers.append(
                    PendingTimer(
                        key="recovery_check",
                        kind="recovery_check",
                        due=s.probe_due,
                        summary="check recovery: quiet window passed and SLO probes in bounds",
                    )
                )
        for action in s.containment:
            if action.state is ActionState.COMPENSATING and action.undo_retry_due:
                timers.append(
                    PendingTimer(
                        key=f"undo_retry:{action.id}",
                        kind="undo_retry",
                        due=action.undo_retry_due,
                        summary=f"try again to {action.kind.undo_label} for {action.title}",
                    )
                )
            if (
                action.state is ActionState.AWAITING_APPROVAL
                and action.approval_due
                and not action.approval_escalated
            ):
                timers.append(
                    PendingTimer(
                        key=f"approval:{action.id}",
                        kind="approval_due",
                        due=action.approval_due,
                        summary=f"escalate to {self.policy.containment.approval_escalates_to}: "
                        f"{action.title} still awaiting approval",
                    )
                )
        if s.phase is Phase.POST_INCIDENT:
            schedule_by, complete_by = self.postmortem_deadlines()
            if schedule_by and s.postmortem is None and "postmortem_schedule" not in fired:
                timers.append(
                    PendingTimer(
                        key="postmortem_schedule",
                        kind="postmortem_reminder",
                        due=schedule_by,
                        summary="remind the commander: the postmortem is not scheduled yet",
                    )
                )
            final = s.postmortem is not None and s.postmortem.status is PostmortemStatus.FINAL
            if complete_by and not final and "postmortem_complete" not in fired:
                timers.append(
                    PendingTimer(
                        key="postmortem_complete",
                        kind="postmortem_reminder",
                        due=complete_by,
                        summary="remind the commander: the postmortem is due to be final",
                    )
                )
        return sorted(timers, key=lambda t: (t.due, t.key))

    def _step_key(self, index: int) -> str:
        return f"escalation:{self.state.severity}:{index}"

    def _step_summary(self, step: EscalationStep) -> str:
        if step.after == timedelta(0):
            return f"page {step.target} via {step.contact}"
        if step.ladder is LadderKind.PAGING:
            return f"page {step.target} via {step.contact} if still unacknowledged"
        return f"escalate to {step.target} via {step.contact} if still unresolved"

    def fire(self, timer: PendingTimer, now: datetime) -> Effects:
        """Do what a due timer is for."""
        s = self.state
        effects = Effects()
        sev = s.severity
        if timer.kind == "escalation":
            s.fired_steps.append(timer.key)
            index = int(timer.key.rsplit(":", 1)[1])
            step = self.rule.escalation[index]
            effects.notices.append(
                self._escalate(
                    now, timer.key, step.target, step.contact, self._ladder_reason(step, now)
                )
            )
        elif timer.kind == "ack_deadline":
            s.fired_steps.append(timer.key)
            reason = f"{sev} not acknowledged within {self._response_text()}"
            self._record(
                now, "ack_deadline_missed", SYSTEM, f"Acknowledgement deadline missed: {reason}"
            )
            for index, step in enumerate(self.rule.escalation):
                # Re-page whoever has been paged so far; later rungs keep their own time.
                if step.ladder is LadderKind.PAGING and s.declared_at + step.after <= now:
                    effects.notices.append(
                        self._escalate(
                            now,
                            f"ack_deadline:{index}",
                            step.target,
                            step.contact,
                            reason,
                            record=False,
                        )
                    )
        elif timer.kind == "resolution_target":
            s.fired_steps.append(timer.key)
            reason = (
                f"{sev} unresolved after its {format_duration(self.rule.resolution_target)} target"
            )
            self._record(
                now, "resolution_target_breached", SYSTEM, f"Resolution target breached: {reason}"
            )
            commander = s.roles.get(Role.INCIDENT_COMMANDER, "Incident commander")
            effects.notices.append(
                self._escalate(now, timer.key, commander, None, reason, record=False)
            )
        elif timer.kind == "status_reminder":
            due = self.next_update_due()
            s.reminded_for_update_due = due
            who = s.roles.get(Role.COMMUNICATIONS_LEAD, "Communications lead")
            self._record(
                now,
                "status_update_reminder",
                SYSTEM,
                f"Reminded {who}: status update due {_utc(due) if due else ''}",
            )
            effects.notices.append(
                self._notice(
                    now,
                    f"status_reminder:{timer.due.isoformat()}",
                    NoticeKind.STATUS_REMINDER,
                    who,
                    f"Status update due for {s.human_id}",
                    reason="the communication cadence requires an update",
                )
            )
        elif timer.kind == "status_update":
            silence = now - s.last_status_update_at
            message = (
                f"No status update was posted in the last {format_duration(silence)}. "
                f"Status: {s.status.value}. "
                + (
                    f"Latest: {s.last_status_update}"
                    if s.last_status_update
                    else "The response team is working on it."
                )
            )
            effects.notices += self._post_update(now, SYSTEM, message, automatic=True)
        elif timer.kind == "approval_due":
            action = self.action(int(timer.key.split(":")[1]))
            assert action is not None
            action.approval_escalated = True
            target = self.policy.containment.approval_escalates_to
            reason = f"{action.title} awaiting approval since {_utc(action.proposed_at)}"
            effects.notices.append(self._escalate(now, timer.key, target, None, reason))
        elif timer.kind == "undo_retry":
            action = self.action(int(timer.key.split(":")[1]))
            assert action is not None
            action.undo_retry_due = None
            effects.undo_actions.append(action.id)
        elif timer.kind == "recovery_check":
            s.probe_due = None
            effects.run_probe = True
        elif timer.kind == "postmortem_reminder":
            s.fired_steps.append(timer.key)
            what = "scheduled" if timer.key == "postmortem_schedule" else "final"
            commander = s.roles.get(Role.INCIDENT_COMMANDER, "Incident commander")
            self._record(
                now,
                "postmortem_reminder",
                SYSTEM,
                f"Postmortem reminder to {commander}: it should be {what} by now",
            )
            effects.notices.append(
                self._notice(
                    now,
                    timer.key,
                    NoticeKind.POSTMORTEM_REMINDER,
                    commander,
                    f"Postmortem for {s.human_id} is due to be {what}",
                    reason=f"{sev} postmortem deadline reached",
                )
            )
        return effects

    def _response_text(self) -> str:
        response = self.rule.response_time
        return (
            format_duration(response)
            if isinstance(response, timedelta)
            else "the next business day"
        )

    def _ladder_reason(self, step: EscalationStep, now: datetime) -> str:
        s = self.state
        open_for = format_duration(now - s.declared_at)
        if step.after == timedelta(0):
            return f"new {s.severity} incident"
        if step.ladder is LadderKind.PAGING:
            return f"{s.severity} not acknowledged after {open_for}"
        return f"{s.severity} unresolved after {open_for}"

    def _escalate(
        self,
        now: datetime,
        key: str,
        target: str,
        contact: str | None,
        reason: str,
        *,
        record: bool = True,
    ) -> Notice:
        via = f" via {contact}" if contact else ""
        if record:
            self._record(now, "escalated", SYSTEM, f"Escalated to {target}{via}: {reason}")
        return self._notice(
            now,
            key,
            NoticeKind.ESCALATION,
            target,
            f"{self.state.severity} {self.state.human_id}: {reason}",
            contact=contact,
            reason=reason,
        )

    def link_previous(self, human_id: str, closed_at: datetime, now: datetime) -> None:
        """Link to the group's previous incident if it closed within the policy's window."""
        window = self.policy.routing.link_closed_within
        if now - closed_at > window:
            return
        self.state.follows = human_id
        ago = format_duration(now - closed_at)
        self._record(
            now,
            "linked",
            SYSTEM,
            f"Follows {human_id}, closed {ago} ago: the same alert group fired again",
        )

    # --- probes -----------------------------------------------------------------

    def on_probe(self, result: ProbeResult, now: datetime) -> Effects:
        """Take the SLO probes' answer: recover, or check again later."""
        s = self.state
        effects = Effects()
        previous = s.last_probe
        s.last_probe = result
        if not s.phase.is_open or s.status is not Status.MONITORING:
            return effects
        if previous is None or previous.healthy != result.healthy or previous.error != result.error:
            self._record(now, "probe", SYSTEM, result.summary)
        quiet_since = s.monitoring_since or now
        if result.healthy and now >= quiet_since + self.policy.recovery.quiet_window:
            s.recovered_at = now
            effects.undo_actions += self.compensate_all()
            self._record(
                now,
                "recovered",
                SYSTEM,
                f"Recovery criteria met: {format_duration(now - quiet_since)} without a "
                f"recurring alert and SLO probes in bounds",
            )
            if s.resolution_declared_at is not None:
                effects.notices += self._finish_resolution(now)
        else:
            s.probe_due = now + self.policy.recovery.probe_every
        return effects

    def _finish_resolution(self, now: datetime) -> list[Notice]:
        s = self.state
        s.phase = Phase.RESOLVED
        s.status = Status.RESOLVED
        s.resolved_at = now
        self._record(
            now,
            "resolved",
            SYSTEM,
            f"Resolved after {format_duration(now - s.declared_at)}: {s.root_cause}",
        )
        notices = [
            self._notice(
                now,
                f"resolved:{s.reopened}",
                NoticeKind.RESOLUTION,
                INCIDENT_CHANNEL,
                f"Resolved: {s.title}",
            )
        ]
        if self.rule.executive_brief:
            notices.append(
                self._notice(
                    now,
                    f"brief:resolved:{s.reopened}",
                    NoticeKind.EXECUTIVE_BRIEF,
                    EXECUTIVES,
                    f"Resolved: {s.title}",
                )
            )
        if self.rule.close_on_resolve or not self.rule.postmortem.required:
            self._close(now, SYSTEM, f"{s.severity} closes on resolution by policy")
        else:
            s.phase = Phase.POST_INCIDENT
            schedule_by, complete_by = self.postmortem_deadlines()
            self._record(
                now,
                "post_incident",
                SYSTEM,
                f"Postmortem to be scheduled by {schedule_by:%Y-%m-%d %H:%M} UTC and final by "
                f"{complete_by:%Y-%m-%d %H:%M} UTC",
            )
        return notices

    def _close(self, now: datetime, actor: str, reason: str | None) -> TimelineEvent:
        self.state.phase = Phase.CLOSED
        self.state.closed_at = now
        return self._record(now, "closed", actor, "Closed", reason)

    # --- alerts -----------------------------------------------------------------

    def on_alerts(self, batch: AlertBatch, now: datetime, *, record: bool = True) -> Effects:
        """Count alerts; a firing during monitoring or after resolution reopens the incident.

        Repeats of a firing alert are counted, never appended, so a flapping
        alert cannot grow the incident without bound.
        """
        s = self.state
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
                    f"{alert.name} {alert.status.value} ({alert_severity(alert, self.policy)})"
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
            self._record(now, "alerts", batch.source, "Alerts: " + "; ".join(changes[:5]) + more)
        monitoring = s.phase.is_open and s.status is Status.MONITORING
        if refired and (monitoring or s.phase in (Phase.RESOLVED, Phase.POST_INCIDENT)):
            effects.notices += self._reopen(
                now, batch.source, f"{refired[0]} fired again during {s.status.value}"
            )
        elif (
            not refired
            and s.phase.is_open
            and s.phase is not Phase.DETECTED
            and not monitoring
            and s.alerts
            and all(r.status is AlertStatus.RESOLVED for r in s.alerts.values())
        ):
            self._start_monitoring(now, batch.source, "every alert has resolved")
        return effects

    # --- decisions --------------------------------------------------------------

    def check(self, decision: Decision) -> None:
        """Raise DecisionRejected, with a reason for a person, if ``decision`` cannot apply now."""
        s = self.state
        too_large = self.fits_decision(decision)
        if too_large:
            raise DecisionRejected(f"{s.human_id}: {too_large}")
        if s.phase is Phase.CLOSED:
            raise DecisionRejected(f"{s.human_id} is closed; reopen is not possible after close")
        checker, _ = self._handlers()[type(decision)]
        reason = checker(decision)
        if reason:
            raise DecisionRejected(f"{s.human_id}: {reason}")

    def apply(self, decision: Decision, now: datetime) -> tuple[TimelineEvent, Effects]:
        """Apply a checked decision; returns its timeline event and what to send."""
        self.check(decision)
        _, applier = self._handlers()[type(decision)]
        effects = Effects()
        event = applier(decision, now, effects)
        event.decision = {
            "type": type(decision).__name__,
            **decision.model_dump(mode="json", exclude={"actor", "reason"}),
        }
        self._sizes.pop(event.seq, None)  # measured before the decision was attached
        self._trim_timeline()
        return event, effects

    def _handlers(
        self,
    ) -> dict[
        type[Decision],
        tuple[Callable[[Any], str | None], Callable[[Any, datetime, Effects], TimelineEvent]],
    ]:
        return {
            Acknowledge: (self._check_ack, self._apply_ack),
            AssignRole: (self._check_assign, self._apply_assign),
            ChangeSeverity: (self._check_severity, self._apply_severity),
            PostStatusUpdate: (self._check_update, self._apply_update),
            AddNote: (lambda d: None, self._apply_note),
            RaiseFlag: (self._check_flag, self._apply_flag),
            DeclareMitigated: (self._check_mitigate, self._apply_mitigate),
            Resolve: (self._check_resolve, self._apply_resolve),
            Reopen: (self._check_reopen, self._apply_reopen),
            SubmitPostmortem: (self._check_postmortem, self._apply_postmortem),
            AddActionItem: (self._check_action_item, self._apply_action_item),
            Close: (self._check_close, self._apply_close),
            ProposeContainment: (self._check_propose, self._apply_propose),
            ApproveContainment: (self._check_approve, self._apply_approve),
            DenyContainment: (self._check_deny, self._apply_deny),
            EnterDegradedMode: (self._check_degrade, self._apply_degrade),
            LiftDegradedMode: (self._check_lift, self._apply_lift),
            RecordCause: (self._check_cause, self._apply_cause),
        }

    def _open_only(self, what: str) -> str | None:
        if not self.state.phase.is_open:
            return f"cannot {what} once the incident is {self.state.phase.value}"
        return None

    def _check_ack(self, d: Acknowledge) -> str | None:
        s = self.state
        if s.acknowledged_at is not None:
            return f"already acknowledged by {s.acknowledged_by} at {_utc(s.acknowledged_at)}"
        return self._open_only("acknowledge")

    def _apply_ack(self, d: Acknowledge, now: datetime, fx: Effects) -> TimelineEvent:
        return self._acknowledge(now, d.actor, d.reason)

    def _acknowledge(self, now: datetime, actor: str, reason: str | None) -> TimelineEvent:
        s = self.state
        s.acknowledged_at, s.acknowledged_by = now, actor
        s.phase = Phase.RESPONDING
        took = format_duration(now - s.declared_at)
        return self._record(
            now, "acknowledged", actor, f"Acknowledged after {took}; paging stopped", reason
        )

    def _check_assign(self, d: AssignRole) -> str | None:
        if self.state.roles.get(d.role) == d.person:
            return f"{d.person} is already {d.role.title.lower()}"
        return None

    def _apply_assign(self, d: AssignRole, now: datetime, fx: Effects) -> TimelineEvent:
        previous = self.state.roles.get(d.role)
        self.state.roles[d.role] = d.person
        was = f" (was {previous})" if previous else ""
        return self._record(
            now, "role_assigned", d.actor, f"{d.role.title}: {d.person}{was}", d.reason
        )

    def _check_severity(self, d: ChangeSeverity) -> str | None:
        if d.severity is self.state.severity:
            return f"severity is already {d.severity}"
        if not d.reason:
            return "a severity change needs a reason"
        return self._open_only("change severity")

    def _apply_severity(self, d: ChangeSeverity, now: datetime, fx: Effects) -> TimelineEvent:
        s = self.state
        old = s.severity
        s.severity = d.severity
        direction = "raised" if d.severity.is_higher_than(old) else "lowered"
        event = self._record(
            now,
            "severity_changed",
            d.actor,
            f"Severity {direction} {old} → {d.severity}; timers re-planned from declaration",
            d.reason,
        )
        fx.notices.append(
            self._notice(
                now,
                f"severity:{event.seq}",
                NoticeKind.ESCALATION,
                INCIDENT_CHANNEL,
                f"{s.human_id} severity {direction} {old} → {d.severity}",
                reason=d.reason,
            )
        )
        if self.rule.executive_brief:
            fx.notices.append(
                self._notice(
                    now,
                    f"brief:severity:{event.seq}",
                    NoticeKind.EXECUTIVE_BRIEF,
                    EXECUTIVES,
                    f"{d.severity} incident: {s.title}",
                )
            )
        return event

    def _check_update(self, d: PostStatusUpdate) -> str | None:
        if d.status is not None and self.state.status is Status.MONITORING:
            return "the incident is monitoring recovery; reopen it to go back to " + d.status.value
        return self._open_only("post a status update")

    def _apply_update(self, d: PostStatusUpdate, now: datetime, fx: Effects) -> TimelineEvent:
        if d.status is not None:
            self.state.status = d.status
        fx.notices += self._post_update(now, d.actor, d.message, automatic=False)
        return self.state.timeline[-1]

    def _post_update(
        self, now: datetime, actor: str, message: str, *, automatic: bool
    ) -> list[Notice]:
        s = self.state
        s.last_status_update_at = now
        if not automatic:  # the latest word from a person, which automatic updates repeat
            s.last_status_update = message
        label = "Automatic status update" if automatic else "Status update"
        event = self._record(now, "status_update", actor, f"{label} ({s.status.value}): {message}")
        notices = [
            self._notice(
                now,
                f"update:{event.seq}",
                NoticeKind.STATUS_UPDATE,
                STAKEHOLDERS,
                f"{s.human_id} update: {s.status.value}",
                message=message,
                automatic=automatic,
            )
        ]
        if self.rule.executive_brief:
            notices.append(
                self._notice(
                    now,
                    f"brief:update:{event.seq}",
                    NoticeKind.EXECUTIVE_BRIEF,
                    EXECUTIVES,
                    f"{s.severity} incident: {s.title}",
                    message=message,
                )
            )
        return notices

    def _apply_note(self, d: AddNote, now: datetime, fx: Effects) -> TimelineEvent:
        self.state.notes += 1
        return self._record(now, "note", d.actor, d.text, d.reason)

    def _check_flag(self, d: RaiseFlag) -> str | None:
        triggers = self.policy.escalation_triggers
        if d.flag not in triggers:
            return f"unknown flag {d.flag!r}; known flags: {', '.join(sorted(triggers))}"
        if any(f.flag == d.flag for f in self.state.flags):
            return f"flag {d.flag!r} is already raised"
        return self._open_only("raise a flag")

    def _apply_flag(self, d: RaiseFlag, now: datetime, fx: Effects) -> TimelineEvent:
        s = self.state
        trigger = self.policy.escalation_triggers[d.flag]
        s.flags.append(
            RaisedFlag(flag=d.flag, label=trigger.label, at=now, actor=d.actor, reason=d.reason)
        )
        event = self._record(
            now,
            "flag_raised",
            d.actor,
            f"{trigger.label}: immediate escalation to {', '.join(trigger.notify)}",
            d.reason,
        )
        reason = f"{trigger.label} (raised by {d.actor})"
        for target in trigger.notify:
            fx.notices.append(
                self._escalate(now, f"flag:{d.flag}:{target}", target, None, reason, record=False)
            )
        if trigger.jump_ladder:
            for index, step in enumerate(self.rule.escalation):
                key = self._step_key(index)
                if key not in s.fired_steps and step.ladder is LadderKind.MANAGEMENT:
                    s.fired_steps.append(key)
                    fx.notices.append(
                        self._escalate(
                            now, key, step.target, step.contact, f"{reason}: ladder jumped"
                        )
                    )
        return event

    def _check_mitigate(self, d: DeclareMitigated) -> str | None:
        if self.state.status is Status.MONITORING:
            return "already monitoring recovery"
        if not d.reason:
            return "say what mitigated the impact (reason)"
        return self._open_only("declare mitigation")

    def _apply_mitigate(self, d: DeclareMitigated, now: datetime, fx: Effects) -> TimelineEvent:
        s = self.state
        if s.acknowledged_at is None:
            self._acknowledge(now, d.actor, "acknowledged by mitigating")
        if s.mitigated_at is None:
            s.mitigated_at = now
        return self._start_monitoring(now, d.actor, d.reason or "mitigated", kind="mitigated")

    def _start_monitoring(
        self, now: datetime, actor: str, reason: str, kind: str = "monitoring"
    ) -> TimelineEvent:
        s = self.state
        s.status = Status.MONITORING
        s.monitoring_since = now
        s.recovered_at = None
        s.probe_due = now + self.policy.recovery.quiet_window
        window = format_duration(self.policy.recovery.quiet_window)
        return self._record(
            now,
            kind,
            actor,
            f"Monitoring recovery: resolves after {window} without a recurring alert "
            f"and with SLO probes in bounds",
            reason,
        )

    def _check_resolve(self, d: Resolve) -> str | None:
        s = self.state
        if not d.root_cause:
            return "a resolution needs the root cause"
        if s.resolution_declared_at is not None:
            return "resolution already declared; waiting for the recovery criteria"
        return self._open_only("resolve")

    def _apply_resolve(self, d: Resolve, now: datetime, fx: Effects) -> TimelineEvent:
        s = self.state
        if s.acknowledged_at is None:
            self._acknowledge(now, d.actor, "acknowledged by resolving")
        s.root_cause = d.root_cause
        s.resolution_declared_at = now
        if s.status is not Status.MONITORING:
            self._start_monitoring(now, d.actor, "resolution declared")
        event = self._record(
            now, "resolution_declared", d.actor, f"Root cause: {d.root_cause}", d.reason
        )
        if s.recovered_at is not None:
            fx.notices += self._finish_resolution(now)
        return event

    def _check_reopen(self, d: Reopen) -> str | None:
        s = self.state
        if not d.reason:
            return "say why the incident is reopened (reason)"
        if s.phase in (Phase.RESOLVED, Phase.POST_INCIDENT):
            return None
        if s.phase.is_open and s.status is Status.MONITORING:
            return None
        return "only an incident that is monitoring recovery or resolved can be reopened"

    def _apply_reopen(self, d: Reopen, now: datetime, fx: Effects) -> TimelineEvent:
        fx.notices += self._reopen(now, d.actor, d.reason or "")
        return self.state.timeline[-1]

    def _reopen(self, now: datetime, actor: str, reason: str) -> list[Notice]:
        s = self.state
        was = s.phase.value if s.phase is not Phase.RESPONDING else s.status.value
        s.phase = Phase.RESPONDING
        s.status = Status.INVESTIGATING
        s.reopened += 1
        s.monitoring_since = s.recovered_at = s.resolved_at = s.resolution_declared_at = None
        s.probe_due = None
        s.last_status_update_at = now
        event = self._record(
            now, "reopened", actor, f"Reopened (was {was}); back to investigating", reason
        )
        return [
            self._notice(
                now,
                f"reopened:{event.seq}",
                NoticeKind.ESCALATION,
                INCIDENT_CHANNEL,
                f"{s.human_id} reopened: {reason}",
                reason=reason,
            )
        ]

    def _check_postmortem(self, d: SubmitPostmortem) -> str | None:
        if self.state.phase not in (Phase.RESOLVED, Phase.POST_INCIDENT):
            return "the postmortem comes after resolution"
        if d.status is PostmortemStatus.SCHEDULED and d.scheduled_for is None:
            return "a scheduled postmortem needs scheduled_for"
        return None

    def _apply_postmortem(self, d: SubmitPostmortem, now: datetime, fx: Effects) -> TimelineEvent:
        s = self.state
        previous = s.postmortem
        s.postmortem = Postmortem(
            status=d.status,
            submitted_at=now,
            submitted_by=d.actor,
            scheduled_for=d.scheduled_for or (previous.scheduled_for if previous else None),
            document_url=d.document_url or (previous.document_url if previous else None),
            summary=d.summary or (previous.summary if previous else ""),
            contributing_factors=d.contributing_factors
            or (previous.contributing_factors if previous else []),
            lessons=d.lessons or (previous.lessons if previous else []),
        )
        when = f" for {d.scheduled_for:%Y-%m-%d %H:%M} UTC" if d.scheduled_for else ""
        event = self._record(
            now, "postmortem", d.actor, f"Postmortem {d.status.value}{when}", d.reason
        )
        if d.status is PostmortemStatus.FINAL and s.phase is Phase.POST_INCIDENT:
            self._close(now, SYSTEM, "postmortem final")
        return event

    def _check_action_item(self, d: AddActionItem) -> str | None:
        if len(self.state.action_items) >= MAX_ACTION_ITEMS:
            return f"at most {MAX_ACTION_ITEMS} action items per incident"
        return None

    def _apply_action_item(self, d: AddActionItem, now: datetime, fx: Effects) -> TimelineEvent:
        s = self.state
        due = self.policy.action_item_due(d.priority, now)
        item = ActionItem(
            id=len(s.action_items) + 1,
            description=d.description,
            owner=d.owner,
            priority=d.priority,
            created_at=now,
            due=due,
        )
        s.action_items.append(item)
        by = f"due {due:%Y-%m-%d}" if due else "backlog"
        return self._record(
            now,
            "action_item",
            d.actor,
            f"Action item #{item.id} ({d.priority}, {d.owner}, {by}): {d.description}",
            d.reason,
        )

    def _check_close(self, d: Close) -> str | None:
        s = self.state
        if s.phase.is_open:
            return "resolve the incident before closing it"
        pm = s.postmortem
        if self.rule.postmortem.required and (
            pm is None or pm.status is not PostmortemStatus.FINAL
        ):
            state = pm.status.value if pm else "not started"
            return (
                f"a {s.severity} incident needs a final postmortem before it closes "
                f"(postmortem: {state})"
            )
        return None

    def _apply_close(self, d: Close, now: datetime, fx: Effects) -> TimelineEvent:
        return self._close(now, d.actor, d.reason)

    # --- containment ------------------------------------------------------------

    def action(self, action_id: int) -> ContainmentAction | None:
        """The containment action with that number."""
        return next((a for a in self.state.containment if a.id == action_id), None)

    def _propose(
        self,
        now: datetime,
        actor: str,
        kind: ActionKind,
        target: str,
        params: dict[str, str],
        reason: str | None,
        fx: Effects,
        group: str | None = None,
        autonomy: Autonomy | None = None,
    ) -> ContainmentAction:
        s = self.state
        rule = self.policy.containment
        mode = autonomy or rule.autonomy_for(
            kind, target=target, org=s.org, scope=scope_of(kind, params)
        )
        state = {
            Autonomy.RECOMMEND: ActionState.RECOMMENDED,
            Autonomy.APPROVE: ActionState.AWAITING_APPROVAL,
            Autonomy.AUTO: ActionState.RUNNING,
        }[mode]
        action = ContainmentAction(
            id=len(s.containment) + 1,
            kind=kind,
            target=target,
            params=params,
            group=group,
            autonomy=mode,
            state=state,
            proposed_by=actor,
            proposed_at=now,
            reason=reason,
            approval_due=now + rule.approval_within if mode is Autonomy.APPROVE else None,
        )
        s.containment.append(action)
        what = {
            Autonomy.RECOMMEND: "recommended (carry it out by hand)",
            Autonomy.APPROVE: f"awaiting approval by {' or '.join(self._approver_titles())}",
            Autonomy.AUTO: "running",
        }[mode]
        self._record(
            now, "containment_proposed", actor, f"Containment {action.title}: {what}", reason
        )
        if mode is Autonomy.AUTO:
            fx.run_actions.append(action.id)
        return action

    def _approver_titles(self) -> list[str]:
        return [Role(r).title.lower() for r in self.policy.containment.approvers]

    def _check_propose(self, d: ProposeContainment) -> str | None:
        return target_problem(d.kind, d.target, d.params) or self._open_only("propose containment")

    def _apply_propose(self, d: ProposeContainment, now: datetime, fx: Effects) -> TimelineEvent:
        self._propose(now, d.actor, d.kind, d.target, d.params, d.reason, fx)
        return self.state.timeline[-1]

    def _awaiting(self, action_id: int) -> tuple[ContainmentAction | None, str | None]:
        action = self.action(action_id)
        if action is None:
            return None, f"no containment action #{action_id}"
        if action.state is not ActionState.AWAITING_APPROVAL:
            return (
                None,
                f"{action.title} is {action.state.value.replace('_', ' ')}, not awaiting approval",
            )
        return action, None

    def _check_approve(self, d: ApproveContainment) -> str | None:
        _, problem = self._awaiting(d.action_id)
        if problem:
            return problem
        holders = {self.state.roles.get(Role(r)) for r in self.policy.containment.approvers}
        if d.actor not in holders:
            return (
                f"{d.actor} cannot approve containment: only the "
                f"{' or '.join(self._approver_titles())} can"
            )
        return None

    def _apply_approve(self, d: ApproveContainment, now: datetime, fx: Effects) -> TimelineEvent:
        decided = self._decide_awaiting(d.action_id, ActionState.RUNNING, d.actor, now)
        fx.run_actions += [a.id for a in decided]
        titles = ", ".join(a.title for a in decided)
        return self._record(now, "containment_approved", d.actor, f"Approved {titles}", d.reason)

    def _decide_awaiting(
        self, action_id: int, outcome: ActionState, actor: str, now: datetime
    ) -> list[ContainmentAction]:
        """Approve or deny an action and every action awaiting approval in its group."""
        action = self.action(action_id)
        assert action is not None
        decided = [
            a
            for a in self.state.containment
            if a is action
            or (a.group and a.group == action.group and a.state is ActionState.AWAITING_APPROVAL)
        ]
        for item in decided:
            item.state, item.decided_by, item.decided_at = outcome, actor, now
        return decided

    def _check_deny(self, d: DenyContainment) -> str | None:
        _, problem = self._awaiting(d.action_id)
        if problem:
            return problem
        if not d.reason:
            return "a denial needs a reason"
        return self._check_approve(ApproveContainment(actor=d.actor, action_id=d.action_id))

    def _apply_deny(self, d: DenyContainment, now: datetime, fx: Effects) -> TimelineEvent:
        decided = self._decide_awaiting(d.action_id, ActionState.DENIED, d.actor, now)
        titles = ", ".join(a.title for a in decided)
        return self._record(now, "containment_denied", d.actor, f"Denied {titles}", d.reason)

    def _degraded(self, org: str) -> list[ContainmentAction]:
        return [
            a
            for a in self.state.containment
            if a.group == f"degraded:{org}"
            and a.state
            in (ActionState.AWAITING_APPROVAL, ActionState.RUNNING, ActionState.IN_FORCE)
        ]

    def _check_degrade(self, d: EnterDegradedMode) -> str | None:
        problem = target_problem(ActionKind.ACTIVATE_DENYLIST, d.org)
        if problem:
            return problem
        if self._degraded(d.org):
            return f"org {d.org} is already in degraded mode"
        return self._open_only("enter degraded mode")

    def _apply_degrade(self, d: EnterDegradedMode, now: datetime, fx: Effects) -> TimelineEvent:
        rule = self.policy.containment
        event = self._record(
            now,
            "degraded_mode",
            d.actor,
            f"Degraded mode for org {d.org}: " + ", ".join(k.label for k in rule.degraded_mode),
            d.reason,
        )
        for kind in rule.degraded_mode:
            # Degraded mode acts on the whole org: L1 for every deployment of it.
            self._propose(
                now,
                d.actor,
                kind,
                d.org,
                {"scope": "org"},
                d.reason,
                fx,
                group=f"degraded:{d.org}",
                autonomy=rule.degraded_mode_autonomy,
            )
        return event

    def _check_lift(self, d: LiftDegradedMode) -> str | None:
        if not self._degraded(d.org):
            return f"org {d.org} is not in degraded mode"
        return None

    def _apply_lift(self, d: LiftDegradedMode, now: datetime, fx: Effects) -> TimelineEvent:
        for action in self._degraded(d.org):
            if action.state is ActionState.AWAITING_APPROVAL:
                action.state = ActionState.DENIED
                action.detail = "withdrawn: degraded mode lifted"
        fx.undo_actions += self._compensate([a for a in self._degraded(d.org)])
        return self._record(
            now, "degraded_mode_lifted", d.actor, f"Degraded mode lifted for org {d.org}", d.reason
        )

    def _check_cause(self, d: RecordCause) -> str | None:
        causes = self.policy.containment.causes
        if d.cause not in causes:
            return f"unknown cause {d.cause!r}; known causes: {', '.join(sorted(causes))}"
        return self._open_only("record a cause")

    def _apply_cause(self, d: RecordCause, now: datetime, fx: Effects) -> TimelineEvent:
        rule = self.policy.containment.causes[d.cause]
        self.state.cause = d.cause
        if self.state.status is Status.INVESTIGATING:
            self.state.status = Status.IDENTIFIED
        event = self._record(now, "cause", d.actor, f"{rule.label}. {rule.advice}", d.reason)
        self._propose_steps(now, d.actor, rule.actions, f"decision tree: {rule.label}", fx)
        return event

    def _propose_steps(
        self, now: datetime, actor: str, steps: list[PlaybookStep], why: str, fx: Effects
    ) -> None:
        for step in steps:
            target = self.state.labels.get(step.target_label)
            if target is None:
                self._record(
                    now,
                    "containment_skipped",
                    actor,
                    f"{why} suggests {step.kind.label}, but the alert has no "
                    f"'{step.target_label}' label to aim it at",
                )
                continue
            problem = target_problem(step.kind, target)
            if problem:
                # A label can hold anything; it never becomes a path on the control plane.
                self._record(
                    now,
                    "containment_skipped",
                    actor,
                    f"{why} suggests {step.kind.label}, but its '{step.target_label}' label "
                    f"cannot be a target: {problem}",
                )
                continue
            if any(a.kind is step.kind and a.target == target for a in self.state.containment):
                continue
            self._propose(now, actor, step.kind, target, {}, why, fx)

    def propose_playbooks(self, now: datetime) -> Effects:
        """Propose the playbook actions that match the incident's alert labels."""
        fx = Effects()
        for playbook in self.policy.containment.playbooks:
            if all(self.state.labels.get(k) == v for k, v in playbook.match.items()):
                self._propose_steps(
                    now, "playbook", playbook.actions, f"playbook: {playbook.name}", fx
                )
        return fx

    def on_action_result(
        self, action_id: int, *, undo: bool, ok: bool, detail: str, now: datetime
    ) -> Effects:
        """Take the control plane's answer for an action or its undo."""
        fx = Effects()
        action = self.action(action_id)
        if action is None:
            return fx
        action.detail = detail
        if undo and ok:
            action.state = ActionState.COMPENSATED
            action.undo_retry_due = None
            self._record(
                now,
                "containment_compensated",
                SYSTEM,
                f"Undone {action.title}: {action.kind.undo_label} ({detail})",
            )
            return fx
        if undo:
            return self._undo_failed(action, detail, now)
        if not ok:
            action.state = ActionState.FAILED
            self._record(now, "containment_failed", SYSTEM, f"{action.title} failed: {detail}")
            return fx
        action.state = ActionState.IN_FORCE
        self._record(now, "containment_done", SYSTEM, f"{action.title} done: {detail}")
        if self._should_compensate():
            fx.undo_actions += self._compensate([action])
        return fx

    def _undo_failed(self, action: ContainmentAction, detail: str, now: datetime) -> Effects:
        """Only a confirmed undo counts: the action stays in force, visibly, and is retried.

        The first failure escalates, since something the incident turned off (a
        trigger, an org's autonomy) stays off until a person or a later retry fixes it.
        """
        fx = Effects()
        action.compensation_attempts += 1
        action.undo_retry_due = now + UNDO_RETRY_AFTER
        self._record(
            now,
            "containment_undo_failed",
            SYSTEM,
            f"Could not {action.kind.undo_label} for {action.title}: {detail}; it is still in "
            f"force, retrying at {_utc(action.undo_retry_due)} "
            f"(attempt {action.compensation_attempts})",
        )
        if action.compensation_attempts == 1:
            target = self.state.roles.get(
                Role.INCIDENT_COMMANDER, self.policy.containment.approval_escalates_to
            )
            fx.notices.append(
                self._escalate(
                    now,
                    f"undo_failed:{action.id}",
                    target,
                    None,
                    f"{action.title} could not be undone and is still in force: {detail}",
                    record=False,
                )
            )
        return fx

    def _should_compensate(self) -> bool:
        s = self.state
        return s.recovered_at is not None or s.phase is Phase.CLOSED

    def _compensate(self, actions: list[ContainmentAction]) -> list[int]:
        """Mark reversible actions in force for undoing, newest first; returns their ids."""
        undo = []
        for action in sorted(actions, key=lambda a: a.id, reverse=True):
            if action.kind.reversible and action.state is ActionState.IN_FORCE:
                action.state = ActionState.COMPENSATING
                undo.append(action.id)
        return undo

    def undoing(self) -> bool:
        """Whether an undo is still owed: the incident must not end before it is confirmed."""
        return any(a.state is ActionState.COMPENSATING for a in self.state.containment)

    def note_cancelled(self, now: datetime) -> None:
        """The workflow was cancelled: say so; containment still in force will be undone."""
        in_force = [a.title for a in self.state.containment if a.state is ActionState.IN_FORCE]
        undo = f"; undoing {', '.join(in_force)}" if in_force else ""
        self._record(now, "cancelled", SYSTEM, f"Incident workflow cancelled{undo}")

    def compensate_all(self) -> list[int]:
        """Undo every reversible action still in force (recovery held, or the incident closes)."""
        return self._compensate(list(self.state.containment))

    # --- records ------------------------------------------------------------------

    def _record(
        self, now: datetime, kind: str, actor: str, text: str, reason: str | None = None
    ) -> TimelineEvent:
        s = self.state
        s.timeline_seq += 1
        event = TimelineEvent(
            seq=s.timeline_seq, at=now, kind=kind, actor=actor, text=text, reason=reason
        )
        s.timeline.append(event)
        self._trim_timeline()
        return event

    def _event_bytes(self, event: TimelineEvent) -> int:
        size = self._sizes.get(event.seq)
        if size is None:
            size = bounds.payload_bytes(event)
            self._sizes[event.seq] = size
        return size

    def _trim_timeline(self) -> None:
        """Keep the timeline within its count and byte budget.

        Events the store has are dropped first, oldest first. Events it has not
        taken yet are kept while the store is down — up to MAX_UNRECORDED events
        and TIMELINE_BYTES, past which the oldest are dropped and counted in
        ``records_lost``: a run over its byte budget would be terminated.
        """
        s = self.state
        timeline = s.timeline
        total = sum(self._event_bytes(e) for e in timeline)
        drop = 0
        while drop < len(timeline) and (
            len(timeline) - drop > MAX_TIMELINE or total > bounds.TIMELINE_BYTES
        ):
            event = timeline[drop]
            unrecorded_left = len(timeline) - drop
            if event.seq > s.recorded_seq:
                if unrecorded_left <= MAX_UNRECORDED and total <= bounds.TIMELINE_BYTES:
                    break  # over the count only: the store will take these soon
                if drop == len(timeline) - 1:
                    break  # never drop the event just written
                s.records_lost += 1
            total -= self._event_bytes(event)
            self._sizes.pop(event.seq, None)
            drop += 1
        if drop:
            del timeline[:drop]
            s.timeline_dropped += drop

    def fit(self, budget: int) -> None:
        """Shrink what the state keeps until it is at most ``budget`` bytes.

        The last resort before the state is carried into a new run, where a
        payload over the server's limit would end the incident. Channel outcomes
        and timeline events the store has not taken go first (counted in
        ``records_lost``), then the oldest timeline, then the alerts seen least
        recently (counted in ``alerts_untracked``).
        """
        s = self.state
        while bounds.payload_bytes(s) > budget:
            if s.unrecorded_notifications:
                drop = max(1, len(s.unrecorded_notifications) // 2)
                del s.unrecorded_notifications[:drop]
                s.records_lost += drop
            elif len(s.timeline) > MIN_TIMELINE_KEPT:
                drop = len(s.timeline) // 2
                s.records_lost += sum(1 for e in s.timeline[:drop] if e.seq > s.recorded_seq)
                del s.timeline[:drop]
                s.timeline_dropped += drop
                self._sizes.clear()
            elif len(s.alerts) > MIN_TIMELINE_KEPT:
                by_age = sorted(s.alerts.values(), key=lambda a: a.last_seen)
                for alert in by_age[: len(by_age) // 2]:
                    del s.alerts[alert.fingerprint]
                    s.alerts_untracked += 1
            else:
                return

    def mark_recorded(self, batch: RecordBatch, now: datetime) -> None:
        """The store has taken ``batch``: what it covered need not be kept for it any more."""
        s = self.state
        s.recorded_seq = max(s.recorded_seq, batch.last_seq)
        del s.unrecorded_notifications[: len(batch.notifications)]
        if batch.action_items:
            s.action_items_recorded = max(s.action_items_recorded, batch.action_items[-1].id)
        if s.records_lost > s.records_lost_noted:
            lost = s.records_lost - s.records_lost_noted
            s.records_lost_noted = s.records_lost
            self._record(
                now,
                "record_gap",
                SYSTEM,
                f"{lost} timeline event(s) were dropped before the store could take them: "
                "it was unreachable for too long to keep them all",
            )
        self._trim_timeline()

    def note_store_unreachable(self, now: datetime, waited: timedelta, problem: str) -> None:
        """The store did not take a write for ``waited``; the events wait in the state."""
        self._record(
            now,
            "store_unreachable",
            SYSTEM,
            f"The incident record could not be written for {format_duration(waited)} "
            f"({bounds.clip(problem, 300)}); the incident goes on and the record catches up "
            "when the store is back",
        )

    def record_refused(self, batch: RecordBatch, reason: str, now: datetime) -> None:
        """The store refused ``batch`` for good: skip past it and say so on the timeline."""
        self.mark_recorded(batch, now)
        self._record(
            now,
            "record_refused",
            SYSTEM,
            f"The store refused {len(batch.events)} timeline event(s) "
            f"(up to #{batch.last_seq}): {bounds.clip(reason, 500)}",
        )

    def fits_decision(self, decision: Decision) -> str | None:
        """Why ``decision`` is too large to take, or None."""
        size = bounds.payload_bytes(decision)
        if size > bounds.DECISION_BYTES:
            return (
                f"the decision is {size:,} bytes; at most {bounds.DECISION_BYTES:,} are taken "
                "(link a document for longer text)"
            )
        return None

    def record_outcomes(
        self,
        notice: Notice,
        outcomes: list[DeliveryOutcome],
        now: datetime,
        failure: str | None = None,
    ) -> None:
        """Keep each channel's outcome for the store (a failed delivery counts as one)."""
        records = [
            NotificationRecord(
                key=notice.key,
                kind=notice.kind.value,
                audience=notice.audience,
                channel=o.channel,
                delivered=o.delivered,
                status_code=o.status_code,
                detail=o.detail,
                at=now,
            )
            for o in outcomes
        ]
        if failure is not None:
            records.append(
                NotificationRecord(
                    key=notice.key,
                    kind=notice.kind.value,
                    audience=notice.audience,
                    channel="*",
                    delivered=False,
                    detail=failure[:500],
                    at=now,
                )
            )
        pending = self.state.unrecorded_notifications
        pending.extend(records)
        over = max(0, len(pending) - MAX_UNRECORDED_NOTIFICATIONS)
        if over:
            del pending[:over]
            self.state.records_lost += over

    def record_delivery_problem(self, now: datetime, notice: Notice, problem: str) -> None:
        """Put a channel's refusal or a failed delivery on the timeline."""
        self._record(
            now,
            "notification_failed",
            SYSTEM,
            f"{notice.kind.value} to {notice.audience}: {problem}",
        )

    def _notice(
        self,
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
    ) -> Notice:
        return Notice(
            key=key,
            incident_uid=self.state.uid,
            kind=kind,
            audience=audience,
            contact=contact,
            headline=headline,
            reason=reason,
            message=message,
            automatic=automatic,
            at=now,
            incident=self.brief(now),
        )
