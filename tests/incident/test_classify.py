"""From alert labels to severity, service, org and runbook, through the policy's routing."""

from __future__ import annotations

from incident.classify import classify
from incident.models import Alert, AlertStatus
from incident.policy import load_policy
from incident.severity import Severity

POLICY = load_policy()


def alert(name: str, status: AlertStatus = AlertStatus.FIRING, **labels: str) -> Alert:
    return Alert(fingerprint=name, name=name, status=status, labels={"alertname": name, **labels})


def test_alert_level_maps_to_severity_as_the_runbook_table_says() -> None:
    levels = {
        "critical": Severity.P0,
        "high": Severity.P1,
        "warning": Severity.P2,
        "info": Severity.P3,
        "SEV-2": Severity.P1,
        "P4": Severity.P4,
    }
    for level, severity in levels.items():
        assert classify([alert("X", severity=level)], POLICY).severity is severity, level
    assert classify([alert("X")], POLICY).severity is Severity.P2  # the policy default


def test_most_severe_firing_alert_leads_the_group() -> None:
    found = classify(
        [
            alert("Minor", severity="warning", service="search"),
            alert("Outage", severity="critical", service="api", org="acme"),
            alert("Gone", AlertStatus.RESOLVED, severity="critical", service="old"),
        ],
        POLICY,
    )
    assert (found.severity, found.service, found.org) == (Severity.P0, "api", "acme")
    assert found.title == "Outage on api"


def test_routing_rules_route_the_runbook_alerts() -> None:
    found = classify(
        [alert("DroviAgentApprovalBacklogHigh", severity="critical", org="acme")], POLICY
    )
    assert (found.severity, found.service, found.org) == (Severity.P2, "approvals", "acme")
    assert found.runbook_url is not None and "approval-backlog" in found.runbook_url
    annotated = alert("DroviAgentRunSuccessRateLow").model_copy(
        update={"annotations": {"runbook_url": "https://wiki/agents", "summary": "Runs failing"}}
    )
    found = classify([annotated], POLICY)
    assert (found.severity, found.runbook_url, found.title) == (
        Severity.P1,
        "https://wiki/agents",
        "Runs failing",
    )


def test_a_blank_summary_or_service_never_names_the_incident() -> None:
    alert = Alert(
        fingerprint="f",
        name="DiskFull",
        labels={"severity": "critical", "service": "  ", "app": "billing"},
        annotations={"summary": " \t ", "title": "Disk full on billing-db"},
    )
    found = classify([alert], POLICY)
    assert found.title == "Disk full on billing-db"
    assert found.service == "billing"
