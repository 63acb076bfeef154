"""Warroom's own alert shape, for monitors with a configurable JSON webhook."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from incident.bounds import MAX_LABELS
from incident.models import Alert, AlertBatch, AlertStatus, DedupKey
from starter.hooks.fields import FINGERPRINT_CHARS, alert_name, fingerprint

LEGACY_KEY_CHARS = 255
"""The longest dedup key the hook accepted before keys of any length were."""


class GenericAlert(BaseModel):
    """One alert.

    ``dedup_key`` decides the incident: alerts with the same key land on the
    same incident. ``severity`` accepts P0..P4, SEV-1..3 or critical/high/
    warning/info; ``service`` and ``org`` route it. Long values are cut
    with a visible marker rather than refused (a refused alert is lost): the
    named fields land in the alert's labels and annotations, which
    ``incident.models.Alert`` bounds.
    """

    model_config = ConfigDict(extra="forbid")

    dedup_key: DedupKey
    name: str = Field(min_length=1)
    status: Literal["firing", "resolved"] = "firing"
    severity: str | None = None
    service: str | None = None
    org: str | None = None
    summary: str | None = None
    description: str | None = None
    runbook_url: str | None = None
    fingerprint: str | None = Field(default=None, min_length=1)
    # Counted here so a refusal names the alert (alerts.3.labels), not just "labels".
    labels: dict[str, str] = Field(default_factory=dict, max_length=MAX_LABELS)
    annotations: dict[str, str] = Field(default_factory=dict, max_length=MAX_LABELS)

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
            fingerprint=self._fingerprint(),
            name=alert_name(self.name),
            status=AlertStatus(self.status),
            labels=labels,
            annotations=annotations,
        )

    def _fingerprint(self) -> str:
        if self.fingerprint:
            return fingerprint(self.fingerprint)
        derived = f"{self.dedup_key}:{self.name}"
        if len(self.dedup_key) <= LEGACY_KEY_CHARS:
            # Keys this hook always accepted keep the fingerprints their open incidents
            # already hold, so a resolve still finds the alert it resolves.
            return derived[:FINGERPRINT_CHARS]
        return fingerprint(derived)


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
