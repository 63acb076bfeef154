"""Voice pages through Twilio's Calls resource: the call reads the page out, twice.

The TwiML goes inline (``Twiml``), so no URL of ours needs to be reachable from
Twilio. The call says where to acknowledge; acknowledging by keypad is not
offered (that needs Twilio to call back a public endpoint).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from activities.contact.models import ContactOutcome, PageMessage
from activities.contact.twilio import Twilio
from directory.models import ContactMethod

SPEECH_LIMIT = 1000
"""Characters of speech: a call reads its page out, it is not the place for the whole notice."""


def speech(message: PageMessage) -> str:
    """What the call says."""
    greeting = f"Hello {message.recipient}. " if message.recipient else ""
    subject = message.subject if len(message.subject) <= 300 else message.subject[:300]
    said = (
        f"{greeting}This is Warroom with a {message.severity.value} page. {subject}. "
        "Acknowledge it with the link you were sent, or in Slack."
    )
    return said[:SPEECH_LIMIT]


def twiml(message: PageMessage) -> str:
    """The call's TwiML: ``<Response><Say>…</Say></Response>``, the page said twice."""
    return f'<Response><Say loop="2">{escape(speech(message))}</Say></Response>'


class VoiceSender:
    """Calls phone numbers (E.164) and reads the page out."""

    def __init__(self, twilio: Twilio) -> None:
        self._twilio = twilio

    async def send(self, method: ContactMethod, message: PageMessage) -> ContactOutcome:
        """Call ``method.address``; provider_id is the call's SID (``CA…``)."""
        return await self._twilio.create("Calls", method, message, {"Twiml": twiml(message)})
