"""Text message pages through Twilio's Messages resource (see ``activities.contact.twilio``)."""

from __future__ import annotations

from activities.contact.models import ContactOutcome, PageMessage
from activities.contact.twilio import Twilio
from directory.models import ContactMethod

SMS_LIMIT = 1600
"""Twilio's limit for a message body, in UTF-16 code units (an emoji counts two)."""


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, units: int) -> str:
    """``text`` cut to at most ``units`` UTF-16 code units, an ellipsis marking the cut."""
    if _units(text) <= units:
        return text
    kept: list[str] = []
    used = 0
    for char in text:
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units - 1:
            break
        kept.append(char)
    return "".join(kept).rstrip() + "…"


def sms_body(message: PageMessage) -> str:
    """The text of a page: headline, body as fits, and the acknowledge link, always whole."""
    tail = f"\n\nAcknowledge: {message.ack_url}" if message.ack_url else ""
    text = f"{message.subject}\n\n{message.text.strip()}".strip()
    return _cut(text, SMS_LIMIT - _units(tail)) + tail


class SmsSender:
    """Texts pages to phone numbers (E.164)."""

    def __init__(self, twilio: Twilio) -> None:
        self._twilio = twilio

    async def send(self, method: ContactMethod, message: PageMessage) -> ContactOutcome:
        """Text ``message`` to ``method.address``; provider_id is the message's SID (``SM…``)."""
        return await self._twilio.create("Messages", method, message, {"Body": sms_body(message)})
