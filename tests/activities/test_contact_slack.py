"""Slack pages through chat.postMessage, against a real HTTP receiver answering as Slack."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from activities.contact import ContactOutcome, Senders
from directory.models import ContactKind, ContactMethod
from settings import ContactSettings
from tests.support.pages import ACK_URL, assert_nothing_leaks, page
from tests.support.receiver import Received, RecordingReceiver, Responder

TOKEN = "xoxb-1111-2222-slack-bot-secret"
ALICE = ContactMethod(kind=ContactKind.SLACK, address="U012ALICE")


def slack(status: int, **answer: object) -> Responder:
    def respond(_request: Received) -> tuple[int, bytes]:
        return status, json.dumps(answer).encode()

    return respond


async def send(receiver: RecordingReceiver, method: ContactMethod = ALICE) -> ContactOutcome:
    settings = ContactSettings(slack_bot_token=TOKEN, slack_api_url=receiver.url)
    async with httpx.AsyncClient() as http:
        return await Senders(settings, http).send(method, page())


async def test_a_page_is_a_direct_message_with_acknowledge_and_escalate_buttons(
    receiver: RecordingReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.respond = slack(200, ok=True, channel="D0DM", ts="1712345678.000100")
    outcome = await send(receiver)
    assert outcome.delivered and outcome.provider_id == "D0DM/1712345678.000100"
    assert (outcome.method, outcome.address) == ("slack", "U012ALICE")
    [request] = receiver.received
    assert (request.method, request.path) == ("POST", "/api/chat.postMessage")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    body = request.json()
    assert body["channel"] == "U012ALICE"
    assert body["text"].startswith("P0 INC-7K3QXD: Agent run success rate below 90%")
    header, section, actions = body["blocks"]
    assert header["text"]["text"] == "P0 INC-7K3QXD: Agent run success rate below 90%"
    assert "Impact: 40% of agent runs fail." in section["text"]["text"]
    buttons = {b["action_id"]: b for b in actions["elements"]}
    assert actions["type"] == "actions"
    assert buttons["acknowledge"]["value"] == "INC-7K3QXD"
    assert buttons["escalate"]["value"] == "INC-7K3QXD"
    assert buttons["acknowledge_link"]["url"] == ACK_URL
    assert buttons["incident_link"]["url"].startswith("http://localhost:8233/")
    assert all(b["type"] == "button" and len(b["text"]["text"]) <= 75 for b in buttons.values())
    assert_nothing_leaks([TOKEN], [outcome], caplog)


async def test_the_incident_channel_gets_the_page_without_buttons(
    receiver: RecordingReceiver,
) -> None:
    receiver.respond = slack(200, ok=True, channel="C0INCIDENT", ts="1.2")
    settings = ContactSettings(slack_bot_token=TOKEN, slack_api_url=receiver.url)
    async with httpx.AsyncClient() as http:
        outcome = await Senders(settings, http).post_to_channel("C0INCIDENT", page())
    assert outcome.delivered and outcome.method == "incident channel"
    body = receiver.bodies()[0]
    assert body["channel"] == "C0INCIDENT"
    actions = [b for b in body["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for a in actions for e in a["elements"]] == ["incident_link"]


@pytest.mark.parametrize(
    "error", ["channel_not_found", "invalid_auth", "not_authed", "user_not_found"]
)
async def test_an_error_in_a_200_answer_is_refused(
    receiver: RecordingReceiver, caplog: pytest.LogCaptureFixture, error: str
) -> None:
    receiver.respond = slack(200, ok=False, error=error)
    outcome = await send(receiver)
    assert (outcome.delivered, outcome.transient) == (False, False)
    assert outcome.detail == f"Slack: {error}"
    assert_nothing_leaks([TOKEN], [outcome], caplog)


async def test_rate_limited_is_transient(receiver: RecordingReceiver) -> None:
    def limited(_request: Received) -> tuple[int, bytes]:
        return 429, b'{"ok": false, "error": "ratelimited"}'

    receiver.respond = limited
    outcome = await send(receiver)
    assert (outcome.delivered, outcome.transient) == (False, True)
    assert outcome.detail == "Slack: ratelimited"


@pytest.mark.parametrize(
    ("status", "answer", "transient"),
    [
        (200, b'{"ok": false, "error": "internal_error"}', True),
        (503, b"upstream unavailable", True),
        (200, b"<html>not json</html>", False),
        (404, b"not found", False),
    ],
)
async def test_other_answers(
    receiver: RecordingReceiver, status: int, answer: bytes, transient: bool
) -> None:
    receiver.respond = lambda _request: (status, answer)
    outcome = await send(receiver)
    assert (outcome.delivered, outcome.transient) == (False, transient)


async def test_slack_unreachable_before_the_request_left_is_transient() -> None:
    async with RecordingReceiver() as gone:
        url = gone.url
    settings = ContactSettings(slack_bot_token=TOKEN, slack_api_url=url)
    async with httpx.AsyncClient() as http:
        outcome = await Senders(settings, http).send(ALICE, page())
    assert (outcome.delivered, outcome.transient) == (False, True)
    assert outcome.detail == "Slack not reachable: connection refused"


async def test_text_is_escaped_for_slack_markup(receiver: RecordingReceiver) -> None:
    receiver.respond = slack(200, ok=True, ts="1.2")
    settings = ContactSettings(slack_bot_token=TOKEN, slack_api_url=receiver.url)
    async with httpx.AsyncClient() as http:
        await Senders(settings, http).send(ALICE, page(text="p99 > 2s & <!channel>"))
    body = receiver.bodies()[0]
    assert "p99 &gt; 2s &amp; &lt;!channel&gt;" in body["text"]
    assert "<!channel>" not in json.dumps(body["blocks"])


async def test_an_answer_echoing_the_token_is_scrubbed(
    receiver: RecordingReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.respond = lambda _request: (403, f"token {TOKEN} is not allowed here".encode())
    outcome = await send(receiver)
    assert (outcome.delivered, outcome.transient) == (False, False)
    assert outcome.detail == "Slack answered 403: token *** is not allowed here"
    assert_nothing_leaks([TOKEN], [outcome], caplog)
