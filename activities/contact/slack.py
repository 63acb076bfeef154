"""Slack pages through the Web API's ``chat.postMessage``, as the Warroom bot.

A page goes to the person's member ID (``U…``), which Slack delivers as a
direct message from the bot; ``post_to_channel`` posts to a channel (the
incident channel) the same way. Slack answers HTTP 200 with ``{"ok": false,
"error": "..."}`` for most failures: ``ratelimited`` (also sent with a 429)
and Slack's own transient errors are retried, any other error is settled as
refused. ``chat.postMessage`` does not de-duplicate: a request that may have
reached Slack is not repeated (see ``activities.contact.attempt``).

The page carries buttons: ``acknowledge`` and ``escalate`` (their value is the
incident ID, for the interactivity endpoint), and a link button to the
one-click acknowledge URL, which works without that endpoint.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from activities.contact.attempt import TIMEOUT, Attempt
from activities.contact.config import SLACK_BOT_TOKEN, ContactConfig, secret
from activities.contact.models import ContactOutcome, PageMessage
from directory.models import ContactKind, ContactMethod

ACKNOWLEDGE_ACTION = "acknowledge"
ESCALATE_ACTION = "escalate"
ACK_LINK_ACTION = "acknowledge_link"
INCIDENT_LINK_ACTION = "incident_link"

TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "rate_limited", "internal_error", "service_unavailable", "request_timeout"}
)
"""Slack errors that mean 'try again later' (``request_timeout``: the body arrived cut
short, so nothing was posted)."""

_HEADER_LIMIT = 150
_SECTION_LIMIT = 3000
_TEXT_LIMIT = 4000


def _escaped(text: str) -> str:
    """Text as Slack's markup reads it literally (``&``, ``<`` and ``>`` escaped)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _button(text: str, action_id: str, **extra: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text, "emoji": True},
        **extra,
    }


def page_blocks(message: PageMessage, *, buttons: bool = True) -> list[dict[str, Any]]:
    """The Block Kit layout of a page: headline, text and, with ``buttons``, its actions."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _cut(message.subject, _HEADER_LIMIT)},
        },
    ]
    if message.text.strip():
        body = _cut(_escaped(message.text.strip()), _SECTION_LIMIT - 8)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"```{body}```"}})
    elements: list[dict[str, Any]] = []
    if buttons:
        elements += [
            _button("Acknowledge", ACKNOWLEDGE_ACTION, value=message.incident_id, style="primary"),
            _button("Escalate", ESCALATE_ACTION, value=message.incident_id, style="danger"),
        ]
        if message.ack_url:
            elements.append(_button("Acknowledge (link)", ACK_LINK_ACTION, url=message.ack_url))
    if message.incident_url:
        elements.append(_button("Open incident", INCIDENT_LINK_ACTION, url=message.incident_url))
    if elements:
        blocks.append(
            {"type": "actions", "block_id": f"page:{message.incident_id}", "elements": elements}
        )
    return blocks


def post_body(channel: str, message: PageMessage, *, buttons: bool = True) -> dict[str, Any]:
    """The ``chat.postMessage`` arguments: ``text`` is what notifications show, ``blocks``
    what the message shows."""
    text = _escaped(f"{message.subject}\n{message.text}".strip())
    return {
        "channel": channel,
        "text": _cut(text, _TEXT_LIMIT),
        "blocks": page_blocks(message, buttons=buttons),
        "unfurl_links": False,
    }


class SlackNotConfigured(Exception):
    """No bot token: the Web API cannot be called."""


class SlackUnavailable(Exception):
    """Slack answered that it cannot take the call now; try again later."""


class SlackSender:
    """Posts pages with the bot token of the settings."""

    def __init__(self, config: ContactConfig, http: httpx.AsyncClient) -> None:
        self._config = config
        self._http = http

    async def send(self, method: ContactMethod, message: PageMessage) -> ContactOutcome:
        """Send ``message`` to the member ID ``method.address`` as a direct message, with its
        buttons; the outcome's provider_id is ``channel/ts``."""
        return await self.post(method, message, buttons=True)

    async def post_to_channel(
        self, channel: str, message: PageMessage, *, buttons: bool = False
    ) -> ContactOutcome:
        """Post ``message`` to ``channel`` (an ID such as ``C0123``, or a name), by default
        without the acknowledge and escalate buttons; the same outcomes as ``send``."""
        method = ContactMethod(kind=ContactKind.SLACK, address=channel, label="incident channel")
        return await self.post(method, message, buttons=buttons)

    @property
    def configured(self) -> bool:
        """Whether a bot token is set, so the Web API can be called at all."""
        return self._config.slack_bot_token is not None

    async def call(self, api_method: str, arguments: dict[str, str]) -> dict[str, Any]:
        """One Web API call (``conversations.create``, …) as the bot; Slack's answer, ``ok``
        or not. Raises ``httpx.HTTPError`` when Slack did not answer, ``SlackUnavailable``
        when it answered that it cannot now (``TRANSIENT_ERRORS``, a 5xx, a 429), and
        ``SlackNotConfigured`` without a bot token. The arguments go form-encoded, which
        every Web API method takes (JSON only the write methods)."""
        token = secret(self._config.slack_bot_token)
        if token is None:
            raise SlackNotConfigured(SLACK_BOT_TOKEN + " is not set")
        url = f"{self._config.slack_api_url.rstrip('/')}/api/{api_method}"
        headers = {"Authorization": f"Bearer {token}"}
        response = await self._http.post(url, data=arguments, headers=headers, timeout=TIMEOUT)
        answer = _json(response)
        error = str(answer.get("error") or "")
        if error in TRANSIENT_ERRORS or response.status_code == 429 or response.is_server_error:
            raise SlackUnavailable(f"Slack {api_method}: {error or response.status_code}")
        if not response.is_success:
            return {"ok": False, "error": error or f"HTTP {response.status_code}"}
        return answer

    async def post(
        self, method: ContactMethod, message: PageMessage, *, buttons: bool
    ) -> ContactOutcome:
        """``chat.postMessage`` to ``method.address``; every failure comes back as an outcome."""
        token = secret(self._config.slack_bot_token)
        url = f"{self._config.slack_api_url.rstrip('/')}/api/chat.postMessage"
        attempt = Attempt(method, "Slack", secrets=(token, message.ack_url), urls=(url,))
        if token is None:
            return attempt.not_configured(SLACK_BOT_TOKEN)
        body = json.dumps(post_body(method.address.strip(), message, buttons=buttons))
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json; charset=utf-8",
        }
        try:
            response = await self._http.post(url, content=body, headers=headers, timeout=TIMEOUT)
        except httpx.HTTPError as err:
            return attempt.unanswered(err, repeatable=False)
        answer = _json(response)
        error = str(answer.get("error") or "")
        if response.is_success and answer.get("ok") is True:
            where = answer.get("channel") or method.address
            return attempt.delivered(provider_id=f"{where}/{answer.get('ts', '')}")
        if error in TRANSIENT_ERRORS:
            return attempt.retry(f"Slack: {error}")
        if not response.is_success:
            return attempt.by_status(response, error or None)
        return attempt.refused(f"Slack: {error or 'no ok in its answer'}")


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
