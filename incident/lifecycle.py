"""The incident state machine's façade: decisions, alerts and timers applied to one incident.

``Incident`` is pure and deterministic: it is given the time, never reads a
clock, and returns the notices to send instead of sending them. The workflow
owns one and turns its answers into timers and activities; tests drive it
directly. The rules themselves live in ``incident.rules``, one module per
concern; this class holds the state and the policy and hands each call to
the rule that owns it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from incident import bounds
from incident.classify import Classification, classify
from incident.containment import ContainmentAction
from incident.escalation import PagingPlan
from incident.impact import ComponentImpact
from incident.models import (
    Alert,
    AlertBatch,
    Decision,
    Declaration,
    IncidentState,
    PendingTimer,
    Phase,
    ProbeResult,
    Room,
    RoomRequest,
    Status,
    TimelineEvent,
)
from incident.notices import DeliveryOutcome, DeliveryReport, IncidentBrief, Notice
from incident.policy import Policy, SeverityRule, SloProbe
from incident.records import RecordBatch
from incident.rules import (
    checklists,
    communication,
    customers,
    decisions,
    postmortem,
    reach,
    recovery,
    saga,
    timeline,
    timers,
    triage,
    verification,
    views,
)
from incident.rules.effects import DecisionRejected, Effects

__all__ = ["TITLE_BYTES", "DecisionRejected", "Effects", "Incident"]

TITLE_BYTES = 512
"""An alert-derived title (a summary annotation may be 8 KiB) as headlines carry it."""


class Incident:
    """One incident's state and the policy it follows; every rule is a call away."""

    def __init__(self, state: IncidentState, policy: Policy, *, after_close: bool = False) -> None:
        self.state = state
        self.policy = policy
        self.after_close = after_close
        """A closed incident's follow-up (``workflows.follow_up``): its action items still take
        decisions and remind their owners; nothing else happens."""
        self.event_sizes: dict[int, int] = {}
        """Timeline events' sizes in bytes, by ``seq``, measured once (``rules.timeline``)."""

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
        whole_seconds: bool = True,
        runbook_rules: bool = True,
    ) -> tuple[Incident, Effects]:
        """Detect and triage a new incident from a declaration or its first alerts
        (``whole_seconds`` and ``runbook_rules``: see ``IncidentState``)."""
        if declaration is not None:
            found = Classification(
                severity=declaration.severity,
                title=declaration.title,
                service=declaration.service,
                org=declaration.org,
                summary=declaration.summary,
            )
        else:
            found = classify(alerts, policy)
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
            declared_by=declaration.actor if declaration else source,
            last_status_update_at=now,
            whole_seconds=whole_seconds,
            runbook_rules=runbook_rules,
            bridge_url=policy.communication.bridge_url,
        )
        incident = cls(state, policy)
        effects = triage.triage(
            incident, declaration=declaration, alerts=alerts, truncated=truncated, now=now
        )
        return incident, effects

    # --- what the rules share ---------------------------------------------------

    @property
    def rule(self) -> SeverityRule:
        """The policy's rule for the current severity."""
        return self.policy.rule(self.state.severity)

    def ack_due(self) -> datetime:
        """When acknowledgement is (or was) due: for a severity paged in business hours
        only, counted from when they start and falling within them."""
        s = self.state
        if s.runbook_rules and self.rule.pages_in_business_hours_only:
            hours = self.policy.business_hours
            due = self.policy.response_deadline(s.severity, hours.open_at(s.declared_at))
            return hours.open_at(due)
        return self.policy.response_deadline(s.severity, s.declared_at)

    # --- what the workflow calls --------------------------------------------------

    def check(self, decision: Decision, now: datetime) -> None:
        """Raise DecisionRejected, with a reason for a person, if ``decision`` cannot apply at
        ``now``."""
        decisions.check(self, decision, now)

    def apply(self, decision: Decision, now: datetime) -> tuple[TimelineEvent, Effects]:
        """Apply a checked decision; returns its timeline event and what to send."""
        return decisions.apply(self, decision, now)

    def pending(self) -> list[PendingTimer]:
        """Every timer the incident is waiting on, soonest first."""
        return timers.pending(self)

    def timer_due(self, timer: PendingTimer, now: datetime) -> Effects:
        """Do what a due timer is for."""
        effects = timers.timer_due(self, timer, now)
        checklists.observe(self, now)
        return effects

    def on_alerts(self, batch: AlertBatch, now: datetime) -> Effects:
        """Count alerts; a firing during monitoring or after resolution reopens the incident."""
        effects = recovery.on_alerts(self, batch, now)
        checklists.observe(self, now)
        return effects

    def on_probe(self, result: ProbeResult, now: datetime) -> Effects:
        """Take the SLO probes' verdict while recovery is being watched."""
        effects = recovery.on_probe(self, result, now)
        checklists.observe(self, now)
        return effects

    def recovery_probes(self) -> list[SloProbe]:
        """The recovery exit criteria's probes, scoped to this incident."""
        return recovery.recovery_probes(self)

    def rollback_probes(self, action_id: int) -> list[SloProbe]:
        """The post-rollback probes for that rollback, scoped to its deployment."""
        return verification.probes_for(self, action_id)

    def on_rollback_checked(self, action_id: int, result: ProbeResult, now: datetime) -> Effects:
        """Take the post-rollback probes' verdict: verified, or escalate and investigate."""
        return verification.on_checked(self, action_id, result, now)

    def room_wanted(self) -> RoomRequest | None:
        """What to open the incident's Slack channel with, when its severity gets one."""
        return communication.room_wanted(self)

    def room_opened(self, room: Room, now: datetime) -> None:
        """The incident's channel is open: notices link it from now on."""
        communication.room_opened(self, room, now)

    def room_not_opened(self, problem: str, now: datetime) -> None:
        """The room could not be opened (``problem`` says why); the incident goes on."""
        communication.room_not_opened(self, problem, now)

    def link_previous(self, human_id: str, closed_at: datetime, now: datetime) -> None:
        """Link to the group's previous incident if it closed within the policy's window."""
        recovery.link_previous(self, human_id, closed_at, now)

    def customer_impact(self) -> ComponentImpact:
        """How the incident's service looks to customers now."""
        return customers.impact(self)

    def customer_draft(self, now: datetime) -> str:
        """The customer update the policy's template gives for where the incident stands."""
        return customers.draft(self, now)

    def propose_playbooks(self, now: datetime) -> Effects:
        """Propose the containment the alert's playbooks call for."""
        return saga.propose_playbooks(self, now)

    def use_paging(self, plan: PagingPlan | None, now: datetime, problem: str | None) -> None:
        """Page by the service's escalation policy (``plan``) from now on, or, when the
        directory has none (``problem`` says why if it could not be read), by the severity's
        ladder."""
        reach.use(self, plan, now, problem)

    def delivered(self, notice: Notice, report: DeliveryReport, now: datetime) -> None:
        """Who a notice reached and how, on the timeline; the follow-ups their rules ask for."""
        reach.delivered(self, notice, report, now)

    def action(self, action_id: int) -> ContainmentAction | None:
        """The containment action with that number."""
        return saga.action_by_id(self, action_id)

    def on_action_result(
        self, action_id: int, *, undo: bool, ok: bool, detail: str, now: datetime
    ) -> Effects:
        """Take the control plane's answer for an action or its undo."""
        effects = saga.on_action_result(self, action_id, undo=undo, ok=ok, detail=detail, now=now)
        if ok and not undo:
            verification.rollback_done(self, action_id, now)
        return effects

    def compensate_all(self) -> list[int]:
        """Undo every reversible action still in force (recovery held, or the incident closes)."""
        return saga.compensate_all(self)

    def undoing(self) -> bool:
        """Whether an undo is still owed: the incident must not end before it is confirmed."""
        return saga.undoing(self)

    def note_cancelled(self, now: datetime) -> None:
        """The workflow was cancelled: say so; containment still in force will be undone."""
        saga.note_cancelled(self, now)

    def next_update_due(self) -> datetime | None:
        """When the next status update is due, while updates are on a cadence."""
        return communication.next_update_due(self)

    def postmortem_deadlines(self) -> tuple[datetime | None, datetime | None]:
        """When the postmortem must be scheduled and completed (None before resolution)."""
        return postmortem.postmortem_deadlines(self)

    # --- views ----------------------------------------------------------------------

    def brief(self, now: datetime) -> IncidentBrief:
        """The facts a notice about this incident carries."""
        return views.brief(self, now)

    def search_fields(self) -> dict[str, str]:
        """Values for the Web UI's search attributes."""
        return views.search_fields(self)

    def details(self, now: datetime, pending: list[PendingTimer]) -> str:
        """Markdown for the Web UI's current details: where it stands and what comes next."""
        return views.details(self, now, pending)

    def waiting_for(self) -> str:
        """What the incident needs from people right now, in one line."""
        return views.waiting_for(self)

    # --- the record -------------------------------------------------------------------

    def mark_recorded(self, batch: RecordBatch, now: datetime) -> None:
        """The store has taken ``batch``."""
        timeline.mark_recorded(self, batch, now)

    def record_refused(self, batch: RecordBatch, reason: str, now: datetime) -> None:
        """The store refused ``batch`` for good: skip past it and say so on the timeline."""
        timeline.record_refused(self, batch, reason, now)

    def note_store_unreachable(self, now: datetime, waited: timedelta, problem: str) -> None:
        """The store did not take a write for ``waited``; the events wait in the state."""
        timeline.note_store_unreachable(self, now, waited, problem)

    def record_outcomes(
        self,
        notice: Notice,
        outcomes: list[DeliveryOutcome],
        now: datetime,
        failure: str | None = None,
    ) -> None:
        """Keep each channel's outcome for the store (a failed delivery counts as one)."""
        timeline.record_outcomes(self, notice, outcomes, now, failure)

    def note_ticket_problem(self, now: datetime, item_id: int, problem: str) -> None:
        """The ticket tracker refused (or never took) an action item's change: say so."""
        timeline.add_event(
            self, now, "ticket_problem", "warroom", f"Action item #{item_id}: {problem}"
        )

    def note_delivery_problem(self, now: datetime, notice: Notice, problem: str) -> None:
        """Put a channel's refusal or a failed delivery on the timeline."""
        timeline.note_delivery_problem(self, now, notice, problem)

    def fit(self, budget: int) -> None:
        """Shrink what the state keeps until it is at most ``budget`` bytes."""
        timeline.fit(self, budget)
