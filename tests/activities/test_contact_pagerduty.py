"""PagerDuty pages through the Events API v2, against a real HTTP receiver."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from activities.contact import ContactOutcome, Senders
from activities.contact.pagerduty import dedup_key
from directory.models import ContactKind, ContactMethod
from incident.severity import Severity
from settings import ContactSettings
from tests.support.pages import ACK_URL, assert_nothing_leaks, page
from tests.support.receiver import RecordingReceiver

ROUTING_KEY = "R0123456789abcdef0123456789abcd"
PAGERDUTY = ContactMethod(kind=ContactKind.PAGERDUTY, address=ROUTING_KEY)


def accepted(status: int = 202, **answer: object) -> tuple[int, bytes]:
    body = {"status": "success", "message": "Event processed", **answer}
    return status, json.dumps(body).encode()


def senders(receiver: RecordingReceiver, http: httpx.AsyncClient) -> Senders:
    return Senders(ContactSettings(pagerduty_events_url=receiver.url), http)


async def send(receiver: RecordingReceiver, **extra: object) -> ContactOutcome:
    async with httpx.AsyncClient() as http:
        return await senders(receiver, http).send(PAGERDUTY, page(**extra))


async def test_a_page_triggers_an_alert_deduplicated_by_incident(
    receiver: RecordingReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.respond = lambda _request: accepted(dedup_key="warroom-INC-7K3QXD")
    outcome = await send(receiver)
    assert outcome.delivered and outcome.provider_id == "warroom-INC-7K3QXD"
    assert outcome.address == "…abcd"
    [request] = receiver.received
    assert (request.method, request.path) == ("POST", "/v2/enqueue")
    event = request.json()
    assert event["routing_key"] == ROUTING_KEY
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == "warroom-INC-7K3QXD"
    payload = event["payload"]
    assert payload["summary"] == "P0 INC-7K3QXD: Agent run success rate below 90%"
    assert (payload["source"], payload["severity"]) == ("agents", "critical")
    assert payload["custom_details"]["incident"] == "INC-7K3QXD"
    assert {"href": ACK_URL, "text": "Acknowledge in Warroom"} in event["links"]
    assert_nothing_leaks([ROUTING_KEY], [outcome], caplog)


async def test_every_page_of_an_incident_has_the_same_dedup_key(
    receiver: RecordingReceiver,
) -> None:
    receiver.respond = lambda _request: accepted()
    await send(receiver)
    await send(receiver, key="another page of the same incident", severity=Severity.P1)
    keys = {body["dedup_key"] for body in receiver.bodies()}
    assert keys == {dedup_key("INC-7K3QXD")}


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        (Severity.P0, "critical"),
        (Severity.P1, "error"),
        (Severity.P2, "warning"),
        (Severity.P3, "info"),
        (Severity.P4, "info"),
    ],
)
async def test_severity_maps_to_pagerduty_s(
    receiver: RecordingReceiver, severity: Severity, expected: str
) -> None:
    receiver.respond = lambda _request: accepted()
    await send(receiver, severity=severity)
    assert receiver.bodies()[0]["payload"]["severity"] == expected


@pytest.mark.parametrize(
    ("status", "body", "delivered", "transient"),
    [
        (202, {"status": "success"}, True, False),
        (
            400,
            {
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": ["'routing_key' is invalid"],
            },
            False,
            False,
        ),
        (
            429,
            {
                "status": "throttle event",
                "message": "Requests for this service are arriving too quickly.",
            },
            False,
            True,
        ),
        (500, {}, False, True),
    ],
)
async def test_the_events_api_contract(
    receiver: RecordingReceiver,
    caplog: pytest.LogCaptureFixture,
    status: int,
    body: dict[str, object],
    delivered: bool,
    transient: bool,
) -> None:
    receiver.respond = lambda _request: (status, json.dumps(body).encode())
    outcome = await send(receiver)
    assert (outcome.delivered, outcome.transient) == (delivered, transient)
    assert_nothing_leaks([ROUTING_KEY], [outcome], caplog)


async def test_an_invalid_event_says_why(receiver: RecordingReceiver) -> None:
    body = {"status": "invalid event", "message": "Event object is invalid", "errors": ["bad"]}
    receiver.respond = lambda _request: (400, json.dumps(body).encode())
    outcome = await send(receiver)
    assert outcome.detail == "PagerDuty answered 400: Event object is invalid (bad)"


async def test_acknowledge_and_resolve_reach_the_same_alert(receiver: RecordingReceiver) -> None:
    receiver.respond = lambda _request: accepted()
    async with httpx.AsyncClient() as http:
        pagerduty = senders(receiver, http).pagerduty
        acknowledged = await pagerduty.acknowledge(PAGERDUTY, "INC-7K3QXD")
        resolved = await pagerduty.resolve(PAGERDUTY, "INC-7K3QXD")
    assert acknowledged.delivered and resolved.delivered
    assert receiver.bodies() == [
        {"routing_key": ROUTING_KEY, "event_action": action, "dedup_key": "warroom-INC-7K3QXD"}
        for action in ("acknowledge", "resolve")
    ]


async def test_pagerduty_unreachable_is_transient_since_repeats_are_deduplicated() -> None:
    async with RecordingReceiver() as gone:
        url = gone.url
    async with httpx.AsyncClient() as http:
        settings = ContactSettings(pagerduty_events_url=url)
        outcome = await Senders(settings, http).send(PAGERDUTY, page())
    assert (outcome.delivered, outcome.transient) == (False, True)
