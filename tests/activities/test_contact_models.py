"""The contact senders' one interface: pages, outcomes, masked addresses, missing settings."""

from __future__ import annotations

import httpx
import pytest

import activities.contact
from activities.contact import ContactOutcome, Senders, shown_address
from activities.contact.config import VARIABLES
from directory.models import ContactKind, ContactMethod
from settings import ContactSettings
from tests.support.pages import ACK_URL, page


def test_the_public_interface_is_pinned() -> None:
    assert sorted(activities.contact.__all__) == [
        "ContactConfig",
        "ContactOutcome",
        "PageMessage",
        "Sender",
        "Senders",
        "shown_address",
    ]


@pytest.mark.parametrize(
    ("kind", "address", "shown"),
    [
        (ContactKind.SMS, "+447700900123", "+44…123"),
        (ContactKind.VOICE, "+1 415 555 0100", "+14…100"),
        (ContactKind.SMS, "12345", "…"),
        (ContactKind.EMAIL, "alice.ng@example.com", "a…@example.com"),
        (ContactKind.EMAIL, "nobody", "…"),
        (ContactKind.PAGERDUTY, "R0123456789abcdef0123456789abcd", "…abcd"),
        (ContactKind.PUSH, "tgram://123456:bot-token/987654", "tgram://…"),
        (ContactKind.PUSH, "not a url", "…"),
        (ContactKind.SLACK, "U012ABCDEF", "U012ABCDEF"),
        (ContactKind.CONSOLE, "alice", "alice"),
    ],
)
def test_an_address_is_shown_masked(kind: ContactKind, address: str, shown: str) -> None:
    assert shown_address(ContactMethod(kind=kind, address=address)) == shown


def test_the_text_carries_the_acknowledge_link_and_the_incident() -> None:
    text = page().text_with_links()
    assert text.startswith("Agent runs are failing.")
    assert f"Acknowledge: {ACK_URL}" in text
    assert "Incident: http://localhost:8233/" in text
    assert page(ack_url=None, incident_url=None, text="").text_with_links() == "\n"


def test_a_delivered_page_is_settled_and_never_transient() -> None:
    fields = {"method": "sms", "kind": ContactKind.SMS, "address": "+44…123"}
    assert ContactOutcome(**fields, delivered=True).settled
    assert not ContactOutcome(**fields, delivered=False, transient=True).settled
    with pytest.raises(ValueError, match="not transient"):
        ContactOutcome(**fields, delivered=True, transient=True)


@pytest.mark.parametrize(
    ("kind", "address", "variables"),
    [
        (ContactKind.EMAIL, "alice@example.com", "WARROOM_SMTP_HOST and WARROOM_SMTP_FROM"),
        (ContactKind.SLACK, "U012ABCDEF", "WARROOM_SLACK_BOT_TOKEN"),
        (
            ContactKind.SMS,
            "+447700900123",
            "WARROOM_TWILIO_ACCOUNT_SID and WARROOM_TWILIO_AUTH_TOKEN and WARROOM_TWILIO_FROM",
        ),
        (
            ContactKind.VOICE,
            "+447700900123",
            "WARROOM_TWILIO_ACCOUNT_SID and WARROOM_TWILIO_AUTH_TOKEN and WARROOM_TWILIO_FROM",
        ),
        (ContactKind.CONSOLE, "alice", "WARROOM_CONSOLE_URL"),
    ],
)
async def test_a_kind_without_its_settings_is_refused_naming_the_variables(
    kind: ContactKind, address: str, variables: str
) -> None:
    async with httpx.AsyncClient() as http:
        senders = Senders(ContactSettings(), http)
        outcome = await senders.send(ContactMethod(kind=kind, address=address), page())
    assert (outcome.delivered, outcome.transient) == (False, False)
    assert outcome.detail == f"{kind.value} pages are not configured: set {variables}"


async def test_half_the_email_settings_names_only_what_is_missing() -> None:
    async with httpx.AsyncClient() as http:
        senders = Senders(ContactSettings(smtp_host="127.0.0.1"), http)
        method = ContactMethod(kind=ContactKind.EMAIL, address="alice@example.com")
        outcome = await senders.send(method, page())
    assert outcome.detail == "email pages are not configured: set WARROOM_SMTP_FROM"


async def test_every_kind_has_a_sender() -> None:
    async with httpx.AsyncClient() as http:
        senders = Senders(ContactSettings(), http)
        assert all(hasattr(senders.for_kind(kind), "send") for kind in ContactKind)
        assert senders.for_kind(ContactKind.SMS) is senders.sms


def test_the_variables_named_are_the_settings_own() -> None:
    fields = ContactSettings.model_fields
    for name, variable in VARIABLES.items():
        assert fields[name].validation_alias == variable


def test_an_outcome_survives_a_heartbeat_round_trip() -> None:
    outcome = ContactOutcome(
        method="mobile",
        kind=ContactKind.SMS,
        address="+44…123",
        delivered=True,
        provider_id="SM0001",
    )
    assert ContactOutcome.model_validate(outcome.model_dump(mode="json")) == outcome
