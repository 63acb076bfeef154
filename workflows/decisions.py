"""The doors of IncidentWorkflow for human decisions: one validated update per decision.

Each handler only hands its decision to the incident (``_check`` in the validator,
``_decide`` in the handler); which rule takes it lives in ``incident.rules.decisions``.
``tests/workflows/test_decision_registry.py`` proves this list and the models agree.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from incident.lifecycle import DecisionRejected, Effects, Incident
    from incident.models import (
        Acknowledge,
        AddActionItem,
        AddNote,
        ApproveContainment,
        AssignRole,
        ChangeSeverity,
        CheckOff,
        Close,
        CompleteActionItem,
        Decision,
        DecisionReceipt,
        DeclareMitigated,
        DenyContainment,
        EnterDegradedMode,
        Escalate,
        IdentifyCause,
        LiftDegradedMode,
        PostCustomerUpdate,
        PostStatusUpdate,
        ProposeContainment,
        RaiseFlag,
        ReassignActionItem,
        Reopen,
        ReopenActionItem,
        Resolve,
        SetImpact,
        SubmitPostmortem,
    )

FORMER_NAMES: dict[str, type[Decision]] = {"record_cause": IdentifyCause}
"""Updates renamed since release, still answered: older clients and saved histories use them."""


def refuse_unless_taken(incident: Incident, decision: Decision, now: datetime) -> None:
    """What an update's validator does: refuse ``decision`` (ApplicationError with the
    incident's reason) before it enters history, if it cannot apply at ``now``."""
    try:
        incident.check(decision, now)
    except DecisionRejected as err:
        raise ApplicationError(str(err), type="DecisionRejected", non_retryable=True) from None


def take(incident: Incident, decision: Decision, now: datetime) -> tuple[DecisionReceipt, Effects]:
    """What an update's handler does: apply ``decision``; its receipt and what to send."""
    event, effects = incident.apply(decision, now)
    s = incident.state
    receipt = DecisionReceipt(
        human_id=s.human_id, event=event, phase=s.phase, status=s.status, severity=s.severity
    )
    return receipt, effects


class ActionItemUpdates(ABC):
    """The update handlers for action items: a closed incident's follow-up takes these too
    (``workflows.follow_up``); the workflow supplies how a decision is checked and taken."""

    @abstractmethod
    def _check(self, decision: Decision) -> None:
        """Refuse the decision (ApplicationError) before it enters history."""

    @abstractmethod
    def _decide(self, decision: Decision) -> DecisionReceipt:
        """Take the decision; what changed."""

    @workflow.update
    def add_action_item(self, decision: AddActionItem) -> DecisionReceipt:
        """Add a follow-up task; its due date comes from the priority's SLA."""
        return self._decide(decision)

    @add_action_item.validator
    def _check_add_action_item(self, decision: AddActionItem) -> None:
        self._check(decision)

    @workflow.update
    def complete_action_item(self, decision: CompleteActionItem) -> DecisionReceipt:
        """An action item is done; its reminders stop."""
        return self._decide(decision)

    @complete_action_item.validator
    def _check_complete_action_item(self, decision: CompleteActionItem) -> None:
        self._check(decision)

    @workflow.update
    def reassign_action_item(self, decision: ReassignActionItem) -> DecisionReceipt:
        """Give an action item to someone else; they are told."""
        return self._decide(decision)

    @reassign_action_item.validator
    def _check_reassign_action_item(self, decision: ReassignActionItem) -> None:
        self._check(decision)

    @workflow.update
    def reopen_action_item(self, decision: ReopenActionItem) -> DecisionReceipt:
        """Reopen a done action item, with a reason."""
        return self._decide(decision)

    @reopen_action_item.validator
    def _check_reopen_action_item(self, decision: ReopenActionItem) -> None:
        self._check(decision)


class DecisionUpdates(ActionItemUpdates):
    """Every other decision's update handler, for the incident's own workflow."""

    @workflow.update
    def acknowledge(self, decision: Acknowledge) -> DecisionReceipt:
        """Acknowledge: stops the paging ladder."""
        return self._decide(decision)

    @acknowledge.validator
    def _check_acknowledge(self, decision: Acknowledge) -> None:
        self._check(decision)

    @workflow.update
    def escalate(self, decision: Escalate) -> DecisionReceipt:
        """Bring in the next level now."""
        return self._decide(decision)

    @escalate.validator
    def _check_escalate(self, decision: Escalate) -> None:
        self._check(decision)

    @workflow.update
    def assign_role(self, decision: AssignRole) -> DecisionReceipt:
        """Give an incident role to a person."""
        return self._decide(decision)

    @assign_role.validator
    def _check_assign_role(self, decision: AssignRole) -> None:
        self._check(decision)

    @workflow.update
    def change_severity(self, decision: ChangeSeverity) -> DecisionReceipt:
        """Re-grade the incident; all timers are re-planned from the declaration."""
        return self._decide(decision)

    @change_severity.validator
    def _check_change_severity(self, decision: ChangeSeverity) -> None:
        self._check(decision)

    @workflow.update
    def post_status_update(self, decision: PostStatusUpdate) -> DecisionReceipt:
        """Post a status update; resets the communication cadence."""
        return self._decide(decision)

    @post_status_update.validator
    def _check_post_status_update(self, decision: PostStatusUpdate) -> None:
        self._check(decision)

    @workflow.update
    def post_customer_update(self, decision: PostCustomerUpdate) -> DecisionReceipt:
        """Tell customers where things stand (the status page and customer channels)."""
        return self._decide(decision)

    @post_customer_update.validator
    def _check_post_customer_update(self, decision: PostCustomerUpdate) -> None:
        self._check(decision)

    @workflow.update
    def add_note(self, decision: AddNote) -> DecisionReceipt:
        """Add a note to the timeline."""
        return self._decide(decision)

    @add_note.validator
    def _check_add_note(self, decision: AddNote) -> None:
        self._check(decision)

    @workflow.update
    def raise_flag(self, decision: RaiseFlag) -> DecisionReceipt:
        """Raise an immediate-escalation flag (data loss, security breach, ...)."""
        return self._decide(decision)

    @raise_flag.validator
    def _check_raise_flag(self, decision: RaiseFlag) -> None:
        self._check(decision)

    @workflow.update
    def declare_mitigated(self, decision: DeclareMitigated) -> DecisionReceipt:
        """Impact contained: start watching recovery."""
        return self._decide(decision)

    @declare_mitigated.validator
    def _check_declare_mitigated(self, decision: DeclareMitigated) -> None:
        self._check(decision)

    @workflow.update
    def resolve(self, decision: Resolve) -> DecisionReceipt:
        """Declare resolution with the root cause; resolves once recovery criteria hold."""
        return self._decide(decision)

    @resolve.validator
    def _check_resolve(self, decision: Resolve) -> None:
        self._check(decision)

    @workflow.update
    def reopen(self, decision: Reopen) -> DecisionReceipt:
        """Send the incident back to responding."""
        return self._decide(decision)

    @reopen.validator
    def _check_reopen(self, decision: Reopen) -> None:
        self._check(decision)

    @workflow.update
    def submit_postmortem(self, decision: SubmitPostmortem) -> DecisionReceipt:
        """Record the postmortem; a final one closes the incident."""
        return self._decide(decision)

    @submit_postmortem.validator
    def _check_submit_postmortem(self, decision: SubmitPostmortem) -> None:
        self._check(decision)

    @workflow.update
    def close(self, decision: Close) -> DecisionReceipt:
        """Close the incident."""
        return self._decide(decision)

    @close.validator
    def _check_close(self, decision: Close) -> None:
        self._check(decision)

    @workflow.update
    def propose_containment(self, decision: ProposeContainment) -> DecisionReceipt:
        """Propose a containment action; its autonomy decides whether it runs."""
        return self._decide(decision)

    @propose_containment.validator
    def _check_propose_containment(self, decision: ProposeContainment) -> None:
        self._check(decision)

    @workflow.update
    def approve_containment(self, decision: ApproveContainment) -> DecisionReceipt:
        """Approve an action awaiting approval (incident commander or technical lead)."""
        return self._decide(decision)

    @approve_containment.validator
    def _check_approve_containment(self, decision: ApproveContainment) -> None:
        self._check(decision)

    @workflow.update
    def deny_containment(self, decision: DenyContainment) -> DecisionReceipt:
        """Deny an action awaiting approval, with a reason."""
        return self._decide(decision)

    @deny_containment.validator
    def _check_deny_containment(self, decision: DenyContainment) -> None:
        self._check(decision)

    @workflow.update
    def enter_degraded_mode(self, decision: EnterDegradedMode) -> DecisionReceipt:
        """Degraded mode for an org: L1, emergency denylist, paused triggers, as one."""
        return self._decide(decision)

    @enter_degraded_mode.validator
    def _check_enter_degraded_mode(self, decision: EnterDegradedMode) -> None:
        self._check(decision)

    @workflow.update
    def lift_degraded_mode(self, decision: LiftDegradedMode) -> DecisionReceipt:
        """Lift degraded mode for an org, as one."""
        return self._decide(decision)

    @lift_degraded_mode.validator
    def _check_lift_degraded_mode(self, decision: LiftDegradedMode) -> None:
        self._check(decision)

    @workflow.update
    def identify_cause(self, decision: IdentifyCause) -> DecisionReceipt:
        """Name the cause; proposes the decision tree's actions."""
        return self._decide(decision)

    @identify_cause.validator
    def _check_identify_cause(self, decision: IdentifyCause) -> None:
        self._check(decision)

    @workflow.update
    def check(self, decision: CheckOff) -> DecisionReceipt:
        """Tick or untick a checklist item by hand, with a note."""
        return self._decide(decision)

    @check.validator
    def _check_check(self, decision: CheckOff) -> None:
        self._check(decision)

    @workflow.update
    def set_impact(self, decision: SetImpact) -> DecisionReceipt:
        """Say what the incident costs: users, traffic, revenue, data."""
        return self._decide(decision)

    @set_impact.validator
    def _check_set_impact(self, decision: SetImpact) -> None:
        self._check(decision)

    @workflow.update(name="record_cause")
    def record_cause(self, decision: IdentifyCause) -> DecisionReceipt:
        """identify_cause under its former name: older clients and saved histories use it."""
        return self._decide(decision)

    @record_cause.validator
    def _check_record_cause(self, decision: IdentifyCause) -> None:
        self._check(decision)
