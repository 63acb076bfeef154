"""A refused close or postmortem says what the incident waits for and until when."""

from __future__ import annotations

import pytest

from incident.lifecycle import DecisionRejected, Incident
from incident.models import (
    Acknowledge,
    AssignRole,
    Close,
    DeclareMitigated,
    PostmortemStatus,
    ProbeResult,
    Resolve,
    Role,
    SubmitPostmortem,
)
from incident.severity import Severity
from tests.incident.test_lifecycle import declare, minutes, resolved_p0
from tests.support.checks import VOUCHED


def refusal(incident: Incident, decision: Close | SubmitPostmortem, at: float) -> str:
    """What a person is told when ``decision`` is refused ``at`` minutes after declaration."""
    with pytest.raises(DecisionRejected) as refused:
        incident.check(decision, minutes(at))
    with pytest.raises(DecisionRejected) as applied:
        incident.apply(decision, minutes(at))
    assert str(applied.value) == str(refused.value)
    return str(refused.value)


def resolving_p0() -> Incident:
    """A P0 resolved at minute 20: recovery is watched until minute 80 (11:20 UTC)."""
    incident = declare(Severity.P0)
    incident.apply(Acknowledge(actor="bob"), minutes(2))
    incident.apply(
        Resolve(actor="bob", root_cause="bad deploy rolled back", verified=VOUCHED), minutes(20)
    )
    return incident


def test_closing_while_recovery_is_watched_says_until_when_and_what_else_it_needs() -> None:
    said = refusal(resolving_p0(), Close(actor="bob"), at=32)
    assert said == (
        "INC-TEST22: cannot close yet: recovery is being watched until 11:20 UTC (in 48 min); "
        "the P0 also needs a final postmortem"
    )


def test_a_postmortem_before_resolution_says_when_recovery_is_judged() -> None:
    said = refusal(
        resolving_p0(), SubmitPostmortem(actor="bob", status=PostmortemStatus.DRAFT), at=79.5
    )
    assert said == (
        "INC-TEST22: the postmortem comes after resolution: recovery is being watched until "
        "11:20 UTC (in 30 s)"
    )


def test_closing_an_incident_still_being_worked_says_what_comes_first() -> None:
    said = refusal(declare(Severity.P0), Close(actor="bob"), at=1)
    assert said == (
        "INC-TEST22: cannot close yet: it is still investigating; resolve it with the root "
        "cause, then recovery is watched for 1h; the P0 also needs a final postmortem"
    )
    p3 = refusal(declare(Severity.P3), Close(actor="bob"), at=1)
    assert p3.endswith("; a P3 closes by itself once resolved")


def test_mitigated_without_a_root_cause_says_it_needs_one_to_resolve() -> None:
    incident = declare(Severity.P1)
    incident.apply(DeclareMitigated(actor="bob", reason="rolled back"), minutes(10))
    said = refusal(incident, Close(actor="bob"), at=40)
    assert said == (
        "INC-TEST22: cannot close yet: recovery is being watched until 11:10 UTC (in 30 min), "
        "and it resolves only once someone declares the root cause; "
        "the P1 also needs a final postmortem"
    )


def test_probes_out_of_bounds_say_when_they_are_checked_again() -> None:
    incident = resolving_p0()
    check = next(t for t in incident.pending() if t.key == "recovery_check")
    incident.timer_due(check, check.due)
    said = refusal(incident, Close(actor="bob"), at=80)
    assert "the quiet window has passed and the SLO probes are being checked now" in said
    incident.on_probe(
        ProbeResult(at=check.due, healthy=False, error="Prometheus unreachable"), check.due
    )
    said = refusal(incident, Close(actor="bob"), at=81)
    assert said == (
        "INC-TEST22: cannot close yet: the SLO probes are not in bounds yet (SLO probes could "
        "not run: Prometheus unreachable); they are checked again at 11:25 UTC (in 4 min); "
        "the P0 also needs a final postmortem"
    )


def test_closing_without_a_final_postmortem_says_by_when_it_is_due() -> None:
    incident = resolved_p0()  # resolved at 11:20 UTC; final within 72 h
    incident.apply(SubmitPostmortem(actor="bob", status=PostmortemStatus.DRAFT), minutes(85))
    said = refusal(incident, Close(actor="bob"), at=90)
    assert said == (
        "INC-TEST22: cannot close yet: a P0 incident needs a final postmortem before it closes "
        "(postmortem: draft, due by 2026-11-27 11:20 UTC (in 2 d 23 h)); submitting it final "
        "closes the incident"
    )
    late = refusal(incident, Close(actor="bob"), at=80 + 73 * 60)
    assert "(postmortem: draft, due by 11:20 UTC (1 h ago))" in late  # that same day


def test_a_person_without_the_role_is_told_who_holds_it() -> None:
    incident = declare(Severity.P1)
    incident.apply(
        AssignRole(actor="alice", role=Role.INCIDENT_COMMANDER, person="alice"), minutes(1)
    )
    with pytest.raises(DecisionRejected) as refused:
        incident.check(Close(actor="mallory", verified_by="oidc"), minutes(2))
    assert str(refused.value) == (
        "INC-TEST22: mallory cannot close the incident: only the incident commander (alice) "
        "or technical lead can"
    )
    incident.apply(Resolve(actor="alice", root_cause="bad deploy", verified=VOUCHED), minutes(3))
    with pytest.raises(DecisionRejected, match="resolution already declared: recovery is being "):
        incident.check(Resolve(actor="alice", root_cause="again", verified=VOUCHED), minutes(4))
