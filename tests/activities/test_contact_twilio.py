"""Text and voice pages through Twilio's REST contract, against a real HTTP receiver."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

import httpx
import pytest

from activities.contact import ContactOutcome, Senders
from activities.contact import twilio as twilio_module
from activities.contact.sms import SMS_LIMIT, sms_body
from directory.models import ContactKind, ContactMethod
from settings import ContactSettings
from tests.support.pages import ACK_URL, assert_nothing_leaks, page
from tests.support.receiver import Received, RecordingReceiver

SID = "AC0123456789abcdef0123456789abcdef"
AUTH_TOKEN = "twilio-auth-token-s3cret"
SENDER = "+15005550006"
PHONE = "+447700900123"
SMS = ContactMethod(kind=ContactKind.SMS, address=PHONE, label="mobile")
VOICE = ContactMethod(kind=ContactKind.VOICE, address=PHONE)


def twilio(url: str) -> ContactSettings:
    return ContactSettings(
        twilio_account_sid=SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from=SENDER,
        twilio_api_url=url,
    )


async def send(url: str, method: ContactMethod, **extra: object) -> ContactOutcome:
    async with httpx.AsyncClient() as http:
        return await Senders(twilio(url), http).send(method, page(**extra))


def form(request: Received) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.body.decode()).items()}


def created(sid: str) -> tuple[int, bytes]:
    return 201, json.dumps({"sid": sid, "status": "queued"}).encode()


async def test_a_text_is_posted_to_messages_with_basic_auth_and_the_ack_link(
    receiver: RecordingReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.respond = lambda _request: created("SM0001")
    outcome = await send(receiver.url, SMS)
    assert outcome.delivered and outcome.provider_id == "SM0001"
    assert (outcome.method, outcome.address) == ("mobile", "+44…123")
    [request] = receiver.received
    assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    expected = base64.b64encode(f"{SID}:{AUTH_TOKEN}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    fields = form(request)
    assert (fields["To"], fields["From"]) == (PHONE, SENDER)
    assert fields["Body"].startswith("P0 INC-7K3QXD: Agent run success rate below 90%")
    assert fields["Body"].endswith(f"Acknowledge: {ACK_URL}")
    assert_nothing_leaks([AUTH_TOKEN, PHONE], [outcome], caplog)


async def test_a_call_reads_the_page_out(receiver: RecordingReceiver) -> None:
    receiver.respond = lambda _request: created("CA0001")
    outcome = await send(receiver.url, VOICE, subject="P0 INC-7K3QXD: checkout <down> & out")
    assert outcome.delivered and outcome.provider_id == "CA0001"
    [request] = receiver.received
    assert request.path == f"/2010-04-01/Accounts/{SID}/Calls.json"
    twiml = form(request)["Twiml"]
    assert twiml.startswith('<Response><Say loop="2">Hello Alice Ng. This is Warroom')
    assert twiml.endswith("</Say></Response>")
    assert "checkout &lt;down&gt; &amp; out" in twiml


@pytest.mark.parametrize(
    ("status", "answer", "delivered", "transient"),
    [
        (201, {"sid": "SM1"}, True, False),
        (
            400,
            {"code": 21211, "message": f"The 'To' number {PHONE} is not valid.", "status": 400},
            False,
            False,
        ),
        (401, {"code": 20003, "message": "Authenticate", "status": 401}, False, False),
        (429, {"code": 20429, "message": "Too Many Requests", "status": 429}, False, True),
        (503, {"code": 20503, "message": "Service Unavailable", "status": 503}, False, True),
    ],
)
async def test_twilio_answers(
    receiver: RecordingReceiver,
    caplog: pytest.LogCaptureFixture,
    status: int,
    answer: dict[str, object],
    delivered: bool,
    transient: bool,
) -> None:
    receiver.respond = lambda _request: (status, json.dumps(answer).encode())
    outcome = await send(receiver.url, SMS)
    assert (outcome.delivered, outcome.transient) == (delivered, transient)
    assert_nothing_leaks([AUTH_TOKEN, PHONE], [outcome], caplog)


async def test_a_refusal_says_twilio_s_code_with_the_number_masked(
    receiver: RecordingReceiver,
) -> None:
    answer = {"code": 21211, "message": f"The 'To' number {PHONE} is not valid.", "status": 400}
    receiver.respond = lambda _request: (400, json.dumps(answer).encode())
    outcome = await send(receiver.url, SMS)
    assert (
        outcome.detail == "Twilio answered 400: error 21211: The 'To' number +44…123 is not valid."
    )


async def test_twilio_not_listening_is_retried_since_nothing_was_sent() -> None:
    async with RecordingReceiver() as gone:
        url = gone.url
    outcome = await send(url, SMS)
    assert (outcome.delivered, outcome.transient) == (False, True)
    assert outcome.detail == "Twilio not reachable: connection refused"


@pytest.fixture
async def silent() -> AsyncIterator[str]:
    """A server that reads the request and never answers."""
    done = asyncio.Event()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        await done.wait()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        done.set()
        server.close()
        await server.wait_closed()


async def test_a_request_sent_and_left_unanswered_is_not_repeated(
    silent: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(twilio_module, "TIMEOUT", httpx.Timeout(0.2))
    outcome = await send(silent, VOICE)
    # It may have rung the phone: a retry could ring it twice.
    assert (outcome.delivered, outcome.transient) == (False, False)
    assert outcome.detail == (
        "no answer from Twilio (timed out); not repeated, since the page may have been sent"
    )


def test_a_long_text_is_cut_to_twilio_s_limit_keeping_the_ack_link_whole() -> None:
    body = sms_body(page(text="🚨 " * 2000))
    assert len(body.encode("utf-16-le")) // 2 <= SMS_LIMIT
    assert body.endswith(f"Acknowledge: {ACK_URL}")
    assert "…" in body
    assert sms_body(page(ack_url=None, text="")) == page().subject
