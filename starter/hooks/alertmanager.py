"""Alertmanager's webhook (version 4) and Grafana alerting's, which follows it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from incident.bounds import MAX_LABELS
from incident.models import Alert, AlertBatch, AlertStatus, DedupKey
from starter.hooks.fields import alert_name

FIRING_ENDS_AT_YEAR = 1
"""Alertmanager sends ``endsAt: 0001-01-01T00:00:00Z`` for alerts still firing."""


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class AlertmanagerAlert(_Payload):
    """One alert of an Alertmanager notification."""

    status: Literal["firing", "resolved"]
    # Counted here so a refusal names the alert (alerts.3.labels), not just "labels".
    labels: dict[str, str] = Field(min_length=1, max_length=MAX_LABELS)
    annotations: dict[str, str] = Field(default_factory=dict, max_length=MAX_LABELS)
    startsAt: datetime
    endsAt: datetime | None = None
    generatorURL: str = ""
    fingerprint: str = Field(min_length=1, max_length=200)

    def to_alert(self) -> Alert:
        """The alert in Warroom's terms."""
        ends = self.endsAt if self.endsAt and self.endsAt.year > FIRING_ENDS_AT_YEAR else None
        return Alert(
            fingerprint=self.fingerprint,
            name=alert_name(self.labels.get("alertname", "")),
            status=AlertStatus(self.status),
            labels=self.labels,
            annotations=self.annotations,
            starts_at=self.startsAt,
            ends_at=ends,
            generator_url=self.generatorURL or None,
        )


class AlertmanagerNotification(_Payload):
    """A group notification as Alertmanager's ``webhook_configs`` posts it (version 4)."""

    version: Literal["4"]
    groupKey: DedupKey
    truncatedAlerts: int = Field(default=0, ge=0)
    status: Literal["firing", "resolved"]
    receiver: str
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[AlertmanagerAlert] = Field(min_length=1)

    def to_batch(self, source: str = "alertmanager") -> AlertBatch:
        """All of the group's alerts as one batch: one Temporal call per incident."""
        return AlertBatch(
            source=source,
            alerts=[alert.to_alert() for alert in self.alerts],
            truncated=self.truncatedAlerts,
        )


class GrafanaAlert(AlertmanagerAlert):
    """One alert of a Grafana notification: Alertmanager's fields and Grafana's links."""

    silenceURL: str = ""
    dashboardURL: str = ""
    panelURL: str = ""
    valueString: str = ""


class GrafanaNotification(_Payload):
    """Grafana alerting's webhook contact point payload."""

    version: str = "1"
    groupKey: DedupKey
    truncatedAlerts: int = Field(default=0, ge=0)
    status: Literal["firing", "resolved"]
    receiver: str = ""
    orgId: int | None = None
    title: str = ""
    message: str = ""
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[GrafanaAlert] = Field(min_length=1)

    def to_batch(self) -> AlertBatch:
        """All of the group's alerts as one batch."""
        return AlertBatch(
            source="grafana",
            alerts=[alert.to_alert() for alert in self.alerts],
            truncated=self.truncatedAlerts,
        )
