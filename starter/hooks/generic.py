"""Warroom's own alert shape, for monitors with a configurable JSON webhook."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from incident.models import Alert, AlertBatch, AlertStatus


class GenericAlert(BaseModel):
    """One alert.

    ``dedup_key`` decides the incident: alerts with the same key land on the
    same incident. ``severity`` accepts P0..P4, SEV-1..3 or critical/high/
    warning/info; ``service`` and ``org`` route it.
    """

    model_config = ConfigDict(extra="forbid")

    dedup_key: str = Field(min_length=1, max_length=255)
    name: str = Field(min_length=1, max_length=200)
    status: Literal["firing", "resolved"] = "firing"
    severity: str | None = Field(default=None, max_length=50)
    service: str | None = Field(default=None, max_length=200)
    org: str | None = Field(default=None, max_length=200)
    summary: str | None = Field(default=None, max_length=1000)
    description: str | None = Field(default=None, max_length=4000)
    runbook_url: str | None = Field(default=None, max_length=2000)
    fingerprint: str | None = Field(default=None, min_length=1, max_length=200)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)

    def to_alert(self) -> Alert:
        """The alert in Warroom's terms; named fields win over the free-form maps."""
        labels = dict(self.labels)
        for key, value in (
            ("severity", self.severity),
            ("service", self.service),
            ("org", self.org),
        ):
            if value:
                labels[key] = value
        annotations = dict(self.annotations)
        for key, value in (
            ("summary", self.summary),
            ("description", self.description),
            ("runbook_url", self.runbook_url),
        ):
            if value:
                annotations[key] = value
        return Alert(
            fingerprint=self.fingerprint or f"{self.dedup_key}:{self.name}"[:200],
            name=self.name,
            status=AlertStatus(self.status),
            labels=labels,
            annotations=annotations,
        )


class GenericDelivery(BaseModel):
    """One or more alerts; they are grouped by ``dedup_key`` into incidents."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(default="generic", min_length=1, max_length=100)
    alerts: list[GenericAlert] = Field(min_length=1, max_length=5000)

    def batches(self) -> dict[str, AlertBatch]:
        """One batch per dedup key: one Temporal call per incident."""
        grouped: dict[str, list[Alert]] = {}
        for alert in self.alerts:
            grouped.setdefault(alert.dedup_key, []).append(alert.to_alert())
        return {
            key: AlertBatch(source=self.source, alerts=alerts) for key, alerts in grouped.items()
        }
