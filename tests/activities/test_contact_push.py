"""Pages through apprise: a json:// URL at a real HTTP receiver proves a real delivery."""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

import httpx
import pytest

from activities.contact import ContactOutcome, Senders
from directory.models import ContactKind, ContactMethod
from settings import ContactSettings
from tests.support.pages import ACK_URL, assert_nothing_leaks, page
from tests.support.receiver import RecordingReceiver

PASSWORD = "apprise-pw-s3cret"


def push_to(receiver: RecordingReceiver) -> ContactMethod:
    port = urlsplit(receiver.url).port
    url = f"json://pager:{PASSWORD}@127.0.0.1:{port}/notify"
    return ContactMethod(kind=ContactKind.PUSH, address=url, label="phone app")


async def send(method: ContactMethod) -> ContactOutcome:
    async with httpx.AsyncClient() as http:
        return await Senders(ContactSettings(), http).send(method, page())


@pytest.fixture(autouse=True)
def _capture_everything(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(1)  # apprise's TRACE too


async def test_a_page_is_delivered_through_apprise(
    receiver: RecordingReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    outcome = await send(push_to(receiver))
    assert outcome.delivered and not outcome.transient
    assert (outcome.method, outcome.address) == ("phone app", "json://…")
    [request] = receiver.received
    assert (request.method, request.path) == ("POST", "/notify")
    credentials = base64.b64encode(f"pager:{PASSWORD}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {credentials}"
    notification = request.json()
    assert notification["title"] == "P0 INC-7K3QXD: Agent run success rate below 90%"
    assert f"Acknowledge: {ACK_URL}" in notification["message"]
    assert notification["type"] == "failure"
    assert_nothing_leaks([PASSWORD], [outcome], caplog)


async def test_a_service_that_does_not_take_it_is_refused_with_no_reason_to_show(
    receiver: RecordingReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.respond = lambda _request: (500, b"{}")
    outcome = await send(push_to(receiver))
    assert (outcome.delivered, outcome.transient) == (False, False)
    assert outcome.detail == "the notification service did not take it (apprise tells no reason)"
    assert_nothing_leaks([PASSWORD], [outcome], caplog)


@pytest.mark.parametrize("address", ["nosuchscheme://token-abc-123@host", "not a url"])
async def test_a_url_apprise_does_not_understand_is_refused(
    address: str, caplog: pytest.LogCaptureFixture
) -> None:
    outcome = await send(ContactMethod(kind=ContactKind.PUSH, address=address))
    assert (outcome.delivered, outcome.transient) == (False, False)
    assert outcome.detail == "not a notification URL apprise understands"
    assert_nothing_leaks(["token-abc-123"], [outcome], caplog)
