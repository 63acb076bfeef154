"""The containment saga: proposals, autonomy and approvals, degraded mode, the decision tree,
the control plane's answers, and undoing what recovery no longer needs.

Each decision has a ``check_…`` (why it cannot apply now, or None) and an ``apply_…``
(what it does; returns its timeline event), taken from ``decisions.RULES``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from incident.containment import (
    ActionKind,
    ActionState,
    Autonomy,
    ContainmentAction,
    scope_of,
    target_problem,
)
from incident.models import (
    ApproveContainment,
    DenyContainment,
    EnterDegradedMode,
    IdentifyCause,
    LiftDegradedMode,
    PendingTimer,
    Phase,
    ProposeContainment,
    Role,
    Status,
    TimelineEvent,
    TimerKind,
)
from incident.policy import PlaybookStep
from incident.rules import paging, response, timeline, wording
from incident.rules.effects import Effects

if TYPE_CHECKING:
    from incident.lifecycle import Incident

UNDO_RETRY_AFTER = timedelta(minutes=5)
"""After an undo gave up (refused or unreachable for UNDO_PATIENCE), when it is tried again."""


def action_by_id(inc: Incident, action_id: int) -> ContainmentAction | None:
    """The containment action with that number."""
    return next((a for a in inc.state.containment if a.id == action_id), None)


def propose(
    inc: Incident,
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
    """Propose ``kind`` on ``target``; the policy's autonomy, or ``autonomy``, decides."""
    s = inc.state
    rule = inc.policy.containment
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
        Autonomy.APPROVE: f"awaiting approval by {' or '.join(wording.approver_titles(inc))}",
        Autonomy.AUTO: "running",
    }[mode]
    timeline.add_event(
        inc, now, "containment_proposed", actor, f"Containment {action.title}: {what}", reason
    )
    if mode is Autonomy.AUTO:
        fx.run_actions.append(action.id)
    return action


def check_propose(inc: Incident, d: ProposeContainment, now: datetime) -> str | None:
    return target_problem(d.kind, d.target, d.params) or response.open_only(
        inc, "propose containment"
    )


def apply_propose(
    inc: Incident, d: ProposeContainment, now: datetime, fx: Effects
) -> TimelineEvent:
    propose(inc, now, d.actor, d.kind, d.target, d.params, d.reason, fx)
    return inc.state.timeline[-1]


def _awaiting(inc: Incident, action_id: int) -> tuple[ContainmentAction | None, str | None]:
    action = action_by_id(inc, action_id)
    if action is None:
        return None, f"no containment action #{action_id}"
    if action.state is not ActionState.AWAITING_APPROVAL:
        return (
            None,
            f"{action.title} is {action.state.value.replace('_', ' ')}, not awaiting approval",
        )
    return action, None


def check_approve(inc: Incident, d: ApproveContainment, now: datetime) -> str | None:
    _, problem = _awaiting(inc, d.action_id)
    if problem:
        return problem
    holders = {inc.state.roles.get(Role(r)) for r in inc.policy.containment.approvers}
    if d.actor not in holders:
        return (
            f"{d.actor} cannot approve containment: only the "
            f"{' or '.join(wording.approver_titles(inc))} can"
        )
    return None


def apply_approve(
    inc: Incident, d: ApproveContainment, now: datetime, fx: Effects
) -> TimelineEvent:
    decided = _decide_awaiting(inc, d.action_id, ActionState.RUNNING, d.actor, now)
    fx.run_actions += [a.id for a in decided]
    titles = ", ".join(a.title for a in decided)
    return timeline.add_event(
        inc, now, "containment_approved", d.actor, f"Approved {titles}", d.reason
    )


def _decide_awaiting(
    inc: Incident, action_id: int, outcome: ActionState, actor: str, now: datetime
) -> list[ContainmentAction]:
    """Approve or deny an action and every action awaiting approval in its group."""
    action = action_by_id(inc, action_id)
    assert action is not None
    decided = [
        a
        for a in inc.state.containment
        if a is action
        or (a.group and a.group == action.group and a.state is ActionState.AWAITING_APPROVAL)
    ]
    for item in decided:
        item.state, item.decided_by, item.decided_at = outcome, actor, now
    return decided


def check_deny(inc: Incident, d: DenyContainment, now: datetime) -> str | None:
    _, problem = _awaiting(inc, d.action_id)
    if problem:
        return problem
    if not d.reason:
        return "a denial needs a reason"
    return check_approve(inc, ApproveContainment(actor=d.actor, action_id=d.action_id), now)


def apply_deny(inc: Incident, d: DenyContainment, now: datetime, fx: Effects) -> TimelineEvent:
    decided = _decide_awaiting(inc, d.action_id, ActionState.DENIED, d.actor, now)
    titles = ", ".join(a.title for a in decided)
    return timeline.add_event(inc, now, "containment_denied", d.actor, f"Denied {titles}", d.reason)


def _degraded(inc: Incident, org: str) -> list[ContainmentAction]:
    return [
        a
        for a in inc.state.containment
        if a.group == f"degraded:{org}"
        and a.state in (ActionState.AWAITING_APPROVAL, ActionState.RUNNING, ActionState.IN_FORCE)
    ]


def check_degrade(inc: Incident, d: EnterDegradedMode, now: datetime) -> str | None:
    problem = target_problem(ActionKind.ACTIVATE_DENYLIST, d.org)
    if problem:
        return problem
    if _degraded(inc, d.org):
        return f"org {d.org} is already in degraded mode"
    return response.open_only(inc, "enter degraded mode")


def apply_degrade(inc: Incident, d: EnterDegradedMode, now: datetime, fx: Effects) -> TimelineEvent:
    rule = inc.policy.containment
    event = timeline.add_event(
        inc,
        now,
        "degraded_mode",
        d.actor,
        f"Degraded mode for org {d.org}: " + ", ".join(k.label for k in rule.degraded_mode),
        d.reason,
    )
    for kind in rule.degraded_mode:
        # Degraded mode acts on the whole org: L1 for every deployment of it.
        propose(
            inc,
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


def check_lift(inc: Incident, d: LiftDegradedMode, now: datetime) -> str | None:
    if not _degraded(inc, d.org):
        return f"org {d.org} is not in degraded mode"
    return None


def apply_lift(inc: Incident, d: LiftDegradedMode, now: datetime, fx: Effects) -> TimelineEvent:
    for action in _degraded(inc, d.org):
        if action.state is ActionState.AWAITING_APPROVAL:
            action.state = ActionState.DENIED
            action.detail = "withdrawn: degraded mode lifted"
    fx.undo_actions += compensate(inc, [a for a in _degraded(inc, d.org)])
    return timeline.add_event(
        inc, now, "degraded_mode_lifted", d.actor, f"Degraded mode lifted for org {d.org}", d.reason
    )


def check_cause(inc: Incident, d: IdentifyCause, now: datetime) -> str | None:
    causes = inc.policy.containment.causes
    if d.cause not in causes:
        return f"unknown cause {d.cause!r}; known causes: {', '.join(sorted(causes))}"
    return response.open_only(inc, "record a cause")


def apply_cause(inc: Incident, d: IdentifyCause, now: datetime, fx: Effects) -> TimelineEvent:
    rule = inc.policy.containment.causes[d.cause]
    inc.state.cause = d.cause
    if inc.state.status is Status.INVESTIGATING:
        inc.state.status = Status.IDENTIFIED
    event = timeline.add_event(inc, now, "cause", d.actor, f"{rule.label}. {rule.advice}", d.reason)
    _propose_steps(inc, now, d.actor, rule.actions, f"decision tree: {rule.label}", fx)
    return event


def _propose_steps(
    inc: Incident, now: datetime, actor: str, steps: list[PlaybookStep], why: str, fx: Effects
) -> None:
    for step in steps:
        target = inc.state.labels.get(step.target_label)
        if target is None:
            timeline.add_event(
                inc,
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
            timeline.add_event(
                inc,
                now,
                "containment_skipped",
                actor,
                f"{why} suggests {step.kind.label}, but its '{step.target_label}' label "
                f"cannot be a target: {problem}",
            )
            continue
        if any(a.kind is step.kind and a.target == target for a in inc.state.containment):
            continue
        propose(inc, now, actor, step.kind, target, {}, why, fx)


def propose_playbooks(inc: Incident, now: datetime) -> Effects:
    """Propose the playbook actions that match the incident's alert labels."""
    fx = Effects()
    for playbook in inc.policy.containment.playbooks:
        if all(inc.state.labels.get(k) == v for k, v in playbook.match.items()):
            _propose_steps(inc, now, "playbook", playbook.actions, f"playbook: {playbook.name}", fx)
    return fx


def on_action_result(
    inc: Incident, action_id: int, *, undo: bool, ok: bool, detail: str, now: datetime
) -> Effects:
    """Take the control plane's answer for an action or its undo."""
    fx = Effects()
    action = action_by_id(inc, action_id)
    if action is None:
        return fx
    action.detail = detail
    if undo and ok:
        action.state = ActionState.COMPENSATED
        action.undo_retry_due = None
        timeline.add_event(
            inc,
            now,
            "containment_compensated",
            wording.SYSTEM,
            f"Undone {action.title}: {action.kind.undo_label} ({detail})",
        )
        return fx
    if undo:
        return _undo_failed(inc, action, detail, now)
    if not ok:
        action.state = ActionState.FAILED
        timeline.add_event(
            inc, now, "containment_failed", wording.SYSTEM, f"{action.title} failed: {detail}"
        )
        return fx
    action.state = ActionState.IN_FORCE
    timeline.add_event(
        inc, now, "containment_done", wording.SYSTEM, f"{action.title} done: {detail}"
    )
    if _should_compensate(inc):
        fx.undo_actions += compensate(inc, [action])
    return fx


def _undo_failed(inc: Incident, action: ContainmentAction, detail: str, now: datetime) -> Effects:
    """Only a confirmed undo counts: the action stays in force, visibly, and is retried.

    The first failure escalates, since something the incident turned off (a
    trigger, an org's autonomy) stays off until a person or a later retry fixes it.
    """
    fx = Effects()
    action.compensation_attempts += 1
    action.undo_retry_due = now + UNDO_RETRY_AFTER
    timeline.add_event(
        inc,
        now,
        "containment_undo_failed",
        wording.SYSTEM,
        f"Could not {action.kind.undo_label} for {action.title}: {detail}; it is still in "
        f"force, retrying at {wording.utc(action.undo_retry_due)} "
        f"(attempt {action.compensation_attempts})",
    )
    if action.compensation_attempts == 1:
        target = inc.state.roles.get(
            Role.INCIDENT_COMMANDER, inc.policy.containment.approval_escalates_to
        )
        fx.notices.append(
            paging.escalate(
                inc,
                now,
                f"undo_failed:{action.id}",
                target,
                None,
                f"{action.title} could not be undone and is still in force: {detail}",
                record=False,
            )
        )
    return fx


def _should_compensate(inc: Incident) -> bool:
    s = inc.state
    return s.recovered_at is not None or s.phase is Phase.CLOSED


def compensate(inc: Incident, actions: list[ContainmentAction]) -> list[int]:
    """Mark reversible actions in force for undoing, newest first; returns their ids."""
    undo = []
    for action in sorted(actions, key=lambda a: a.id, reverse=True):
        if action.kind.reversible and action.state is ActionState.IN_FORCE:
            action.state = ActionState.COMPENSATING
            undo.append(action.id)
    return undo


def undoing(inc: Incident) -> bool:
    """Whether an undo is still owed: the incident must not end before it is confirmed."""
    return any(a.state is ActionState.COMPENSATING for a in inc.state.containment)


def note_cancelled(inc: Incident, now: datetime) -> None:
    """The workflow was cancelled: say so; containment still in force will be undone."""
    in_force = [a.title for a in inc.state.containment if a.state is ActionState.IN_FORCE]
    undo = f"; undoing {', '.join(in_force)}" if in_force else ""
    timeline.add_event(inc, now, "cancelled", wording.SYSTEM, f"Incident workflow cancelled{undo}")


def compensate_all(inc: Incident) -> list[int]:
    """Undo every reversible action still in force (recovery held, or the incident closes)."""
    return compensate(inc, list(inc.state.containment))


def plan(inc: Incident) -> list[PendingTimer]:
    """Approval deadlines of actions awaiting approval, and retries of undos that failed."""
    timers = []
    for action in inc.state.containment:
        if action.state is ActionState.COMPENSATING and action.undo_retry_due:
            timers.append(
                PendingTimer(
                    key=f"undo_retry:{action.id}",
                    kind=TimerKind.UNDO_RETRY,
                    ref=action.id,
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
                    kind=TimerKind.APPROVAL_DUE,
                    ref=action.id,
                    due=action.approval_due,
                    summary=f"escalate to {inc.policy.containment.approval_escalates_to}: "
                    f"{action.title} still awaiting approval",
                )
            )
    return timers


def _timer_action(inc: Incident, timer: PendingTimer) -> ContainmentAction:
    # Timers planned before ``ref`` existed name their action only in their key.
    action_id = timer.ref if timer.ref is not None else int(timer.key.split(":")[1])
    action = action_by_id(inc, action_id)
    if action is None:
        raise ValueError(f"timer {timer.key} names no containment action")
    return action


def approval_overdue(inc: Incident, timer: PendingTimer, now: datetime) -> Effects:
    """An action still awaits approval at its deadline: escalate, once."""
    action = _timer_action(inc, timer)
    action.approval_escalated = True
    target = inc.policy.containment.approval_escalates_to
    reason = f"{action.title} awaiting approval since {wording.utc(action.proposed_at)}"
    return Effects(notices=[paging.escalate(inc, now, timer.key, target, None, reason)])


def retry_undo(inc: Incident, timer: PendingTimer, now: datetime) -> Effects:
    """Try a failed undo again."""
    action = _timer_action(inc, timer)
    action.undo_retry_due = None
    return Effects(undo_actions=[action.id])
