"""Decisions: which rule checks and applies each one, and the size every decision must fit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from incident import bounds
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
    DeclareMitigated,
    DenyContainment,
    EnterDegradedMode,
    Escalate,
    IdentifyCause,
    LiftDegradedMode,
    Phase,
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
    TimelineEvent,
)
from incident.rules import (
    action_items,
    assessment,
    checklists,
    communication,
    customers,
    paging,
    permissions,
    postmortem,
    response,
    saga,
    timeline,
)
from incident.rules.effects import DecisionRejected, Effects

if TYPE_CHECKING:
    from incident.lifecycle import Incident


AFTER_CLOSE: frozenset[type[Decision]] = frozenset(
    {AddActionItem, CompleteActionItem, ReassignActionItem, ReopenActionItem}
)
"""The decisions a closed incident still takes, through its follow-up: its action items."""


def check(inc: Incident, decision: Decision, now: datetime) -> None:
    """Raise DecisionRejected, with a reason for a person, if ``decision`` cannot apply at
    ``now``: its actor may not take it, or the incident is not where it can (and then,
    what it waits for and until when)."""
    reason = permissions.check(inc, decision)
    if reason:
        raise DecisionRejected(f"{inc.state.human_id}: {reason}")
    _check_rule(inc, decision, now)


def _check_rule(inc: Incident, decision: Decision, now: datetime) -> None:
    s = inc.state
    too_large = _fits_decision(inc, decision)
    if too_large:
        raise DecisionRejected(f"{s.human_id}: {too_large}")
    if s.phase is Phase.CLOSED:
        if type(decision) not in AFTER_CLOSE:
            raise DecisionRejected(f"{s.human_id} is closed; reopen is not possible after close")
        if not inc.after_close:
            raise DecisionRejected(
                f"{s.human_id} is closing: what it has in flight is settling; its action items "
                "take decisions again once it has closed, in a moment"
            )
    reason = RULES[type(decision)].check(inc, decision, now)
    if reason:
        raise DecisionRejected(f"{s.human_id}: {reason}")


def apply(inc: Incident, decision: Decision, now: datetime) -> tuple[TimelineEvent, Effects]:
    """Apply a checked decision; returns its timeline event and what to send.

    Who may take it was checked by the update's validator, which a replay does not run
    again: decisions accepted before a permission existed replay as they were taken."""
    _check_rule(inc, decision, now)
    effects = Effects()
    event = RULES[type(decision)].apply(inc, decision, now, effects)
    checklists.after_decision(inc, decision, event, now)
    event.via = permissions.via(decision)
    event.decision = {
        "type": type(decision).__name__,
        **decision.model_dump(mode="json", exclude={"actor", "reason", "verified_by"}),
    }
    inc.event_sizes.pop(event.seq, None)  # measured before the decision was attached
    timeline.trim_timeline(inc)
    return event, effects


class Rule(NamedTuple):
    """How one kind of decision is checked at a moment (None: it may apply) and applied."""

    check: Callable[[Incident, Any, datetime], str | None]
    apply: Callable[[Incident, Any, datetime, Effects], TimelineEvent]


def _always(inc: Incident, decision: Decision, now: datetime) -> str | None:
    return None


RULES: dict[type[Decision], Rule] = {
    Acknowledge: Rule(response.check_ack, response.apply_ack),
    Escalate: Rule(paging.check_escalate, assessment.apply_escalate),
    AssignRole: Rule(response.check_assign, response.apply_assign),
    ChangeSeverity: Rule(response.check_severity, response.apply_severity),
    PostStatusUpdate: Rule(communication.check_update, assessment.apply_status_update),
    PostCustomerUpdate: Rule(customers.check_update, customers.apply_update),
    AddNote: Rule(_always, response.apply_note),
    RaiseFlag: Rule(paging.check_flag, paging.apply_flag),
    DeclareMitigated: Rule(response.check_mitigate, response.apply_mitigate),
    Resolve: Rule(checklists.check_resolve, response.apply_resolve),
    CheckOff: Rule(checklists.check_check, checklists.apply_check),
    Reopen: Rule(response.check_reopen, response.apply_reopen),
    SubmitPostmortem: Rule(postmortem.check_postmortem, postmortem.apply_postmortem),
    AddActionItem: Rule(postmortem.check_action_item, action_items.apply_add),
    CompleteActionItem: Rule(action_items.check_complete, action_items.apply_complete),
    ReassignActionItem: Rule(action_items.check_reassign, action_items.apply_reassign),
    ReopenActionItem: Rule(action_items.check_reopen, action_items.apply_reopen),
    SetImpact: Rule(assessment.check_impact, assessment.apply_impact),
    Close: Rule(postmortem.check_close, postmortem.apply_close),
    ProposeContainment: Rule(saga.check_propose, saga.apply_propose),
    ApproveContainment: Rule(saga.check_approve, saga.apply_approve),
    DenyContainment: Rule(saga.check_deny, saga.apply_deny),
    EnterDegradedMode: Rule(saga.check_degrade, saga.apply_degrade),
    LiftDegradedMode: Rule(saga.check_lift, saga.apply_lift),
    IdentifyCause: Rule(saga.check_cause, saga.apply_cause),
}
"""Every decision and the rule that takes it: a decision missing here cannot be sent."""


def _fits_decision(inc: Incident, decision: Decision) -> str | None:
    """Why ``decision`` is too large to take, or None."""
    size = bounds.payload_bytes(decision)
    if size > bounds.DECISION_BYTES:
        return (
            f"the decision is {size:,} bytes; at most {bounds.DECISION_BYTES:,} are taken "
            "(link a document for longer text)"
        )
    return None
