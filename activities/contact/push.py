"""Pages to the long tail of services (ntfy, Pushover, Telegram, Teams, …) through apprise.

The address is an apprise URL, which usually carries the service's credentials
(a bot token, an app key): it is never logged, and an outcome shows only its
scheme. apprise answers true or false and no reason: false is settled as not
delivered, since nothing tells a refusal from an outage, nor whether a repeat
would notify twice.
"""

from __future__ import annotations

import logging

import apprise

from activities.contact.attempt import Attempt
from activities.contact.models import ContactOutcome, PageMessage
from directory.models import ContactMethod
from incident.severity import Severity

URGENT = frozenset({Severity.P0, Severity.P1})


class _OnlyInfoAndAbove(logging.Filter):
    """Drops apprise's DEBUG and TRACE records: they spell out every URL apprise parses,
    credentials and all, and every payload, acknowledge link and all."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO


def _quiet_apprise_debug() -> None:
    apprise_log = logging.getLogger("apprise")
    if not any(isinstance(f, _OnlyInfoAndAbove) for f in apprise_log.filters):
        apprise_log.addFilter(_OnlyInfoAndAbove())


class PushSender:
    """Sends pages to any notification URL apprise understands."""

    def __init__(self) -> None:
        _quiet_apprise_debug()

    async def send(self, method: ContactMethod, message: PageMessage) -> ContactOutcome:
        """Notify ``method.address`` (an apprise URL) with the page's subject and text."""
        attempt = Attempt(method, "apprise", secrets=(method.address, message.ack_url))
        notifier = apprise.Apprise()
        if not notifier.add(method.address.strip()):
            return attempt.refused("not a notification URL apprise understands")
        sent = await notifier.async_notify(
            body=message.text_with_links(),
            title=message.subject,
            notify_type=(
                apprise.NotifyType.FAILURE
                if message.severity in URGENT
                else apprise.NotifyType.WARNING
            ),
        )
        if not sent:
            return attempt.refused(
                "the notification service did not take it (apprise tells no reason)"
            )
        return attempt.delivered()
