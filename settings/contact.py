"""How pages reach people: the SMTP server, the Slack bot, Twilio, PagerDuty, the console.

Every part is optional. A kind of contact method left unconfigured is not an
error here: a page sent through it is refused, naming the variable to set
(``activities.contact``). What is refused here is what cannot work whatever
is paged: a value that cannot be used, or half of a pair (a user without its
password).
"""

from __future__ import annotations

from email.utils import parseaddr
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, SecretStr, model_validator

from settings.environment import EnvSettings
from settings.errors import invalid
from settings.fields import http_url

DEFAULT_SLACK_API_URL = "https://slack.com"
DEFAULT_TWILIO_API_URL = "https://api.twilio.com"
DEFAULT_PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com"

SmtpTls = Literal["none", "starttls", "tls"]
"""``tls``: TLS from the first byte (port 465); ``starttls``: plain, then upgraded (587);
``none``: plain text (a relay on the same host or network)."""


def _origin(value: str) -> str:
    """A URL as a refusal may quote it: scheme and host, never a path, user or query."""
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
    except ValueError:
        return "***"
    return f"{parts.scheme}://{host}/…" if parts.scheme and host else "***"


def _port(value: Any) -> Any:
    if value is None:
        return None
    number = (
        int(value) if isinstance(value, str) and value.isascii() and value.isdecimal() else value
    )
    if isinstance(number, bool) or not isinstance(number, int) or not 0 < number < 65536:
        raise invalid(f"expected a port number 1-65535, got {value!r}")
    return number


def _tls_mode(value: Any) -> Any:
    if isinstance(value, str):
        if value.lower() not in ("none", "starttls", "tls"):
            raise invalid(f"expected none, starttls or tls, got {value!r}")
        return value.lower()
    return value


def _mailbox(value: Any) -> Any:
    """``pager@example.com`` or ``Warroom <pager@example.com>``."""
    if isinstance(value, str) and "@" not in parseaddr(value)[1]:
        raise invalid(f"expected an address such as Warroom <pager@example.com>, got {value!r}")
    return value


Url = Annotated[str, http_url(shown=_origin)]


class ContactSettings(EnvSettings):
    """The providers pages go through, each from its ``WARROOM_*`` variable.

    Secrets (the SMTP password, the Slack bot token, the Twilio auth token)
    are ``SecretStr``: a logged or printed settings object shows ``**********``.
    """

    smtp_host: str | None = Field(None, validation_alias="WARROOM_SMTP_HOST")
    """The SMTP server email pages go through; unset, email pages are refused."""
    smtp_port: Annotated[int | None, BeforeValidator(_port)] = Field(
        None, validation_alias="WARROOM_SMTP_PORT"
    )
    """None: 465 for ``tls``, 587 for ``starttls``, 25 for ``none``."""
    smtp_username: str | None = Field(None, validation_alias="WARROOM_SMTP_USERNAME")
    smtp_password: SecretStr | None = Field(None, validation_alias="WARROOM_SMTP_PASSWORD")
    smtp_from: Annotated[str | None, BeforeValidator(_mailbox)] = Field(
        None, validation_alias="WARROOM_SMTP_FROM"
    )
    smtp_tls: Annotated[SmtpTls, BeforeValidator(_tls_mode)] = Field(
        "starttls", validation_alias="WARROOM_SMTP_TLS"
    )
    slack_bot_token: SecretStr | None = Field(None, validation_alias="WARROOM_SLACK_BOT_TOKEN")
    """A bot token (``xoxb-…``) with ``chat:write``: direct messages and incident channels."""
    slack_api_url: Url = Field(DEFAULT_SLACK_API_URL, validation_alias="WARROOM_SLACK_API_URL")
    twilio_account_sid: str | None = Field(None, validation_alias="WARROOM_TWILIO_ACCOUNT_SID")
    twilio_auth_token: SecretStr | None = Field(None, validation_alias="WARROOM_TWILIO_AUTH_TOKEN")
    twilio_from: str | None = Field(None, validation_alias="WARROOM_TWILIO_FROM")
    """The Twilio number (E.164) texts and calls come from."""
    twilio_api_url: Url = Field(DEFAULT_TWILIO_API_URL, validation_alias="WARROOM_TWILIO_API_URL")
    pagerduty_events_url: Url = Field(
        DEFAULT_PAGERDUTY_EVENTS_URL, validation_alias="WARROOM_PAGERDUTY_EVENTS_URL"
    )
    """The Events API v2 host; each person's routing key is their contact address."""
    console_url: Annotated[str | None, http_url(shown=_origin)] = Field(
        None, validation_alias="WARROOM_CONSOLE_URL"
    )
    """The local stack's console channel, which prints pages of ``console`` methods."""

    @model_validator(mode="after")
    def _pairs_complete(self) -> Self:
        pairs = [
            (
                "WARROOM_SMTP_USERNAME",
                self.smtp_username,
                "WARROOM_SMTP_PASSWORD",
                self.smtp_password,
            ),
            (
                "WARROOM_TWILIO_ACCOUNT_SID",
                self.twilio_account_sid,
                "WARROOM_TWILIO_AUTH_TOKEN",
                self.twilio_auth_token,
            ),
        ]
        for first, first_value, second, second_value in pairs:
            if (first_value is None) != (second_value is None):
                given, missing = (first, second) if first_value is not None else (second, first)
                raise invalid(f"{given}: set {missing} too, or neither")
        return self


__all__ = [
    "DEFAULT_PAGERDUTY_EVENTS_URL",
    "DEFAULT_SLACK_API_URL",
    "DEFAULT_TWILIO_API_URL",
    "ContactSettings",
    "SmtpTls",
]
