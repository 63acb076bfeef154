"""Severity follows the alerts, driven directly: a later, more severe alert of the same group
raises the incident, with its timers re-planned and the reason on the timeline; nothing
lowers it by itself, and a person's regrade stands against repeats of what was seen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from incident.lifecycle import Incident
from incident.models import Alert, AlertBatch, AlertStatus, ChangeSeverity
from incident.notices import NoticeKind
from incident.policy import load_policy
from incident.severity import Severity

POLICY = load_policy()
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def alert(name: str, severity: str, status: AlertStatus = AlertStatus.FIRING) -> Alert:
    return Alert(
        fingerprint=name,
        name=name,
        status=status,
        labels={"alertname": name, "severity": severity, "service": "checkout"},
    )


def opened_by(first: Alert, *, follows: bool = True) -> Incident:
    incident, _ = Incident.open(
        human_id="INC-FOLLW-00001",
        source="alertmanager",
        dedup_key="checkout",
        declaration=None,
        alerts=[first],
        policy=POLICY,
        now=T0,
        runbook_rules=follows,
    )
    return incident


def later(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_critical_alert_after_a_warning_raises_the_incident_to_p0() -> None:
    incident = opened_by(alert("CheckoutSlow", "warning"))
    assert incident.state.severity is Severity.P2
    effects = incident.on_alerts(
        AlertBatch(source="alertmanager", alerts=[alert("CheckoutDown", "critical")]), later(20)
    )
    s = incident.state
    assert s.severity is Severity.P0
    [event] = [e for e in s.timeline if e.kind == "severity_changed"]
    assert (event.actor, event.text) == (
        "alertmanager",
        "Severity raised P2 → P0; timers re-planned from declaration",
    )
    assert event.reason == "CheckoutDown fired at P0, more severe than the group's alerts before it"
    kinds = [n.kind for n in effects.notices]
    assert NoticeKind.ESCALATION in kinds and NoticeKind.EXECUTIVE_BRIEF in kinds
    # Re-planned from the declaration: the P0 ladder (VP Engineering at +15) is already due.
    timers = {t.key: t.due for t in incident.pending()}
    assert timers["escalation:P0:1"] == later(15)
    assert timers["escalation:P0:2"] == later(30)


def test_a_less_severe_or_resolved_alert_never_lowers_it() -> None:
    incident = opened_by(alert("CheckoutDown", "critical"))
    incident.on_alerts(
        AlertBatch(
            source="alertmanager",
            alerts=[
                alert("CheckoutSlow", "warning"),
                alert("CheckoutDown", "critical", AlertStatus.RESOLVED),
            ],
        ),
        later(5),
    )
    assert incident.state.severity is Severity.P0
    assert "severity_changed" not in [e.kind for e in incident.state.timeline]


def test_a_persons_regrade_stands_against_a_repeat_of_the_same_alert() -> None:
    incident = opened_by(alert("CheckoutDown", "critical"))
    incident.apply(
        ChangeSeverity(actor="bob", severity=Severity.P2, reason="one org only"), later(10)
    )
    incident.on_alerts(
        AlertBatch(source="alertmanager", alerts=[alert("CheckoutDown", "critical")]), later(12)
    )
    assert incident.state.severity is Severity.P2


def test_incidents_opened_before_it_keep_their_severity() -> None:
    incident = opened_by(alert("CheckoutSlow", "warning"), follows=False)
    incident.on_alerts(
        AlertBatch(source="alertmanager", alerts=[alert("CheckoutDown", "critical")]), later(20)
    )
    assert incident.state.severity is Severity.P2
