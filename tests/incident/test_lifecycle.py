"""The incident state machine, driven directly: decisions, alerts and timers by the runbook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from incident.lifecycle import DecisionRejected, Incident
from incident.models import (
    FORMER_RUNBOOK_FLAGS,
    Acknowledge,
    AddActionItem,
    AddNote,
    Alert,
    AlertBatch,
    AlertStatus,
    ChangeSeverity,
    Close,
    Declaration,
    DeclareMitigated,
    IncidentState,
    Phase,
    PostmortemStatus,
    ProbeResult,
    RaiseFlag,
    Reopen,
    Resolve,
    Status,
    SubmitPostmortem,
)
from incident.notices import NoticeKind
from incident.policy import load_policy
from incident.records import pending_batch
from incident.severity import Severity
from tests.support.checks import VOUCHED

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
POLICY = load_policy()


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def declare(severity: Severity = Severity.P0) -> Incident:
    incident, effects = Incident.open(
        human_id="INC-TEST22",
        source="manual",
        dedup_key=None,
        declaration=Declaration(title="Agents failing", severity=severity, actor="alice"),
        alerts=[],
        policy=POLICY,
        now=T0,
    )
    kinds = [n.kind for n in effects.notices]
    assert NoticeKind.DECLARATION in kinds
    return incident


def fire_until(incident: Incident, now: datetime) -> list[str]:
    """Fire every timer due by ``now``; returns the audiences of the escalations sent."""
    paged: list[str] = []
    while due := [t for t in incident.pending() if t.due <= now]:
        effects = incident.timer_due(due[0], due[0].due)
        paged += [n.audience for n in effects.notices if n.kind is NoticeKind.ESCALATION]
    return paged


def test_p0_declared_plans_the_runbook_timers() -> None:
    incident = declare(Severity.P0)
    plan = {t.key: t.due for t in incident.pending()}
    assert plan["escalation:P0:0"] == T0
    assert plan["ack_deadline"] == minutes(5)
    assert plan["escalation:P0:1"] == minutes(15)
    assert plan["escalation:P0:2"] == minutes(30)
    assert plan["escalation:P0:3"] == minutes(60)
    assert plan["status_reminder"] == minutes(10)
    assert plan["status_update"] == minutes(15)
    assert plan["resolution_target"] == minutes(60)
    assert incident.state.phase is Phase.TRIAGED
    assert incident.state.policy_version == POLICY.version


def test_unacknowledged_p0_pages_up_the_ladder() -> None:
    incident = declare(Severity.P0)
    assert fire_until(incident, minutes(0)) == ["All on-call"]
    # The ack deadline re-pages; no commander named by 5 min reminds the channel, then
    # brings in the on-call's management (rules.deadlines).
    assert fire_until(incident, minutes(14)) == [
        "All on-call",
        "Incident channel",
        "Engineering Manager",
    ]
    assert fire_until(incident, minutes(15)) == ["VP Engineering"]
    assert fire_until(incident, minutes(30)) == ["CTO", "Studio Producer"]  # and seed 002's
    assert fire_until(incident, minutes(59)) == []
    assert fire_until(incident, minutes(60)) == ["CEO", "Incident commander"]


def test_ack_deadline_repages_only_who_was_paged() -> None:
    incident = declare(Severity.P1)
    # (and the scope, not assessed by 15 min: the channel reminded, management at 30)
    assert fire_until(incident, minutes(16)) == [
        "Primary on-call",
        "Primary on-call",
        "Incident channel",
    ]
    assert fire_until(incident, minutes(30)) == ["Engineering Manager", "Secondary on-call"]


def test_acknowledge_stops_paging_but_not_management() -> None:
    incident = declare(Severity.P1)
    fire_until(incident, minutes(0))
    incident.apply(Acknowledge(actor="bob"), minutes(3))
    keys = {t.key for t in incident.pending()}
    assert "ack_deadline" not in keys
    assert "escalation:P1:1" not in keys  # secondary on-call (paging) is moot
    assert {"escalation:P1:2", "escalation:P1:3"} <= keys  # EM and VP still due
    assert incident.state.phase is Phase.RESPONDING


@pytest.mark.parametrize(
    ("after", "says"),
    [
        (timedelta(seconds=0.874914), "Acknowledged after less than 1s; paging stopped"),
        (timedelta(seconds=30.685497), "Acknowledged after 31s; paging stopped"),
    ],
)
def test_the_time_to_acknowledge_reads_as_a_person_writes_it(after: timedelta, says: str) -> None:
    incident = declare(Severity.P1)
    event, _ = incident.apply(Acknowledge(actor="bob"), T0 + after)
    assert event.text == says


def test_resolve_stops_the_management_ladder() -> None:
    incident = declare(Severity.P0)
    incident.apply(Resolve(actor="bob", root_cause="bad deploy", verified=VOUCHED), minutes(10))
    keys = {t.key for t in incident.pending()}
    assert not {k for k in keys if k.startswith("escalation")}
    assert "recovery_check" in keys
    assert "resolution_target" not in keys


def test_severity_upgrade_replans_from_declaration() -> None:
    incident = declare(Severity.P2)
    fire_until(incident, minutes(20))
    incident.apply(Acknowledge(actor="bob"), minutes(20))
    incident.apply(
        ChangeSeverity(actor="bob", severity=Severity.P0, reason="all orgs"), minutes(20)
    )
    overdue = [t.key for t in incident.pending() if t.due <= minutes(20)]
    assert "escalation:P0:1" in overdue  # VP Engineering was due at +15: goes out at once
    plan = {t.key: t.due for t in incident.pending()}
    assert plan["escalation:P0:2"] == minutes(30)
    assert plan["status_update"] == minutes(15)  # P0 cadence counted from the last update


def test_rejected_decisions_say_why_and_change_nothing() -> None:
    incident = declare(Severity.P0)
    before = incident.state.model_copy(deep=True)
    with pytest.raises(DecisionRejected, match="needs the root cause"):
        incident.apply(Resolve(actor="bob", root_cause="  ", verified=VOUCHED), minutes(1))
    with pytest.raises(DecisionRejected, match="cannot close yet: it is still investigating"):
        incident.apply(Close(actor="bob"), minutes(1))
    with pytest.raises(DecisionRejected, match="severity change needs a reason"):
        incident.apply(ChangeSeverity(actor="bob", severity=Severity.P1), minutes(1))
    with pytest.raises(DecisionRejected, match="unknown flag 'aliens'"):
        incident.apply(RaiseFlag(actor="bob", flag="aliens"), minutes(1))
    with pytest.raises(DecisionRejected, match="postmortem comes after resolution"):
        incident.apply(SubmitPostmortem(actor="bob", status=PostmortemStatus.DRAFT), minutes(1))
    assert incident.state == before


def resolved_p0() -> Incident:
    incident = declare(Severity.P0)
    incident.apply(Acknowledge(actor="bob"), minutes(2))
    incident.apply(
        Resolve(actor="bob", root_cause="bad deploy rolled back", verified=VOUCHED), minutes(20)
    )
    check = next(t for t in incident.pending() if t.key == "recovery_check")
    assert check.due == minutes(80)  # the 60-minute quiet window
    incident.timer_due(check, check.due)
    incident.on_probe(ProbeResult(at=check.due, healthy=True, configured=False), check.due)
    return incident


def test_closing_a_p0_needs_a_final_postmortem() -> None:
    incident = resolved_p0()
    state = incident.state
    assert state.phase is Phase.POST_INCIDENT
    with pytest.raises(DecisionRejected, match=r"needs a final postmortem .*draft"):
        incident.apply(SubmitPostmortem(actor="bob", status=PostmortemStatus.DRAFT), minutes(90))
        incident.apply(Close(actor="bob"), minutes(91))
    incident.apply(SubmitPostmortem(actor="bob", status=PostmortemStatus.FINAL), minutes(92))
    assert incident.state.phase is Phase.CLOSED


def test_postmortem_reminders_fall_on_the_p0_deadlines() -> None:
    incident = resolved_p0()
    resolved = incident.state.resolved_at
    assert resolved == minutes(80)
    plan = {t.key: t.due for t in incident.pending()}
    assert plan == {
        "postmortem_schedule": resolved + timedelta(hours=24),
        "postmortem_complete": resolved + timedelta(hours=72),
    }


def test_unhealthy_probe_keeps_monitoring() -> None:
    incident = declare(Severity.P1)
    incident.apply(Resolve(actor="bob", root_cause="fixed", verified=VOUCHED), minutes(5))
    check = next(t for t in incident.pending() if t.key == "recovery_check")
    incident.timer_due(check, check.due)
    incident.on_probe(
        ProbeResult(at=check.due, healthy=False, error="Prometheus unreachable"), check.due
    )
    assert incident.state.status is Status.MONITORING
    assert incident.state.timeline[-1].text == "SLO probes could not run: Prometheus unreachable"
    again = next(t for t in incident.pending() if t.key == "recovery_check")
    assert again.due == check.due + timedelta(minutes=5)


def test_repeat_firings_are_counted_not_appended() -> None:
    incident = declare(Severity.P2)
    alert = Alert(fingerprint="abc", name="AgentRunSuccessRateLow")
    for _ in range(1000):
        incident.on_alerts(AlertBatch(source="alertmanager", alerts=[alert]), minutes(1))
    assert incident.state.firings == 1000
    assert incident.state.alerts["abc"].firings == 1000
    assert len(incident.state.timeline) <= 3


def test_firing_during_monitoring_reopens() -> None:
    incident = declare(Severity.P1)
    alert = Alert(fingerprint="abc", name="AgentRunLatencyHigh")
    incident.on_alerts(AlertBatch(source="am", alerts=[alert]), minutes(1))
    incident.apply(DeclareMitigated(actor="bob", reason="rolled back"), minutes(10))
    state = incident.state
    assert state.status is Status.MONITORING
    effects = incident.on_alerts(AlertBatch(source="am", alerts=[alert]), minutes(20))
    assert incident.state.status is Status.INVESTIGATING
    assert incident.state.reopened == 1
    assert "fired again during monitoring" in (incident.state.timeline[-1].reason or "")
    assert effects.notices[0].kind is NoticeKind.ESCALATION


def test_all_alerts_resolved_moves_to_monitoring_not_closed() -> None:
    incident = declare(Severity.P2)
    firing = Alert(fingerprint="abc", name="QueueDepthHigh")
    incident.on_alerts(AlertBatch(source="am", alerts=[firing]), minutes(1))
    resolved = firing.model_copy(update={"status": AlertStatus.RESOLVED})
    incident.on_alerts(AlertBatch(source="am", alerts=[resolved]), minutes(9))
    assert incident.state.status is Status.MONITORING
    assert incident.state.phase is Phase.TRIAGED


def test_flag_jumps_the_ladder_and_reaches_legal() -> None:
    incident = declare(Severity.P1)
    _, effects = incident.apply(RaiseFlag(actor="bob", flag="user_data_affected"), minutes(2))
    audiences = [n.audience for n in effects.notices]
    assert "Legal/Compliance" in audiences
    assert {"Engineering Manager", "VP Engineering"} <= set(audiences)
    assert not [t for t in incident.pending() if t.key in ("escalation:P1:2", "escalation:P1:3")]


def test_action_items_get_sla_due_dates() -> None:
    incident = declare(Severity.P2)
    incident.apply(
        AddActionItem(actor="bob", description="alert on queue", owner="carol", priority="P1"),
        minutes(1),
    )
    incident.apply(
        AddActionItem(actor="bob", description="nice to have", owner="carol", priority="P4"),
        minutes(1),
    )
    items = incident.state.action_items
    assert items[0].due == minutes(1) + timedelta(weeks=1)
    assert items[1].due is None


def test_reopen_needs_a_reason_and_a_calm_incident() -> None:
    incident = declare(Severity.P2)
    with pytest.raises(DecisionRejected, match="say why"):
        incident.apply(Reopen(actor="bob"), minutes(1))
    with pytest.raises(DecisionRejected, match="only an incident that is monitoring"):
        incident.apply(Reopen(actor="bob", reason="worse"), minutes(1))


def test_timeline_is_bounded_once_the_store_has_it() -> None:
    incident = declare(Severity.P3)
    for i in range(800):
        incident.apply(AddNote(actor="bot", text=f"note {i}"), minutes(1))
    state = incident.state
    assert len(state.timeline) == 802  # the store has none of it yet: nothing is dropped
    while (batch := pending_batch(state, "wf", (None, None))) is not None:
        incident.mark_recorded(batch, minutes(2))
    assert len(state.timeline) == 500
    assert state.timeline[-1].text == "note 799"
    assert state.timeline_seq == state.timeline_dropped + 500
    assert state.notes == 800


def test_a_state_written_by_the_release_with_eight_flags_reads_as_the_runbook_rules() -> None:
    # What a run of the previous release carried into continue-as-new, or returned at close.
    written = declare(Severity.P1).state.model_dump(mode="json", exclude={"runbook_rules"})
    flagged = written | {flag: True for flag in FORMER_RUNBOOK_FLAGS}
    assert IncidentState.model_validate(flagged).runbook_rules is True
    unflagged = written | {flag: False for flag in FORMER_RUNBOOK_FLAGS}
    assert IncidentState.model_validate(unflagged).runbook_rules is False
