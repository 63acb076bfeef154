"""The runbooks' checklists live in the state: decisions tick what they prove, people tick the
rest with a note, and a P0 or P1 resolution waits for the policy's checks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from incident.checklists import Checklist
from incident.lifecycle import DecisionRejected
from incident.models import (
    Acknowledge,
    AddActionItem,
    CheckOff,
    PostCustomerUpdate,
    PostmortemStatus,
    ProbeResult,
    RaiseFlag,
    Resolve,
    SetImpact,
    SubmitPostmortem,
)
from incident.rules import checklists
from incident.rules.views import details
from incident.severity import Severity
from tests.incident.test_lifecycle import declare, minutes


def test_a_p0_resolution_names_the_checks_still_open() -> None:
    incident = declare(Severity.P0)
    incident.apply(Acknowledge(actor="bob"), minutes(1))
    with pytest.raises(DecisionRejected) as refused:
        incident.check(Resolve(actor="bob", root_cause="bad deploy"), minutes(10))
    assert "Fix running in production (fix)" in str(refused.value)
    assert "Checked by hand (verified)" in str(refused.value)

    incident.apply(CheckOff(actor="bob", item="fix", note="v41 is live"), minutes(5))
    with pytest.raises(DecisionRejected, match="verified") as refused:
        incident.check(Resolve(actor="bob", root_cause="bad deploy"), minutes(10))
    assert "(fix)" not in str(refused.value)
    incident.apply(Resolve(actor="bob", root_cause="bad deploy", verified=["verified"]), minutes(6))
    ticked = incident.state.checklist
    assert ticked["fix"].note == "v41 is live" and not ticked["fix"].auto
    assert ticked["root_cause"].by == "bob" and ticked["root_cause"].auto
    assert ticked["verified"].note == "vouched for on resolving"


def test_a_p2_resolves_on_its_root_cause_alone() -> None:
    incident = declare(Severity.P2)
    incident.apply(Resolve(actor="bob", root_cause="disk full"), minutes(3))
    assert "root_cause" in incident.state.checklist


def test_an_incident_opened_before_checklists_resolves_as_it_always_did() -> None:
    incident = declare(Severity.P0)
    incident.state.runbook_rules = False
    incident.apply(Resolve(actor="bob", root_cause="bad deploy"), minutes(3))


def test_decisions_tick_what_they_prove() -> None:
    incident = declare(Severity.P2)
    incident.apply(RaiseFlag(actor="dana", flag="security_breach"), minutes(1))
    incident.apply(SetImpact(actor="dana", users_affected="1,200", traffic_percent=12), minutes(2))
    incident.apply(PostCustomerUpdate(actor="cleo"), minutes(3))
    ticked = incident.state.checklist
    assert {"security", "scope", "customers_told"} <= set(ticked)
    assert ticked["customers_told"].by == "cleo"
    assert "business_impact" not in ticked

    incident.apply(Resolve(actor="bob", root_cause="bad deploy"), minutes(4))
    check = next(t for t in incident.pending() if t.key == "recovery_check")
    incident.timer_due(check, check.due)
    incident.on_probe(ProbeResult(at=check.due, healthy=True), check.due)
    assert incident.state.resolved_at is not None
    assert {"metrics", "error_rates", "no_new_alerts", "timeline"} <= set(ticked)

    later = check.due + timedelta(minutes=5)
    incident.apply(
        AddActionItem(actor="bob", description="canary", owner="dana", priority="P2"), later
    )
    incident.apply(
        SubmitPostmortem(
            actor="bob",
            status=PostmortemStatus.DRAFT,
            went_well=["rollback took 2 minutes"],
        ),
        later,
    )
    assert {"action_items", "postmortem_scheduled", "lessons"} <= set(ticked)


def test_an_item_ticked_by_hand_can_be_unticked_and_unknown_items_are_named() -> None:
    incident = declare(Severity.P3)
    with pytest.raises(DecisionRejected, match="no checklist item 'nonsense'"):
        incident.check(CheckOff(actor="bob", item="nonsense"), minutes(10))
    incident.apply(CheckOff(actor="bob", item="Runbooks", note="added step 4"), minutes(1))
    with pytest.raises(DecisionRejected, match="already ticked by bob"):
        incident.check(CheckOff(actor="bob", item="runbooks"), minutes(10))
    incident.apply(CheckOff(actor="bob", item="runbooks", done=False), minutes(2))
    assert "runbooks" not in incident.state.checklist
    assert [e.kind for e in incident.state.timeline][-2:] == ["checked", "unchecked"]


def test_the_web_ui_says_how_far_each_list_is_and_what_resolution_still_needs() -> None:
    incident = declare(Severity.P1)
    incident.apply(CheckOff(actor="bob", item="production", note="yes, EU"), minutes(1))
    text = details(incident, minutes(2), incident.pending())
    assert "Checklists: triage 1/5 · pre-resolution 0/9 · post-incident 0/6" in text
    assert "To resolve, still to check: Fix running in production" in text
    assert next(r.line for r in checklists.rows(incident)[Checklist.TRIAGE]) == (
        "[x] Is production affected? — bob 10:01 UTC: yes, EU"
    )
