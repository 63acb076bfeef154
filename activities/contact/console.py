"""Pages printed by the local stack's console channel, for the sample and demonstrations.

The page is posted as JSON to ``WARROOM_CONSOLE_URL``; the console prints
``→ page to Alice Ng (console): <headline>``. The document also carries the
fields a notice has (``kind``, ``audience``, ``headline``), so a console that
only knows notices still prints it. Posted with the page's key as
``Idempotency-Key``: a request left unanswered is repeated.
"""

from __future__ import annotations

from typing import Any

import httpx

from activities.contact.attempt import TIMEOUT, Attempt
from activities.contact.config import CONSOLE_URL, ContactConfig
from activities.contact.models import ContactOutcome, PageMessage
from directory.models import ContactMethod


def console_document(method: ContactMethod, message: PageMessage) -> dict[str, Any]:
    """What the console receives: who is paged, through which method, and the page."""
    person = message.recipient or method.address
    return {
        "kind": "page",
        "audience": f"{person} ({method.name})",
        "headline": message.subject,
        "person": person,
        "method": method.name,
        "incident_id": message.incident_id,
        "severity": message.severity.value,
        "text": message.text,
        "ack_url": message.ack_url,
        "incident_url": message.incident_url,
        "key": message.key,
    }


class ConsoleSender:
    """Posts pages to the console channel of the settings."""

    def __init__(self, config: ContactConfig, http: httpx.AsyncClient) -> None:
        self._config = config
        self._http = http

    async def send(self, method: ContactMethod, message: PageMessage) -> ContactOutcome:
        """Post the page to the console; 2xx is delivered, 4xx refused, the rest retried."""
        url = self._config.console_url
        attempt = Attempt(
            method, "the console", secrets=(message.ack_url,), urls=(url,) if url else ()
        )
        if url is None:
            return attempt.not_configured(CONSOLE_URL)
        try:
            response = await self._http.post(
                url,
                json=console_document(method, message),
                headers={"Idempotency-Key": message.key},
                timeout=TIMEOUT,
            )
        except httpx.HTTPError as err:
            return attempt.unanswered(err, repeatable=True)
        if response.is_success:
            return attempt.delivered()
        return attempt.by_status(response)
