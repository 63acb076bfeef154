"""Pages that reach people: one sender per kind of contact method, one interface.

``Senders(config, http).send(method, page)`` pages through a person's
``ContactMethod`` and answers a ``ContactOutcome``: delivered, refused for good,
or transient (the caller retries; see ``activities.contact.attempt`` for which
failures are repeated and why). One module per protocol:

* ``email``: SMTP (aiosmtplib), Message-ID stable across retries
* ``slack``: the Web API's ``chat.postMessage``, to a member or a channel, with buttons
* ``sms`` and ``voice``: Twilio's Messages and Calls (``twilio``)
* ``pagerduty``: the Events API v2, trigger, acknowledge and resolve
* ``push``: any service apprise knows, by URL
* ``console``: the local stack's console channel

The settings come in as a ``ContactConfig`` (``settings.ContactSettings`` is one).
"""

from activities.contact.config import ContactConfig
from activities.contact.models import ContactOutcome, PageMessage, shown_address
from activities.contact.senders import Sender, Senders

__all__ = [
    "ContactConfig",
    "ContactOutcome",
    "PageMessage",
    "Sender",
    "Senders",
    "shown_address",
]
