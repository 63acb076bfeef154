"""One entry point for every kind of contact method: ``Senders.send``."""

from __future__ import annotations

import logging
from typing import Protocol

import httpx

from activities.contact.config import ContactConfig
from activities.contact.console import ConsoleSender
from activities.contact.email import EmailSender
from activities.contact.models import ContactOutcome, PageMessage
from activities.contact.pagerduty import PagerDutySender
from activities.contact.push import PushSender
from activities.contact.slack import SlackSender
from activities.contact.sms import SmsSender
from activities.contact.twilio import Twilio
from activities.contact.voice import VoiceSender
from directory.models import ContactKind, ContactMethod

log = logging.getLogger("warroom.contact")


class Sender(Protocol):
    """Sends a page through one kind of contact method; every failure is an outcome."""

    async def send(self, method: ContactMethod, message: PageMessage) -> ContactOutcome: ...


class Senders:
    """The sender of each kind of contact method, built on one configuration and one
    HTTP client (the caller owns the client and closes it)."""

    def __init__(self, config: ContactConfig, http: httpx.AsyncClient) -> None:
        self.posts_to_channels = config.slack_bot_token is not None
        """Whether a Slack bot is configured to post to services' incident channels."""
        twilio = Twilio(config, http)
        self.email = EmailSender(config)
        self.slack = SlackSender(config, http)
        self.sms = SmsSender(twilio)
        self.voice = VoiceSender(twilio)
        self.pagerduty = PagerDutySender(config, http)
        self.push = PushSender()
        self.console = ConsoleSender(config, http)
        self._by_kind: dict[ContactKind, Sender] = {
            ContactKind.EMAIL: self.email,
            ContactKind.SLACK: self.slack,
            ContactKind.SMS: self.sms,
            ContactKind.VOICE: self.voice,
            ContactKind.PAGERDUTY: self.pagerduty,
            ContactKind.PUSH: self.push,
            ContactKind.CONSOLE: self.console,
        }

    def for_kind(self, kind: ContactKind) -> Sender:
        """The sender of ``kind``'s methods."""
        return self._by_kind[kind]

    async def send(self, method: ContactMethod, message: PageMessage) -> ContactOutcome:
        """Page through ``method``: delivered, refused for good, or transient (retry later).

        Never raises for a provider's failure or a missing setting: the outcome
        says what happened, without secrets or the whole address.
        """
        outcome = await self.for_kind(method.kind).send(method, message)
        _log(message, outcome)
        return outcome

    async def post_to_channel(
        self, channel: str, message: PageMessage, *, buttons: bool = False
    ) -> ContactOutcome:
        """Post ``message`` to the Slack channel ``channel`` (the incident channel), with
        the same outcomes as ``send``; ``buttons`` adds acknowledge and escalate."""
        outcome = await self.slack.post_to_channel(channel, message, buttons=buttons)
        _log(message, outcome)
        return outcome


def _log(message: PageMessage, outcome: ContactOutcome) -> None:
    # An outcome holds nothing secret and only the shown address: it may be logged whole.
    if outcome.delivered:
        log.info("page %s delivered via %s to %s", message.key, outcome.method, outcome.address)
    elif outcome.transient:
        log.warning(
            "page %s via %s to %s not delivered yet: %s",
            message.key,
            outcome.method,
            outcome.address,
            outcome.detail,
        )
    else:
        log.warning(
            "page %s via %s to %s refused: %s",
            message.key,
            outcome.method,
            outcome.address,
            outcome.detail,
        )
