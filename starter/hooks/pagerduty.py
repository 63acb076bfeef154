"""PagerDuty Events API v2, so anything that can page PagerDuty can page Warroom."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from incident.models import Alert, AlertBatch, AlertStatus
from starter.hooks.fields import alert_name


class PagerDutyPayload(BaseModel):
    """The ``payload`` of a trigger event."""

    model_config = ConfigDict(extra="ignore")

    summary: str = Field(min_length=1, max_length=1024)
    source: str = Field(min_length=1, max_length=255)
    severity: Literal["critical", "error", "warning", "info"]
    timestamp: datetime | None = None
    component: str | None = None
    group: str | None = None
    class_: str | None = Field(default=None, alias="class")
    custom_details: dict[str, Any] | None = None


class PagerDutyEvent(BaseModel):
    """An Events API v2 event: trigger, acknowledge or resolve, keyed by ``dedup_key``."""

    model_config = ConfigDict(extra="ignore")

    routing_key: str = Field(min_length=1, max_length=200)
    event_action: Literal["trigger", "acknowledge", "resolve"]
    dedup_key: str | None = Field(default=None, min_length=1, max_length=255)
    payload: PagerDutyPayload | None = None
    client: str | None = None
    client_url: str | None = None

    def to_batch(self, dedup_key: str) -> AlertBatch:
        """A trigger or resolve as an alert of the incident ``dedup_key`` names."""
        labels = {"severity": "critical", "source": "pagerduty"}
        annotations: dict[str, str] = {}
        name = "pagerduty event"
        if self.payload is not None:
            p = self.payload
            labels = {"severity": p.severity, "source": p.source}
            labels.update({k: v for k, v in (("service", p.component), ("group", p.group)) if v})
            if p.class_:
                labels["class"] = p.class_
            annotations = {"summary": p.summary}
            name = alert_name(p.summary, name)
        return AlertBatch(
            source="pagerduty",
            alerts=[
                Alert(
                    fingerprint=dedup_key[:200],
                    name=name,
                    status=AlertStatus.RESOLVED
                    if self.event_action == "resolve"
                    else AlertStatus.FIRING,
                    labels=labels,
                    annotations=annotations,
                    starts_at=self.payload.timestamp if self.payload else None,
                    generator_url=self.client_url,
                )
            ],
        )
