"""What the senders read of the settings, and the variable each value comes from.

The activities do not import the settings layer (the dependency direction):
``ContactConfig`` is the shape they need, and ``settings.ContactSettings``
has it, so the worker hands that object straight to ``Senders``. A test pins
the variable names here to the settings' own.
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import SecretStr

SMTP_HOST = "WARROOM_SMTP_HOST"
SMTP_FROM = "WARROOM_SMTP_FROM"
SLACK_BOT_TOKEN = "WARROOM_SLACK_BOT_TOKEN"
TWILIO_ACCOUNT_SID = "WARROOM_TWILIO_ACCOUNT_SID"
TWILIO_AUTH_TOKEN = "WARROOM_TWILIO_AUTH_TOKEN"
TWILIO_FROM = "WARROOM_TWILIO_FROM"
CONSOLE_URL = "WARROOM_CONSOLE_URL"

VARIABLES = {
    "smtp_host": SMTP_HOST,
    "smtp_from": SMTP_FROM,
    "slack_bot_token": SLACK_BOT_TOKEN,
    "twilio_account_sid": TWILIO_ACCOUNT_SID,
    "twilio_auth_token": TWILIO_AUTH_TOKEN,
    "twilio_from": TWILIO_FROM,
    "console_url": CONSOLE_URL,
}
"""The variable a refusal names when a value a kind needs is not set, by field."""


class ContactConfig(Protocol):
    """The providers' settings, read-only (``settings.ContactSettings`` is one)."""

    @property
    def smtp_host(self) -> str | None: ...
    @property
    def smtp_port(self) -> int | None: ...
    @property
    def smtp_username(self) -> str | None: ...
    @property
    def smtp_password(self) -> SecretStr | None: ...
    @property
    def smtp_from(self) -> str | None: ...
    @property
    def smtp_tls(self) -> Literal["none", "starttls", "tls"]: ...
    @property
    def slack_bot_token(self) -> SecretStr | None: ...
    @property
    def slack_api_url(self) -> str: ...
    @property
    def twilio_account_sid(self) -> str | None: ...
    @property
    def twilio_auth_token(self) -> SecretStr | None: ...
    @property
    def twilio_from(self) -> str | None: ...
    @property
    def twilio_api_url(self) -> str: ...
    @property
    def pagerduty_events_url(self) -> str: ...
    @property
    def console_url(self) -> str | None: ...


def secret(value: SecretStr | None) -> str | None:
    """The secret's text, for the one call that sends it; None when unset."""
    return value.get_secret_value() if value is not None else None
