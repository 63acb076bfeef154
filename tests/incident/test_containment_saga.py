"""The containment saga's rules, driven directly on an ``Incident``: no server, no worker.

Autonomy decides whether a proposed action runs, waits for approval or is only
recommended; only the approvers' role holders approve; a denial says why; a
missed approval deadline escalates once; degraded mode is one group, approved,
denied and lifted together; recovery undoes what is in force, newest first; a
rollback is never undone. Only the public ``Incident`` API is used, so these
survive a reshaping of the lifecycle module.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from incident.containment import ActionKind, ActionState, Autonomy
from incident.lifecycle import DecisionRejected, Incident
from incident.models import (
    Alert,
    ApproveContainment,
    AssignRole,
    Declaration,
    DenyContainment,
    EnterDegradedMode,
    LiftDegradedMode,
    ProbeResult,
    ProposeContainment,
    Resolve,
    Role,
)
from incident.notices import NoticeKind
from incident.policy import ContainmentRule, Policy, load_policy
from incident.severity import Severity
from tests.support.checks import VOUCHED

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
POLICY = load_policy()
K = ActionKind
S = ActionState


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def declared(policy: Policy = POLICY, severity: Severity = Severity.P1) -> Incident:
    """A declared incident whose commander is dana and technical lead is tom."""
    incident, _ = Incident.open(
        human_id="INC-SAGA1-11111",
        source="manual",
        dedup_key=None,
        declaration=Declaration(title="Agents failing", severity=severity, actor="alice"),
        alerts=[],
        policy=policy,
        now=T0,
    )
    incident.apply(AssignRole(actor="dana", role=Role.INCIDENT_COMMANDER, person="dana"), T0)
    incident.apply(AssignRole(actor="dana", role=Role.TECHNICAL_LEAD, person="tom"), T0)
    return incident


def propose(
    incident: Incident, kind: ActionKind, target: str, now: datetime = T0, **params: str
) -> list[int]:
    """Erin proposes; returns the actions to run at once."""
    _, effects = incident.apply(
        ProposeContainment(actor="erin", kind=kind, target=target, params=params), now
    )
    return effects.run_actions


def done(incident: Incident, *action_ids: int, now: datetime = T0) -> list[int]:
    """The control plane confirms each action; returns the actions to undo at once."""
    undo: list[int] = []
    for action_id in action_ids:
        effects = incident.on_action_result(action_id, undo=False, ok=True, detail="done", now=now)
        undo += effects.undo_actions
    return undo


def states(incident: Incident) -> list[ActionState]:
    return [a.state for a in incident.state.containment]


def approval_timers(incident: Incident) -> list[str]:
    return [t.key for t in incident.pending() if t.kind == "approval_due"]


def with_autonomy(kind: ActionKind, autonomy: Autonomy) -> Policy:
    rule = POLICY.containment.model_copy(update={"autonomy": {**POLICY.containment.autonomy}})
    rule.autonomy[kind] = autonomy
    return POLICY.model_copy(update={"containment": rule})


def recovered(incident: Incident, resolved_at: datetime) -> list[int]:
    """Resolve at ``resolved_at``; the quiet window passes and the SLO probes are in bounds.

    Returns the actions recovery undoes, in order.
    """
    incident.apply(
        Resolve(actor="dana", root_cause="v42 retry storm", verified=VOUCHED), resolved_at
    )
    check = next(t for t in incident.pending() if t.key == "recovery_check")
    assert incident.timer_due(check, check.due).run_probe
    return incident.on_probe(ProbeResult(at=check.due, healthy=True), check.due).undo_actions


# --- proposing: the policy's autonomy decides -------------------------------------------


@pytest.mark.parametrize(
    ("autonomy", "state", "runs", "waits"),
    [
        (Autonomy.RECOMMEND, S.RECOMMENDED, False, False),
        (Autonomy.APPROVE, S.AWAITING_APPROVAL, False, True),
        (Autonomy.AUTO, S.RUNNING, True, False),
    ],
)
def test_a_proposal_runs_waits_or_is_only_recommended_by_its_autonomy(
    autonomy: Autonomy, state: ActionState, runs: bool, waits: bool
) -> None:
    incident = declared(with_autonomy(K.ROLLBACK_DEPLOYMENT, autonomy))
    run = propose(incident, K.ROLLBACK_DEPLOYMENT, "agents-api", at(2))
    (action,) = incident.state.containment
    assert (action.state, action.autonomy) == (state, autonomy)
    assert run == ([action.id] if runs else [])
    assert (action.approval_due == at(17)) is waits  # 15 minutes to approve, by policy
    assert approval_timers(incident) == (["approval:1"] if waits else [])
    assert incident.state.timeline[-1].kind == "containment_proposed"


def test_the_shipped_policy_runs_the_gentle_actions_and_asks_for_the_rest() -> None:
    incident = declared()
    for kind, target in (
        (K.ROLLBACK_DEPLOYMENT, "agents-api"),
        (K.DISABLE_TRIGGER, "nightly-digest"),
        (K.ACTIVATE_DENYLIST, "acme"),
        (K.PAUSE_SCHEDULED_TRIGGERS, "acme"),
        (K.LOWER_AUTONOMY, "agents-api"),
        (K.FREEZE_PROMOTION, "agents-api"),
    ):
        propose(incident, kind, target)
    assert states(incident) == [S.AWAITING_APPROVAL] * 4 + [S.RUNNING] * 2


def test_a_policy_older_than_containment_only_recommends() -> None:
    incident = declared(POLICY.model_copy(update={"containment": ContainmentRule.recommend_only()}))
    run = propose(incident, K.FREEZE_PROMOTION, "agents-api")
    assert states(incident) == [S.RECOMMENDED] and not run
    assert "carry it out by hand" in incident.state.timeline[-1].text


def test_a_target_that_is_not_an_id_is_refused_and_nothing_is_proposed() -> None:
    incident = declared()
    with pytest.raises(DecisionRejected, match="not a valid deployment id"):
        propose(incident, K.ROLLBACK_DEPLOYMENT, "agents-api?x=1")
    assert incident.state.containment == []


# --- approval: the approvers' role holders only -------------------------------------------


@pytest.mark.parametrize("approver", ["dana", "tom"])  # commander, technical lead
def test_the_commander_or_the_technical_lead_approves_and_it_runs(approver: str) -> None:
    incident = declared()
    propose(incident, K.ROLLBACK_DEPLOYMENT, "agents-api")
    _, effects = incident.apply(ApproveContainment(actor=approver, action_id=1), at(3))
    (action,) = incident.state.containment
    assert effects.run_actions == [1]
    assert (action.state, action.decided_by, action.decided_at) == (S.RUNNING, approver, at(3))
    assert approval_timers(incident) == []
    assert incident.state.timeline[-1].kind == "containment_approved"


def test_anyone_else_cannot_approve_and_nothing_changes() -> None:
    incident = declared()
    propose(incident, K.ROLLBACK_DEPLOYMENT, "agents-api")
    before = incident.state.model_copy(deep=True)
    with pytest.raises(
        DecisionRejected,
        match="erin cannot approve containment: only the incident commander or technical lead",
    ):
        incident.apply(ApproveContainment(actor="erin", action_id=1), at(3))
    assert incident.state == before


def test_only_an_action_awaiting_approval_can_be_approved() -> None:
    incident = declared()
    propose(incident, K.FREEZE_PROMOTION, "agents-api")  # auto: already running
    with pytest.raises(DecisionRejected, match="is running, not awaiting approval"):
        incident.apply(ApproveContainment(actor="dana", action_id=1), at(3))
    with pytest.raises(DecisionRejected, match="no containment action #9"):
        incident.apply(ApproveContainment(actor="dana", action_id=9), at(3))


def test_without_a_commander_nobody_can_approve() -> None:
    incident, _ = Incident.open(
        human_id="INC-SAGA2-22222",
        source="manual",
        dedup_key=None,
        declaration=Declaration(title="Agents failing", severity=Severity.P1, actor="alice"),
        alerts=[],
        policy=POLICY,
        now=T0,
    )
    propose(incident, K.ROLLBACK_DEPLOYMENT, "agents-api")
    with pytest.raises(DecisionRejected, match="alice cannot approve"):
        incident.apply(ApproveContainment(actor="alice", action_id=1), at(1))


# --- denial: with a reason, by an approver --------------------------------------------------


def test_a_denial_needs_a_reason_and_an_approver() -> None:
    incident = declared()
    propose(incident, K.ROLLBACK_DEPLOYMENT, "agents-api")
    with pytest.raises(DecisionRejected, match="a denial needs a reason"):
        incident.apply(DenyContainment(actor="dana", action_id=1), at(3))
    with pytest.raises(DecisionRejected, match="erin cannot approve containment"):
        incident.apply(DenyContainment(actor="erin", action_id=1, reason="too risky"), at(3))
    assert states(incident) == [S.AWAITING_APPROVAL]

    _, effects = incident.apply(
        DenyContainment(actor="dana", action_id=1, reason="v41 has the same bug"), at(4)
    )
    (action,) = incident.state.containment
    assert (action.state, action.decided_by) == (S.DENIED, "dana")
    assert not effects.run_actions and approval_timers(incident) == []
    event = incident.state.timeline[-1]
    assert (event.kind, event.reason) == ("containment_denied", "v41 has the same bug")
    assert incident.compensate_all() == []  # nothing was done, nothing to undo


# --- the approval deadline: escalates once, keeps waiting --------------------------------


def test_a_missed_approval_deadline_escalates_once_and_the_action_keeps_waiting() -> None:
    incident = declared()
    propose(incident, K.DISABLE_TRIGGER, "nightly-digest", at(2))
    (timer,) = [t for t in incident.pending() if t.kind == "approval_due"]
    assert timer.due == at(17)
    assert "escalate to Engineering Manager" in timer.summary

    effects = incident.timer_due(timer, timer.due)
    assert [(n.kind, n.audience) for n in effects.notices] == [
        (NoticeKind.ESCALATION, "Engineering Manager")
    ]
    (action,) = incident.state.containment
    assert action.state is S.AWAITING_APPROVAL and action.approval_escalated
    assert approval_timers(incident) == []  # once: no second escalation is planned

    _, approved = incident.apply(ApproveContainment(actor="dana", action_id=1), at(40))
    assert approved.run_actions == [1]


def test_each_action_has_its_own_approval_deadline() -> None:
    incident = declared()
    propose(incident, K.ROLLBACK_DEPLOYMENT, "agents-api", at(0))
    propose(incident, K.DISABLE_TRIGGER, "nightly-digest", at(5))
    due = {t.key: t.due for t in incident.pending() if t.kind == "approval_due"}
    assert due == {"approval:1": at(15), "approval:2": at(20)}


# --- degraded mode: one group ----------------------------------------------------------------


def degraded(incident: Incident, org: str = "acme") -> list[int]:
    """Dana enters degraded mode for ``org``; returns the actions to run at once."""
    _, effects = incident.apply(
        EnterDegradedMode(actor="dana", org=org, reason="policy bypass"), at(1)
    )
    return effects.run_actions


def test_degraded_mode_proposes_its_three_actions_on_the_org_as_one_group() -> None:
    incident = declared()
    run = degraded(incident)
    actions = incident.state.containment
    assert [(a.kind, a.target, a.group) for a in actions] == [
        (K.LOWER_AUTONOMY, "acme", "degraded:acme"),
        (K.ACTIVATE_DENYLIST, "acme", "degraded:acme"),
        (K.PAUSE_SCHEDULED_TRIGGERS, "acme", "degraded:acme"),
    ]
    assert all(a.params == {"scope": "org"} for a in actions)  # L1 for the whole org
    # The policy's degraded-mode autonomy (approve) wins over lower_autonomy's own (auto).
    assert states(incident) == [S.AWAITING_APPROVAL] * 3 and not run
    with pytest.raises(DecisionRejected, match="org acme is already in degraded mode"):
        degraded(incident)
    degraded(incident, "globex")  # another org is another group
    assert len(incident.state.containment) == 6


def test_approving_one_action_of_degraded_mode_approves_the_group() -> None:
    incident = declared()
    degraded(incident)
    _, effects = incident.apply(ApproveContainment(actor="tom", action_id=2), at(3))
    assert sorted(effects.run_actions) == [1, 2, 3]
    assert states(incident) == [S.RUNNING] * 3
    assert {a.decided_by for a in incident.state.containment} == {"tom"}
    assert approval_timers(incident) == []


def test_denying_one_action_of_degraded_mode_denies_the_group_but_not_the_rest() -> None:
    incident = declared()
    propose(incident, K.ROLLBACK_DEPLOYMENT, "agents-api")
    degraded(incident)
    incident.apply(DenyContainment(actor="dana", action_id=2, reason="not that bad"), at(3))
    assert states(incident) == [S.AWAITING_APPROVAL] + [S.DENIED] * 3


def test_lifting_degraded_mode_undoes_the_group_newest_first() -> None:
    incident = declared()
    with pytest.raises(DecisionRejected, match="org acme is not in degraded mode"):
        incident.apply(LiftDegradedMode(actor="dana", org="acme"), at(1))
    degraded(incident)
    incident.apply(ApproveContainment(actor="dana", action_id=1), at(2))
    done(incident, 1, 2, 3, now=at(3))
    assert states(incident) == [S.IN_FORCE] * 3

    _, effects = incident.apply(LiftDegradedMode(actor="dana", org="acme"), at(30))
    assert effects.undo_actions == [3, 2, 1]
    assert states(incident) == [S.COMPENSATING] * 3
    assert incident.state.timeline[-1].kind == "degraded_mode_lifted"
    for action_id in (3, 2, 1):
        incident.on_action_result(action_id, undo=True, ok=True, detail="undone", now=at(31))
    assert states(incident) == [S.COMPENSATED] * 3
    degraded(incident)  # lifted: degraded mode can be entered again


def test_lifting_degraded_mode_before_approval_withdraws_it() -> None:
    incident = declared()
    degraded(incident)
    _, effects = incident.apply(LiftDegradedMode(actor="dana", org="acme"), at(5))
    assert not effects.undo_actions  # nothing ran, nothing to undo
    assert states(incident) == [S.DENIED] * 3
    assert {a.detail for a in incident.state.containment} == {"withdrawn: degraded mode lifted"}
    assert approval_timers(incident) == []


# --- recovery: what is in force is undone, newest first; a rollback never -------------------


def test_recovery_undoes_what_is_in_force_newest_first_and_leaves_the_rollback() -> None:
    incident = declared()
    propose(incident, K.DISABLE_TRIGGER, "nightly-digest")  # 1: approve
    propose(incident, K.ROLLBACK_DEPLOYMENT, "agents-api")  # 2: approve
    propose(incident, K.FREEZE_PROMOTION, "agents-api")  # 3: auto
    propose(incident, K.LOWER_AUTONOMY, "agents-api")  # 4: auto
    propose(incident, K.ACTIVATE_DENYLIST, "acme")  # 5: approve, then denied
    propose(incident, K.PAUSE_SCHEDULED_TRIGGERS, "acme")  # 6: approve, then fails
    for action_id in (1, 2, 6):
        incident.apply(ApproveContainment(actor="dana", action_id=action_id), at(2))
    incident.apply(DenyContainment(actor="dana", action_id=5, reason="too wide"), at(2))
    done(incident, 1, 2, 3, 4, now=at(3))
    incident.on_action_result(6, undo=False, ok=False, detail="refused (404)", now=at(3))

    # Newest first; not the rollback, nor what was denied or failed.
    assert recovered(incident, at(10)) == [4, 3, 1]
    assert states(incident) == [
        S.COMPENSATING,
        S.IN_FORCE,  # a rollback stays: rolling forward is a new deploy
        S.COMPENSATING,
        S.COMPENSATING,
        S.DENIED,
        S.FAILED,
    ]
    assert incident.state.recovered_at == at(70)
    assert incident.compensate_all() == []  # already being undone: asked for once


def test_an_action_confirmed_after_recovery_is_undone_at_once_unless_a_rollback() -> None:
    incident = declared()
    propose(incident, K.ROLLBACK_DEPLOYMENT, "agents-api")
    propose(incident, K.DISABLE_TRIGGER, "nightly-digest")
    incident.apply(ApproveContainment(actor="dana", action_id=1), at(1))
    incident.apply(ApproveContainment(actor="dana", action_id=2), at(1))
    assert recovered(incident, at(10)) == []  # both still running
    assert done(incident, 2, now=at(75)) == [2]
    assert done(incident, 1, now=at(76)) == []
    assert states(incident) == [S.IN_FORCE, S.COMPENSATING]


def test_a_rollback_is_never_undone() -> None:
    incident = declared()
    propose(incident, K.ROLLBACK_DEPLOYMENT, "agents-api")
    incident.apply(ApproveContainment(actor="dana", action_id=1), at(1))
    done(incident, 1, now=at(2))
    assert incident.compensate_all() == []
    assert recovered(incident, at(5)) == []
    assert states(incident) == [S.IN_FORCE]
    assert not any(e.kind == "containment_compensated" for e in incident.state.timeline)


def test_an_undo_confirmed_is_compensated_and_said_on_the_timeline() -> None:
    incident = declared()
    propose(incident, K.FREEZE_PROMOTION, "agents-api")
    done(incident, 1, now=at(1))
    assert incident.compensate_all() == [1]
    incident.on_action_result(1, undo=True, ok=True, detail="unfrozen", now=at(2))
    assert states(incident) == [S.COMPENSATED]
    assert incident.state.timeline[-1].text == (
        "Undone #1 freeze promotion agents-api: unfreeze promotion (unfrozen)"
    )


# --- playbooks: proposed from the alert's labels, once -------------------------------------


def test_a_playbook_proposes_its_actions_from_the_alert_labels_once() -> None:
    labels = {
        "alertname": "DroviAgentRunSuccessRateLow",
        "deployment": "agents-api",
        "trigger": "nightly-digest",
    }
    incident, _ = Incident.open(
        human_id="INC-SAGA3-33333",
        source="alertmanager",
        dedup_key="group",
        declaration=None,
        alerts=[Alert(fingerprint="f", name="DroviAgentRunSuccessRateLow", labels=labels)],
        policy=POLICY,
        now=T0,
    )
    run = incident.propose_playbooks(at(1)).run_actions
    assert [(a.kind, a.target, a.state) for a in incident.state.containment] == [
        (K.ROLLBACK_DEPLOYMENT, "agents-api", S.AWAITING_APPROVAL),
        (K.DISABLE_TRIGGER, "nightly-digest", S.AWAITING_APPROVAL),
    ]
    assert not run
    incident.propose_playbooks(at(2))
    assert len(incident.state.containment) == 2  # already proposed: not again


def test_a_playbook_step_without_its_label_is_skipped_and_said() -> None:
    labels = {"alertname": "DroviAgentRunSuccessRateLow", "deployment": "agents/../api"}
    incident, _ = Incident.open(
        human_id="INC-SAGA4-44444",
        source="alertmanager",
        dedup_key="group",
        declaration=None,
        alerts=[Alert(fingerprint="f", name="DroviAgentRunSuccessRateLow", labels=labels)],
        policy=POLICY,
        now=T0,
    )
    incident.propose_playbooks(at(1))
    assert incident.state.containment == []
    skipped = [e.text for e in incident.state.timeline if e.kind == "containment_skipped"]
    assert len(skipped) == 2
    assert "'deployment' label cannot be a target" in skipped[0]
    assert "no 'trigger' label" in skipped[1]
