"""Seed 002's escalation matrix beside seed 000's, driven directly: a P0 unresolved at 30 min
brings in the Studio Producer for more resources and vendors, a P1 at 2 h the Project
Shepherd; revenue impact above the policy's amount brings in finance and the producer;
seed 001's SEV-1 conditions make the incident a P0 and propose the org's emergency
denylist."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from directory.load import load_directory, positions_named_by, unfilled_positions
from incident.containment import ActionKind, ActionState
from incident.lifecycle import DecisionRejected, Incident
from incident.models import Declaration, DeclareMitigated, RaiseFlag
from incident.notices import Notice
from incident.policy import load_policy
from incident.severity import Severity
from starter.sample import sample_directory_file

POLICY = load_policy()
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def declare(severity: Severity, org: str | None = "acme", *, matrix: bool = True) -> Incident:
    incident, _ = Incident.open(
        human_id="INC-MATRX-00001",
        source="manual",
        dedup_key=None,
        declaration=Declaration(title="Agents failing", severity=severity, actor="alice", org=org),
        alerts=[],
        policy=POLICY,
        now=T0,
        runbook_rules=matrix,
    )
    return incident


def run_until(incident: Incident, minutes: float) -> list[Notice]:
    now = T0 + timedelta(minutes=minutes)
    sent: list[Notice] = []
    while due := [t for t in incident.pending() if t.due <= now]:
        sent += incident.timer_due(due[0], due[0].due).notices
    return sent


def unresolved(notices: list[Notice]) -> list[Notice]:
    return [n for n in notices if n.key.startswith("unresolved:")]


def test_a_p0_not_resolved_in_30_min_brings_in_the_studio_producer() -> None:
    incident = declare(Severity.P0)
    assert unresolved(run_until(incident, 29)) == []
    [producer] = unresolved(run_until(incident, 30))
    assert producer.audience == "Studio Producer"
    assert producer.reason == (
        "P0 unresolved after 30m: bring additional resources and escalate to vendors"
    )
    assert incident.state.timeline[-1].text.startswith("Escalated to Studio Producer: ")


def test_a_p1_not_resolved_in_2_hours_brings_in_the_project_shepherd() -> None:
    incident = declare(Severity.P1)
    assert unresolved(run_until(incident, 119)) == []
    [shepherd] = unresolved(run_until(incident, 120))
    assert shepherd.audience == "Project Shepherd"
    assert "reallocate resources" in (shepherd.reason or "")


def test_a_mitigated_p0_brings_in_nobody_for_being_unresolved() -> None:
    incident = declare(Severity.P0)
    incident.apply(DeclareMitigated(actor="bob", reason="rolled back"), T0 + timedelta(minutes=20))
    assert unresolved(run_until(incident, 45)) == []


def test_incidents_opened_before_the_matrix_replay_without_it() -> None:
    assert unresolved(run_until(declare(Severity.P0, matrix=False), 45)) == []


def test_revenue_impact_escalates_only_above_the_policys_amount() -> None:
    incident = declare(Severity.P1)
    with pytest.raises(DecisionRejected, match="needs the amount: it escalates above 10,000"):
        incident.check(RaiseFlag(actor="bob", flag="revenue_impact"), T0)
    with pytest.raises(DecisionRejected, match="2,500 is not above the 10,000"):
        incident.check(RaiseFlag(actor="bob", flag="revenue_impact", amount=2500), T0)
    _, effects = incident.apply(
        RaiseFlag(actor="bob", flag="revenue_impact", amount=42000), T0 + timedelta(minutes=5)
    )
    assert [n.audience for n in effects.notices] == ["Finance", "Studio Producer"]
    assert incident.state.timeline[-1].text == (
        "Revenue impact above the threshold (42,000): immediate escalation to Finance, "
        "Studio Producer"
    )


def test_customer_sla_at_risk_brings_in_finance_and_the_producer_too() -> None:
    incident = declare(Severity.P1)
    _, effects = incident.apply(RaiseFlag(actor="bob", flag="customer_sla_at_risk"), T0)
    audiences = [n.audience for n in effects.notices]
    assert {"Finance", "Studio Producer"} <= set(audiences)


@pytest.mark.parametrize("flag", ["policy_bypass", "data_isolation_risk"])
def test_seed_001s_sev1_conditions_make_a_p0_and_propose_the_emergency_denylist(
    flag: str,
) -> None:
    incident = declare(Severity.P2, org="acme")
    _, effects = incident.apply(RaiseFlag(actor="bob", flag=flag), T0 + timedelta(minutes=3))
    s = incident.state
    assert s.severity is Severity.P0
    assert "severity_changed" in [e.kind for e in s.timeline]
    [denylist] = s.containment
    assert (denylist.kind, denylist.target) == (ActionKind.ACTIVATE_DENYLIST, "acme")
    assert denylist.state is ActionState.AWAITING_APPROVAL  # the policy's autonomy: approve
    assert "Security Lead" in [n.audience for n in effects.notices]
    # Re-planned as a P0 from the declaration: the P0 ladder's all-hands page is due.
    assert "escalation:P0:0" in {t.key for t in incident.pending()}


def test_a_sev1_condition_without_an_org_says_the_denylist_needs_one() -> None:
    incident = declare(Severity.P0, org=None)
    incident.apply(RaiseFlag(actor="bob", flag="policy_bypass"), T0)
    assert incident.state.containment == []
    [note] = [e for e in incident.state.timeline if e.kind == "containment_not_proposed"]
    assert "the incident names no org" in note.text


def test_every_position_the_policy_names_is_in_the_sample_directory() -> None:
    named = positions_named_by(POLICY)
    for position in ("Studio Producer", "Project Shepherd", "Finance", "Engineering Manager"):
        assert position in named
    assert unfilled_positions(load_directory(sample_directory_file()), POLICY) == []
