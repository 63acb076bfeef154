"""The providers pages go through are read from the environment like every other setting."""

from __future__ import annotations

import pytest

from settings import ContactSettings, SettingsError


def test_nothing_set_is_every_provider_off_with_public_defaults() -> None:
    settings = ContactSettings.from_env({})
    assert settings.smtp_host is None and settings.slack_bot_token is None
    assert settings.smtp_tls == "starttls"
    assert settings.slack_api_url == "https://slack.com"
    assert settings.twilio_api_url == "https://api.twilio.com"
    assert settings.pagerduty_events_url == "https://events.pagerduty.com"
    assert settings.console_url is None


def test_every_variable_is_read_and_secrets_stay_out_of_repr() -> None:
    settings = ContactSettings.from_env(
        {
            "WARROOM_SMTP_HOST": "smtp.example.com",
            "WARROOM_SMTP_PORT": "2525",
            "WARROOM_SMTP_USERNAME": "pager",
            "WARROOM_SMTP_PASSWORD": "smtp-pw-123",
            "WARROOM_SMTP_FROM": "Warroom <pager@example.com>",
            "WARROOM_SMTP_TLS": "TLS",
            "WARROOM_SLACK_BOT_TOKEN": "xoxb-slack-secret",
            "WARROOM_SLACK_API_URL": "http://127.0.0.1:9/",
            "WARROOM_TWILIO_ACCOUNT_SID": "AC123",
            "WARROOM_TWILIO_AUTH_TOKEN": "twilio-secret",
            "WARROOM_TWILIO_FROM": "+15005550006",
            "WARROOM_TWILIO_API_URL": "http://127.0.0.1:10",
            "WARROOM_PAGERDUTY_EVENTS_URL": "http://127.0.0.1:11",
            "WARROOM_CONSOLE_URL": "http://127.0.0.1:12/pages",
        }
    )
    assert settings.smtp_port == 2525 and settings.smtp_tls == "tls"
    assert settings.smtp_password is not None
    assert settings.smtp_password.get_secret_value() == "smtp-pw-123"
    assert settings.slack_api_url == "http://127.0.0.1:9"  # paths are appended to it
    shown = repr(settings) + str(settings)
    for secret in ("smtp-pw-123", "xoxb-slack-secret", "twilio-secret"):
        assert secret not in shown


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"WARROOM_SMTP_TLS": "ssl"},
            "WARROOM_SMTP_TLS: expected none, starttls or tls, got 'ssl'",
        ),
        ({"WARROOM_SMTP_PORT": "70000"}, "WARROOM_SMTP_PORT: expected a port number 1-65535"),
        ({"WARROOM_SMTP_FROM": "pager"}, "WARROOM_SMTP_FROM: expected an address such as"),
        ({"WARROOM_SLACK_API_URL": "slack.com"}, "WARROOM_SLACK_API_URL: "),
        (
            {"WARROOM_SMTP_USERNAME": "pager"},
            "WARROOM_SMTP_USERNAME: set WARROOM_SMTP_PASSWORD too, or neither",
        ),
        (
            {"WARROOM_TWILIO_AUTH_TOKEN": "t0ken-value"},
            "WARROOM_TWILIO_AUTH_TOKEN: set WARROOM_TWILIO_ACCOUNT_SID too, or neither",
        ),
    ],
)
def test_a_value_that_cannot_be_used_is_named(env: dict[str, str], expected: str) -> None:
    with pytest.raises(SettingsError) as refused:
        ContactSettings.from_env(env)
    assert expected in str(refused.value)
    assert "t0ken-value" not in str(refused.value)


def test_a_refused_url_is_quoted_without_its_credentials() -> None:
    with pytest.raises(SettingsError) as refused:
        ContactSettings.from_env({"WARROOM_CONSOLE_URL": "ftp://user:pw-secret@host/x?k=v"})
    assert "WARROOM_CONSOLE_URL" in str(refused.value)
    assert "pw-secret" not in str(refused.value)
