"""Tell an outside ticket tracker of action-item changes: one POST of JSON per change, with
an idempotency key, retried until the tracker answers."""

from __future__ import annotations

import logging

import httpx
from pydantic import SecretStr
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.redact import describe, scrub
from incident.tickets import TicketEvent

log = logging.getLogger("warroom.tickets")

TIMEOUT = 10.0


class TicketActivities:
    """Posts ``TicketEvent`` bodies to ``WARROOM_TICKET_WEBHOOK_URL`` (nothing when unset)."""

    def __init__(
        self, *, http: httpx.AsyncClient, url: str | None, token: SecretStr | None = None
    ) -> None:
        self._http = http
        self._url = url
        self._token = token

    @activity.defn(name="tickets.send")
    async def send(self, event: TicketEvent) -> str:
        """POST the change; returns what became of it, for the timeline.

        The body is the event as JSON plus ``idempotency_key`` (also the
        ``Idempotency-Key`` header): stable across retries and replays, so a
        tracker can drop a repeat. A 2xx is done and a 4xx is a refusal for good
        (said, not retried); a 5xx, timeout or connection error raises, and
        Temporal retries with backoff.
        """
        if self._url is None:
            return "no ticket tracker configured"
        info = activity.info()
        key = event.idempotency_key(info.workflow_id or "")
        body = event.model_dump(mode="json") | {"idempotency_key": key}
        headers = {"Idempotency-Key": key}
        tokens: list[str] = []
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
            tokens.append(self._token.get_secret_value())
        try:
            response = await self._http.post(self._url, json=body, headers=headers, timeout=TIMEOUT)
        except httpx.HTTPError as err:
            raise ApplicationError(
                f"ticket tracker unreachable: {describe(err, [self._url], tokens)}",
                type="TrackerUnavailable",
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            return f"ticket tracker took it ({status})"
        detail = scrub(response.text or response.reason_phrase, [self._url], tokens)[:200]
        if 400 <= status < 500 and status not in (408, 429):
            log.warning("ticket tracker refused %s: %s %s", event.key, status, detail)
            return f"ticket tracker refused it ({status}): {detail}"
        raise ApplicationError(f"ticket tracker answered {status}", type="TrackerUnavailable")
