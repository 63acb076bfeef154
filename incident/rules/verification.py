"""After a rollback: the runbook's checks that it brought the service back.

The control plane's answer confirms the status transition (the deployment runs
its stable version); ``after_rollback.verify_after`` later (runbook: 15 min)
the policy's post-rollback probes check that a new run was dispatched and
succeeded and that the success rate recovered. A check that fails is not left
for someone to notice: the incident commander is paged and the incident goes
back to investigating — reopened if it was already being watched or resolved.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from incident.containment import ActionKind, ActionState, ContainmentAction
from incident.models import PendingTimer, Phase, ProbeResult, Role, Status, TimerKind
from incident.policy import SloProbe
from incident.rules import paging, recovery, timeline, wording
from incident.rules.effects import Effects

if TYPE_CHECKING:
    from incident.lifecycle import Incident


def _rollback(inc: Incident, action_id: int) -> ContainmentAction | None:
    return next(
        (
            a
            for a in inc.state.containment
            if a.id == action_id and a.kind is ActionKind.ROLLBACK_DEPLOYMENT
        ),
        None,
    )


def rollback_done(inc: Incident, action_id: int, now: datetime) -> None:
    """A rollback is in force (the control plane confirmed it): check recovery later."""
    action = _rollback(inc, action_id)
    if not inc.state.runbook_rules or action is None or action.state is not ActionState.IN_FORCE:
        return
    action.verify_due = now + inc.policy.recovery.after_rollback.verify_after
    timeline.add_event(
        inc,
        now,
        "rollback_confirmed",
        wording.SYSTEM,
        f"Control plane confirmed {action.title} ({action.detail}); recovery checked at "
        f"{wording.utc(action.verify_due)}: a new run succeeds and the success rate is back",
    )


def plan(inc: Incident) -> list[PendingTimer]:
    """The post-rollback check of each rollback in force, until it has run."""
    if inc.state.phase is Phase.CLOSED:
        return []
    return [
        PendingTimer(
            key=f"rollback_check:{action.id}",
            kind=TimerKind.ROLLBACK_CHECK,
            ref=action.id,
            due=action.verify_due,
            summary=f"check recovery after {action.title}: a new run succeeds and the "
            f"success rate is back",
        )
        for action in inc.state.containment
        if action.verify_due is not None and action.state is ActionState.IN_FORCE
    ]


def check_due(inc: Incident, timer: PendingTimer, now: datetime) -> Effects:
    """The rollback has been in force long enough: run the post-rollback probes."""
    action = _rollback(inc, timer.ref or 0)
    if action is None:
        raise ValueError(f"timer {timer.key} names no rollback")
    action.verify_due = None
    return Effects(verify_rollbacks=[action.id])


def _values(inc: Incident, action: ContainmentAction) -> dict[str, str | None]:
    return recovery.scope_values(inc, deployment=action.target)


def probes_for(inc: Incident, action_id: int) -> list[SloProbe]:
    """The post-rollback probes, scoped to the incident and the rolled-back deployment."""
    action = _rollback(inc, action_id)
    if action is None:
        return []
    return recovery.scoped_probes(inc.policy.recovery.after_rollback.probes, _values(inc, action))


def on_checked(inc: Incident, action_id: int, result: ProbeResult, now: datetime) -> Effects:
    """Take the post-rollback probes' answer: verified, or escalate and investigate again."""
    fx = Effects()
    action = _rollback(inc, action_id)
    if action is None:
        return fx
    s = inc.state
    result = recovery.with_scope_notes(
        result, inc.policy.recovery.after_rollback.probes, _values(inc, action)
    )
    if not result.configured:
        timeline.add_event(
            inc,
            now,
            "rollback_unverified",
            wording.SYSTEM,
            f"{action.title} not checked by probes ({result.summary}): confirm by hand that "
            f"a new run succeeds and the success rate is back",
        )
        return fx
    if result.healthy:
        action.verified = True
        timeline.add_event(
            inc,
            now,
            "rollback_verified",
            wording.SYSTEM,
            f"{action.title} verified: {result.summary}",
        )
        return fx
    action.verified = False
    commander = s.roles.get(Role.INCIDENT_COMMANDER, inc.policy.containment.approval_escalates_to)
    if result.error:
        # Not a verdict on the rollback: people check by hand; the status stays.
        reason = f"{action.title} could not be checked: {result.error}; verify it by hand"
        timeline.add_event(inc, now, "rollback_unverified", wording.SYSTEM, reason)
        fx.notices.append(
            paging.escalate(inc, now, f"rollback_check:{action.id}", commander, None, reason)
        )
        return fx
    reason = f"{action.title} did not bring recovery: {result.summary}"
    timeline.add_event(inc, now, "rollback_check_failed", wording.SYSTEM, reason)
    fx.notices.append(
        paging.escalate(inc, now, f"rollback_check:{action.id}", commander, None, reason)
    )
    if s.phase is Phase.CLOSED:
        return fx
    if s.status is Status.MONITORING or s.phase in (Phase.RESOLVED, Phase.POST_INCIDENT):
        fx.notices += recovery.reopen(inc, now, wording.SYSTEM, reason)
    elif s.status is Status.IDENTIFIED:
        s.status = Status.INVESTIGATING
        timeline.add_event(
            inc,
            now,
            "investigating",
            wording.SYSTEM,
            "Back to investigating: the rollback did not bring recovery",
            reason,
        )
    return fx
