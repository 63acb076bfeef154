"""Pages to the local stack's console channel, which prints who is paged and how."""

from __future__ import annotations

import httpx
import pytest

from activities.contact import ContactOutcome, Senders
from directory.models import ContactKind, ContactMethod
from settings import ContactSettings
from starter.local import ConsoleStandIn, _print_notice
from tests.support.pages import page
from tests.support.receiver import Received, RecordingReceiver

CONSOLE = ContactMethod(kind=ContactKind.CONSOLE, address="alice")


async def send(url: str) -> ContactOutcome:
    async with httpx.AsyncClient() as http:
        return await Senders(ContactSettings(console_url=url), http).send(CONSOLE, page())


async def test_the_console_prints_who_is_paged_through_which_method(
    receiver: RecordingReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = await send(f"{receiver.url}/pages")
    assert outcome.delivered and outcome.address == "alice"
    [request] = receiver.received
    assert request.path == "/pages"
    assert request.headers["idempotency-key"] == "incident-INC-7K3QXD:uid-1:page:alice:1"
    document = request.json()
    assert (document["kind"], document["person"], document["method"]) == (
        "page",
        "Alice Ng",
        "console",
    )
    _print_notice(request)
    printed = capsys.readouterr().out
    assert printed.startswith(
        "  → page to Alice Ng (console): P0 INC-7K3QXD: Agent run success rate below 90%\n"
    )
    assert "acknowledge: https://warroom.example.com/ack/INC-7K3QXD" in printed


async def test_a_notice_still_prints_as_a_notice(capsys: pytest.CaptureFixture[str]) -> None:
    body = b'{"kind": "escalation", "audience": "VP Engineering", "headline": "P0 unresolved"}'
    _print_notice(Received(method="POST", path="/notices", headers={}, body=body))
    assert capsys.readouterr().out == "  [escalation → VP Engineering] P0 unresolved\n"


@pytest.mark.parametrize(("status", "transient"), [(400, False), (503, True), (429, True)])
async def test_the_console_s_answers(
    receiver: RecordingReceiver, status: int, transient: bool
) -> None:
    receiver.respond = lambda _request: (status, b"{}")
    outcome = await send(receiver.url)
    assert (outcome.delivered, outcome.transient) == (False, transient)


async def test_the_console_gone_is_transient() -> None:
    async with RecordingReceiver() as gone:
        url = gone.url
    outcome = await send(url)
    assert (outcome.delivered, outcome.transient) == (False, True)


async def test_the_local_stack_prints_a_page_whose_provider_is_not_set_and_says_so(
    receiver: RecordingReceiver,
) -> None:
    email = ContactMethod(kind=ContactKind.EMAIL, address="alice@example.com")
    async with httpx.AsyncClient() as http:
        config = ContactSettings(console_url=f"{receiver.url}/pages")  # no SMTP server
        stand_in = await ConsoleStandIn(config, http).send(email, page())
        real = await Senders(config, http).send(email, page())
    assert stand_in.delivered and "printed on the console" in stand_in.detail
    [printed] = receiver.received
    assert printed.json()["method"] == "email"
    assert not real.delivered and "set WARROOM_SMTP_HOST" in real.detail  # outside the stack
