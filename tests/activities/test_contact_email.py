"""Email pages against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from activities.contact import ContactOutcome, Senders
from activities.contact.email import tls_options
from dev.ports import free_port
from directory.models import ContactKind, ContactMethod
from settings import ContactSettings
from tests.support.pages import ACK_URL, assert_nothing_leaks, page

PASSWORD = "smtp-password-s3cret"
ALICE = ContactMethod(kind=ContactKind.EMAIL, address="alice@example.com", label="work email")


@dataclass
class Mailbox:
    """An SMTP server's handler: keeps what it accepts; answers RCPT or DATA as told."""

    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    logins: list[bytes] = field(default_factory=list)
    rcpt_reply: str | None = None
    data_reply: str | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.rcpt_reply is not None:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply is not None:
            return self.data_reply
        content = envelope.original_content or b""
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def login(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        """Only ``pager`` with PASSWORD logs in."""
        ok = isinstance(auth_data, LoginPassword) and auth_data == (b"pager", PASSWORD.encode())
        if ok:
            self.logins.append(auth_data.login)
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on a free loopback port offering AUTH (without TLS, on loopback)."""
    handler = Mailbox()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        server_hostname="smtp.test",  # not the machine's FQDN, which can take a while to find
        authenticator=handler.login,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def smtp(port: int, **extra: Any) -> ContactSettings:
    fields: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_tls": "none",
        "smtp_username": "pager",
        "smtp_password": PASSWORD,
        "smtp_from": "Warroom <pager@warroom.example.com>",
        **extra,
    }
    return ContactSettings(**fields)


async def send(settings: ContactSettings, **extra: object) -> ContactOutcome:
    async with httpx.AsyncClient() as http:
        return await Senders(settings, http).send(ALICE, page(**extra))


@pytest.fixture(autouse=True)
def _capture_everything(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)


async def test_a_page_arrives_with_subject_recipient_and_acknowledge_link(
    mailbox: tuple[Mailbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    handler, port = mailbox
    outcome = await send(smtp(port))
    assert outcome.delivered and not outcome.transient
    assert (outcome.method, outcome.address) == ("work email", "a…@example.com")
    [email] = handler.messages
    assert handler.recipients == [["alice@example.com"]]
    assert handler.logins == [b"pager"]
    assert email["Subject"] == "P0 INC-7K3QXD: Agent run success rate below 90%"
    assert email["To"] == "Alice Ng <alice@example.com>"
    assert email["From"] == "Warroom <pager@warroom.example.com>"
    assert email["Auto-Submitted"] == "auto-generated"
    assert email["X-Warroom-Incident"] == "INC-7K3QXD"
    body = email.get_content()
    assert f"Acknowledge: {ACK_URL}" in body
    assert "Impact: 40% of agent runs fail." in body
    assert outcome.provider_id == email["Message-ID"]
    assert_nothing_leaks([PASSWORD], [outcome], caplog)


async def test_a_retried_page_keeps_its_message_id(mailbox: tuple[Mailbox, int]) -> None:
    handler, port = mailbox
    first, again = await send(smtp(port)), await send(smtp(port))
    other = await send(smtp(port), key="incident-INC-7K3QXD:uid-1:page:alice:2")
    ids = [m["Message-ID"] for m in handler.messages]
    assert ids[0] == ids[1] != ids[2]
    assert ids[0].endswith("@warroom.example.com>")
    assert first.provider_id == again.provider_id == ids[0] and other.provider_id == ids[2]


@pytest.mark.parametrize(
    "reply", ["451 4.3.0 Mail server temporarily rejected message", "421 4.7.0 Try again later"]
)
async def test_a_4xx_reply_is_transient(mailbox: tuple[Mailbox, int], reply: str) -> None:
    handler, port = mailbox
    handler.data_reply = reply
    outcome = await send(smtp(port))
    assert (outcome.delivered, outcome.transient) == (False, True)
    assert reply.split()[0] in outcome.detail


async def test_an_unknown_mailbox_550_is_refused_with_the_address_masked(
    mailbox: tuple[Mailbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    handler, port = mailbox
    handler.rcpt_reply = "550 5.1.1 <alice@example.com>: Recipient address rejected"
    outcome = await send(smtp(port))
    assert (outcome.delivered, outcome.transient) == (False, False)
    assert outcome.detail == (
        "the SMTP server answered 550 5.1.1 <a…@example.com>: Recipient address rejected"
    )
    assert handler.messages == []
    assert_nothing_leaks([PASSWORD, "alice@example.com"], [outcome], caplog)


async def test_a_wrong_password_is_refused_without_showing_it(
    mailbox: tuple[Mailbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    _, port = mailbox
    outcome = await send(smtp(port, smtp_password="wrong-password-xyz"))
    assert (outcome.delivered, outcome.transient) == (False, False)
    assert outcome.detail.startswith("the SMTP server answered 535")
    assert_nothing_leaks([PASSWORD, "wrong-password-xyz"], [outcome], caplog)


async def test_starttls_asked_of_a_server_without_it_is_refused(
    mailbox: tuple[Mailbox, int],
) -> None:
    _, port = mailbox
    outcome = await send(smtp(port, smtp_tls="starttls"))
    assert (outcome.delivered, outcome.transient) == (False, False)
    assert "STARTTLS" in outcome.detail


async def test_no_server_listening_is_transient() -> None:
    outcome = await send(smtp(free_port()))
    assert (outcome.delivered, outcome.transient) == (False, True)
    assert outcome.detail == "the SMTP server not reachable: connection refused"


@pytest.mark.parametrize("address", ["alice", "alice@example.com\r\nBcc: eve@example.com"])
async def test_an_address_that_is_not_one_is_refused(address: str) -> None:
    async with httpx.AsyncClient() as http:
        method = ContactMethod(kind=ContactKind.EMAIL, address=address)
        outcome = await Senders(smtp(free_port()), http).send(method, page())
    assert (outcome.delivered, outcome.transient, outcome.detail) == (
        False,
        False,
        "not an email address",
    )


def test_each_tls_mode_asks_aiosmtplib_for_it() -> None:
    assert tls_options("tls") == {"use_tls": True, "start_tls": False}
    assert tls_options("starttls") == {"use_tls": False, "start_tls": True}
    assert tls_options("none") == {"use_tls": False, "start_tls": False}
