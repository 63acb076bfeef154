"""PagerDuty pages through the Events API v2: Warroom in front of an existing PagerDuty.

``POST {base}/v2/enqueue`` with the person's routing key (their contact
address). 202 means PagerDuty took the event; 400 that it is invalid (settled);
429 and 5xx are retried. The ``dedup_key`` is made from the incident ID, so
every page of one incident to one routing key is one PagerDuty alert: a retry,
or a second page while the alert is open, adds nothing, and ``acknowledge`` and
``resolve`` reach the same alert later. For the same reason a request left
unanswered is simply repeated.
"""

from __future__ import annotations

from typing import Any, Literal

import httpx

from activities.contact.attempt import TIMEOUT, Attempt
from activities.contact.config import ContactConfig
from activities.contact.models import ContactOutcome, PageMessage
from directory.models import ContactKind, ContactMethod
from incident.severity import Severity

SEVERITY: dict[Severity, str] = {
    Severity.P0: "critical",
    Severity.P1: "error",
    Severity.P2: "warning",
    Severity.P3: "info",
    Severity.P4: "info",
}
"""PagerDuty's payload severity for each incident severity."""
SUMMARY_LIMIT = 1024
DEDUP_LIMIT = 255


def dedup_key(incident_id: str) -> str:
    """The incident's PagerDuty dedup key: the same for every page, ack and resolve."""
    return f"warroom-{incident_id}"[:DEDUP_LIMIT]


def trigger_event(routing_key: str, message: PageMessage) -> dict[str, Any]:
    """The Events API v2 ``trigger`` for a page."""
    details: dict[str, Any] = {"incident": message.incident_id, "severity": message.severity.value}
    if message.recipient:
        details["paged"] = message.recipient
    if message.text.strip():
        details["notice"] = message.text.strip()
    links = [
        {"href": href, "text": text}
        for href, text in (
            (message.ack_url, "Acknowledge in Warroom"),
            (message.incident_url, "Incident in Warroom"),
        )
        if href
    ]
    payload: dict[str, Any] = {
        "summary": message.subject[:SUMMARY_LIMIT],
        "source": message.service or "warroom",
        "severity": SEVERITY[message.severity],
        "custom_details": details,
    }
    if message.service:
        payload["component"] = message.service
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key(message.incident_id),
        "payload": payload,
        "client": "Warroom",
        "links": links,
    }
    if message.incident_url:
        event["client_url"] = message.incident_url
    return event


class PagerDutySender:
    """Sends events to PagerDuty's Events API v2."""

    def __init__(self, config: ContactConfig, http: httpx.AsyncClient) -> None:
        self._config = config
        self._http = http

    async def send(self, method: ContactMethod, message: PageMessage) -> ContactOutcome:
        """Trigger an alert on the routing key ``method.address``; provider_id is its
        dedup key."""
        event = trigger_event(method.address.strip(), message)
        return await self._enqueue(method, event, message.ack_url)

    async def acknowledge(self, method: ContactMethod, incident_id: str) -> ContactOutcome:
        """Acknowledge the incident's alert on ``method``'s routing key."""
        return await self._follow_up("acknowledge", method, incident_id)

    async def resolve(self, method: ContactMethod, incident_id: str) -> ContactOutcome:
        """Resolve the incident's alert on ``method``'s routing key."""
        return await self._follow_up("resolve", method, incident_id)

    async def _follow_up(
        self, action: Literal["acknowledge", "resolve"], method: ContactMethod, incident_id: str
    ) -> ContactOutcome:
        if method.kind is not ContactKind.PAGERDUTY:
            raise ValueError(f"a {method.kind.value} method has no PagerDuty routing key")
        event = {
            "routing_key": method.address.strip(),
            "event_action": action,
            "dedup_key": dedup_key(incident_id),
        }
        return await self._enqueue(method, event)

    async def _enqueue(
        self, method: ContactMethod, event: dict[str, Any], *secrets: str | None
    ) -> ContactOutcome:
        url = f"{self._config.pagerduty_events_url.rstrip('/')}/v2/enqueue"
        # The routing key is the address: whoever has it can page this service.
        attempt = Attempt(method, "PagerDuty", secrets=(method.address, *secrets), urls=(url,))
        try:
            response = await self._http.post(url, json=event, timeout=TIMEOUT)
        except httpx.HTTPError as err:
            return attempt.unanswered(err, repeatable=True)
        answer = _json(response)
        if response.is_success:
            return attempt.delivered(provider_id=str(answer.get("dedup_key") or event["dedup_key"]))
        said = answer.get("message")
        errors = answer.get("errors")
        detail = None
        if isinstance(said, str) and said:
            listed = "; ".join(str(e) for e in errors) if isinstance(errors, list) else ""
            detail = f"{said} ({listed})" if listed else said
        return attempt.by_status(response, detail)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
