"""Twilio's REST contract, shared by text messages (``sms``) and calls (``voice``).

``POST {base}/2010-04-01/Accounts/{AccountSid}/{Messages|Calls}.json`` with form
fields, HTTP basic auth with the account SID and the auth token; 201 answers
the created resource (its ``sid``), an error answers JSON with ``code`` and
``message``.

Twilio takes no idempotency key, so a request is repeated only when it surely
did not reach Twilio (the connection was refused or timed out while
connecting) or Twilio answered 429 or 5xx, and so did not create the message
or the call. A request sent and left unanswered is settled as not delivered:
repeating it could text or ring a person twice.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote

import httpx

from activities.contact.attempt import TIMEOUT, Attempt
from activities.contact.config import (
    TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN,
    TWILIO_FROM,
    ContactConfig,
    secret,
)
from activities.contact.models import ContactOutcome, PageMessage
from directory.models import ContactMethod

Resource = Literal["Messages", "Calls"]


class Twilio:
    """Creates messages and calls with the account of the settings."""

    def __init__(self, config: ContactConfig, http: httpx.AsyncClient) -> None:
        self._config = config
        self._http = http

    async def create(
        self,
        resource: Resource,
        method: ContactMethod,
        message: PageMessage,
        fields: dict[str, str],
    ) -> ContactOutcome:
        """Create a ``resource`` to ``method.address`` with ``fields`` (besides To and From).

        201 (any 2xx) is delivered, with Twilio's SID as provider_id; 429 and 5xx are
        transient; any other answer is refused with Twilio's code and message.
        """
        config = self._config
        sid, token, sender = (
            config.twilio_account_sid,
            secret(config.twilio_auth_token),
            config.twilio_from,
        )
        base = config.twilio_api_url.rstrip("/")
        url = f"{base}/2010-04-01/Accounts/{quote(sid or '', safe='')}/{resource}.json"
        attempt = Attempt(method, "Twilio", secrets=(token, sid, message.ack_url), urls=(url,))
        if sid is None or token is None or sender is None:
            needed = ((TWILIO_ACCOUNT_SID, sid), (TWILIO_AUTH_TOKEN, token), (TWILIO_FROM, sender))
            return attempt.not_configured(*(name for name, value in needed if value is None))
        form = {"To": method.address.strip(), "From": sender, **fields}
        try:
            response = await self._http.post(url, data=form, auth=(sid, token), timeout=TIMEOUT)
        except httpx.HTTPError as err:
            return attempt.unanswered(err, repeatable=False)
        answer = _json(response)
        if response.is_success:
            created = answer.get("sid")
            return attempt.delivered(provider_id=created if isinstance(created, str) else None)
        code, said = answer.get("code"), answer.get("message")
        detail = f"error {code}: {said}" if code is not None and said else None
        return attempt.by_status(response, detail)


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
