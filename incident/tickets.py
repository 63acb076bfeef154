"""What Warroom tells an outside ticket tracker about action items, as data; the
``tickets.send`` activity posts it to ``WARROOM_TICKET_WEBHOOK_URL``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from incident.models import ActionItem, Model

TicketAction = Literal["created", "completed", "reassigned", "reopened"]


class TicketEvent(Model):
    """One change to one action item: the JSON body of the webhook's POST.

    ``key`` is unique within the incident and stable across retries and replays; the
    tracker receives it (with the workflow ID and incident UID) as the ``Idempotency-Key``
    header and as ``idempotency_key`` in the body, so it can drop a repeated delivery.
    """

    key: str
    incident_uid: str | None = None
    action: TicketAction
    incident: str
    """The incident's human ID (``INC-7K3QXD``)."""
    incident_title: str
    severity: str
    item: ActionItem
    actor: str
    at: datetime
    note: str | None = None

    def idempotency_key(self, workflow_id: str) -> str:
        """The key the tracker receives: stable across retries, unique per incident."""
        return f"{workflow_id}:{self.incident_uid or '-'}:{self.key}"
