"""Email pages over SMTP (``aiosmtplib``): TLS, STARTTLS or plain, with or without AUTH.

SMTP's own reply codes decide: 4yz is transient (the server asks to come back
later), 5yz is permanent (the mailbox does not exist, relaying is denied, the
login is wrong). A dropped connection or a timeout is retried: the message
keeps its Message-ID across retries (derived from the page's key), so a copy
that did go through before the connection dropped is shown once by mail
clients that thread on it.
"""

from __future__ import annotations

import hashlib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any

import aiosmtplib

from activities.contact.attempt import Attempt
from activities.contact.config import SMTP_FROM, SMTP_HOST, ContactConfig, secret
from activities.contact.models import ContactOutcome, PageMessage
from directory.models import ContactMethod

SMTP_TIMEOUT = 10.0
"""Seconds for each step of the SMTP conversation."""


def message_id(key: str, address: str, sender: str) -> str:
    """The Message-ID of the page ``key`` to ``address``: the same on every retry."""
    digest = hashlib.sha256(f"{key}\x00{address.lower()}".encode()).hexdigest()[:32]
    domain = parseaddr(sender)[1].rpartition("@")[2] or "warroom.invalid"
    return f"<{digest}.page@{domain}>"


def compose(message: PageMessage, address: str, sender: str) -> EmailMessage:
    """The email for one page: Subject, From, To, a stable Message-ID, the text and its links.

    Raises ValueError when ``address`` is not an email address (or would inject a header).
    """
    local, at, domain = address.strip().rpartition("@")
    if not (at and local and domain) or any(c in address for c in "\r\n<>,"):
        raise ValueError("not an email address")
    email = EmailMessage()
    email["Subject"] = message.subject
    email["From"] = sender
    email["To"] = Address(display_name=message.recipient or "", username=local, domain=domain)
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = message_id(message.key, address.strip(), sender)
    # RFC 3834: vacation responders and the like stay quiet.
    email["Auto-Submitted"] = "auto-generated"
    email["X-Warroom-Incident"] = message.incident_id
    email["X-Warroom-Severity"] = message.severity.value
    email.set_content(message.text_with_links())
    return email


def tls_options(mode: str) -> dict[str, bool]:
    """aiosmtplib's ``use_tls`` and ``start_tls`` for a WARROOM_SMTP_TLS mode.

    ``none`` turns STARTTLS off explicitly: aiosmtplib would otherwise upgrade
    whenever the server offers it.
    """
    return {"use_tls": mode == "tls", "start_tls": mode == "starttls"}


class EmailSender:
    """Sends pages as email through the SMTP server of the settings."""

    def __init__(self, config: ContactConfig) -> None:
        self._config = config

    async def send(self, method: ContactMethod, message: PageMessage) -> ContactOutcome:
        """Email ``message`` to ``method.address``; the outcome's provider_id is the Message-ID."""
        config = self._config
        password = secret(config.smtp_password)
        attempt = Attempt(
            method, "the SMTP server", secrets=(password, config.smtp_username, message.ack_url)
        )
        host, sender = config.smtp_host, config.smtp_from
        if host is None or sender is None:
            needed = ((SMTP_HOST, host), (SMTP_FROM, sender))
            return attempt.not_configured(*(name for name, value in needed if value is None))
        try:
            email = compose(message, method.address, sender)
        except ValueError:
            return attempt.refused("not an email address")
        options: dict[str, Any] = tls_options(config.smtp_tls)
        if config.smtp_username is not None and password is not None:
            options.update(username=config.smtp_username, password=password)
        try:
            await aiosmtplib.send(
                email,
                hostname=host,
                port=config.smtp_port,
                timeout=SMTP_TIMEOUT,
                **options,
            )
        except aiosmtplib.SMTPRecipientsRefused as err:
            refusal = err.recipients[0] if err.recipients else None
            if refusal is None:
                return attempt.refused("the SMTP server refused the recipient")
            return self._reply(attempt, refusal.code, refusal.message)
        except aiosmtplib.SMTPResponseException as err:
            return self._reply(attempt, err.code, err.message)
        except OSError as err:  # refused, dropped, timed out (aiosmtplib's are OSErrors too)
            if _certificate_refused(err):
                return attempt.refused(f"the SMTP server's certificate: {err}")
            return attempt.unanswered(err, repeatable=True)
        except aiosmtplib.SMTPException as err:
            # STARTTLS or AUTH asked for and not offered, SMTPUTF8 needed: the settings or
            # the address, not the moment.
            return attempt.refused(f"the SMTP server cannot take it: {err.message}")
        return attempt.delivered(provider_id=str(email["Message-ID"]))

    @staticmethod
    def _reply(attempt: Attempt, code: int, text: str) -> ContactOutcome:
        said = f"the SMTP server answered {code} {text}"
        return attempt.retry(said) if 400 <= code < 500 else attempt.refused(said)


def _certificate_refused(err: BaseException) -> bool:
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False
