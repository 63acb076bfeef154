"""From an alert's labels to an incident's severity, service, org and title."""

from __future__ import annotations

from pydantic import Field

from incident.models import Alert, AlertStatus, Model
from incident.policy import Policy
from incident.severity import Severity


class Classification(Model):
    """What the policy makes of a group of alerts."""

    severity: Severity
    title: str
    service: str | None = None
    org: str | None = None
    summary: str = ""
    runbook_url: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)


def alert_severity(alert: Alert, policy: Policy) -> Severity:
    """The severity a routing rule or the alert's labels give, or the policy's default."""
    rule = policy.routing.rule_for(alert.labels)
    if rule is not None and rule.severity is not None:
        return rule.severity
    for label in policy.routing.severity_labels:
        value = alert.labels.get(label)
        if value is not None:
            severity = policy.severity_named(value)
            if severity is not None:
                return severity
    return policy.routing.default_severity


def _first_label(alert: Alert, names: list[str]) -> str | None:
    for name in names:
        value = alert.labels.get(name, "").strip()
        if value:
            return value
    return None


def _first_text(*candidates: str | None) -> str | None:
    """The first candidate with something in it besides whitespace, stripped."""
    return next((c.strip() for c in candidates if c and c.strip()), None)


def classify(alerts: list[Alert], policy: Policy) -> Classification:
    """Classify an incident by its most severe firing alert (or its first alert)."""
    firing = [a for a in alerts if a.status is AlertStatus.FIRING] or alerts
    lead = min(firing, key=lambda a: alert_severity(a, policy).rank)
    rule = policy.routing.rule_for(lead.labels)
    service = (rule and rule.service) or _first_label(lead, policy.routing.service_labels)
    notes = lead.annotations
    title = _first_text(notes.get("summary"), notes.get("title")) or (
        f"{lead.name} on {service}" if service else lead.name
    )
    return Classification(
        severity=alert_severity(lead, policy),
        title=title,  # cut in bytes, with a marker, where the incident keeps it
        service=service,
        org=(rule and rule.org) or _first_label(lead, policy.routing.org_labels),
        summary=notes.get("description", "")[:4000],
        runbook_url=notes.get("runbook_url")
        or notes.get("runbook")
        or (rule.runbook_url if rule else None),
        labels=dict(lead.labels),
    )
