"""Seed 001's rollback procedure, after the rollback endpoint answered: confirm the status
transition, then validate that a new run dispatch succeeds and that the run success rate
recovers within 15 minutes. Driven on an ``Incident``: no server, no worker.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from incident.containment import ActionKind
from incident.lifecycle import Incident
from incident.models import (
    Acknowledge,
    Alert,
    ApproveContainment,
    AssignRole,
    IdentifyCause,
    Phase,
    ProbeCheck,
    ProbeResult,
    Resolve,
    Role,
    Status,
)
from incident.notices import NoticeKind
from incident.policy import load_policy
from tests.support.checks import VOUCHED

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
POLICY = load_policy()
FAILING_RUNS = Alert(
    fingerprint="f-success",
    name="DroviAgentRunSuccessRateLow",
    labels={
        "alertname": "DroviAgentRunSuccessRateLow",
        "severity": "high",
        "org": 'acme "eu"',
        "deployment": "agents-api",
    },
)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def opened(*, rollback_checks: bool = True) -> Incident:
    """The runbook's alert opened it; dana commands; the playbook proposed the rollback."""
    incident, _ = Incident.open(
        human_id="INC-ROLL1-11111",
        source="alertmanager",
        dedup_key="g",
        declaration=None,
        alerts=[FAILING_RUNS],
        policy=POLICY,
        now=T0,
        runbook_rules=rollback_checks,
    )
    incident.propose_playbooks(T0)
    incident.apply(Acknowledge(actor="dana"), at(1))
    incident.apply(AssignRole(actor="dana", role=Role.INCIDENT_COMMANDER, person="dana"), at(1))
    return incident


def rolled_back(incident: Incident, now: datetime) -> int:
    """The rollback is approved and the control plane confirms the new version."""
    rollback = next(
        a for a in incident.state.containment if a.kind is ActionKind.ROLLBACK_DEPLOYMENT
    )
    incident.apply(ApproveContainment(actor="dana", action_id=rollback.id), now)
    incident.on_action_result(
        rollback.id, undo=False, ok=True, detail="agents-api rolled back v42 → v41", now=now
    )
    return rollback.id


def check(incident: Incident) -> tuple[int, datetime]:
    timer = next(t for t in incident.pending() if t.kind == "rollback_check")
    effects = incident.timer_due(timer, timer.due)
    (action_id,) = effects.verify_rollbacks
    return action_id, timer.due


def probed(healthy: bool, detail: str) -> ProbeResult:
    check = ProbeCheck(name="x", query="q", value=1.0, healthy=healthy, detail=detail)
    return ProbeResult(at=T0, healthy=healthy, checks=[check])


def test_the_confirmed_rollback_is_checked_15_minutes_later_for_its_deployment() -> None:
    incident = opened()
    action_id = rolled_back(incident, at(5))
    confirmed = incident.state.timeline[-1]
    assert confirmed.kind == "rollback_confirmed"
    assert "agents-api rolled back v42 → v41" in confirmed.text  # the status transition
    timer = next(t for t in incident.pending() if t.kind == "rollback_check")
    assert timer.due == at(20)
    assert "a new run succeeds and the success rate is back" in timer.summary

    checked, _ = check(incident)
    assert checked == action_id
    assert not [t for t in incident.pending() if t.kind == "rollback_check"]  # once
    new_run, success_rate = incident.rollback_probes(action_id)
    assert new_run.op == ">" and new_run.threshold == 0
    assert (success_rate.op, success_rate.threshold) == (">=", 0.9)
    for probe in (new_run, success_rate):
        assert 'deployment="agents-api"' in probe.query and "{{" not in probe.query


def test_a_rollback_that_brought_recovery_is_verified_and_nothing_else_changes() -> None:
    incident = opened()
    rolled_back(incident, at(5))
    action_id, now = check(incident)
    effects = incident.on_rollback_checked(action_id, probed(True, "new runs 12 ok (> 0)"), now)
    assert effects.notices == []
    assert incident.state.containment[action_id - 1].verified is True
    assert incident.state.timeline[-1].kind == "rollback_verified"
    assert incident.state.status is Status.INVESTIGATING


def test_a_failed_check_while_monitoring_escalates_and_reopens_the_incident() -> None:
    incident = opened()
    rolled_back(incident, at(5))
    incident.apply(Resolve(actor="dana", root_cause="v42 retry storm", verified=VOUCHED), at(6))
    assert incident.state.status is Status.MONITORING
    action_id, now = check(incident)
    result = probed(False, "agent run success rate after the rollback 0.61 < required >= 0.9")
    effects = incident.on_rollback_checked(action_id, result, now)

    assert incident.state.containment[action_id - 1].verified is False
    assert (incident.state.phase, incident.state.status) == (Phase.RESPONDING, Status.INVESTIGATING)
    assert incident.state.reopened == 1
    kinds = [e.kind for e in incident.state.timeline[-3:]]
    assert kinds == ["rollback_check_failed", "escalated", "reopened"]
    assert "0.61 < required >= 0.9" in incident.state.timeline[-3].text
    escalations = [n for n in effects.notices if n.kind is NoticeKind.ESCALATION]
    assert [n.audience for n in escalations] == ["dana", "Incident channel"]
    assert "did not bring recovery" in escalations[0].headline


def test_a_failed_check_sends_an_identified_incident_back_to_investigating() -> None:
    incident = opened()
    incident.apply(IdentifyCause(actor="dana", cause="recent_deployment"), at(2))
    before = incident.state.status
    rolled_back(incident, at(5))
    action_id, now = check(incident)
    effects = incident.on_rollback_checked(action_id, probed(False, "no new run"), now)
    assert (before, incident.state.status) == (Status.IDENTIFIED, Status.INVESTIGATING)
    assert incident.state.reopened == 0
    assert incident.state.timeline[-1].text.startswith("Back to investigating")
    assert [n.audience for n in effects.notices] == ["dana"]


def test_a_check_that_could_not_run_escalates_for_a_check_by_hand() -> None:
    incident = opened()
    rolled_back(incident, at(5))
    incident.apply(Resolve(actor="dana", root_cause="v42", verified=VOUCHED), at(6))
    action_id, now = check(incident)
    down = ProbeResult(at=now, healthy=False, error="Prometheus unreachable")
    effects = incident.on_rollback_checked(action_id, down, now)
    assert incident.state.status is Status.MONITORING  # not a verdict on the rollback
    assert [n.audience for n in effects.notices] == ["dana"]
    assert "verify it by hand" in incident.state.timeline[-2].text


def test_without_prometheus_the_check_is_left_to_people() -> None:
    incident = opened()
    rolled_back(incident, at(5))
    action_id, now = check(incident)
    unconfigured = ProbeResult(at=now, healthy=True, configured=False)
    assert incident.on_rollback_checked(action_id, unconfigured, now).notices == []
    assert incident.state.timeline[-1].kind == "rollback_unverified"
    assert incident.state.containment[action_id - 1].verified is None


def test_incidents_opened_before_the_check_existed_plan_no_check() -> None:
    incident = opened(rollback_checks=False)
    rolled_back(incident, at(5))
    assert incident.state.timeline[-1].kind == "containment_done"
    assert not [t for t in incident.pending() if t.kind == "rollback_check"]


def test_recovery_probes_are_scoped_to_the_incidents_org_escaped() -> None:
    incident = opened()
    probes = incident.recovery_probes()
    assert len(probes) == 4
    for probe in probes:
        assert 'org="acme \\"eu\\""' in probe.query and "{{" not in probe.query
    assert 'deployment="agents-api"' in probes[0].query
