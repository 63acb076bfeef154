"""A notice reaches the people it is for, looked up in the directory when it goes out, and
only the channels that serve its audience."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from temporalio.testing import ActivityEnvironment

from activities.ack_links import link_maker, verify
from activities.channels import Channel
from activities.contact import Senders
from activities.notify import NotifyActivities
from activities.reach import paging_plan
from dev.ports import free_port
from directory.load import parse_directory
from directory.models import Directory
from incident.escalation import Audience
from incident.models import Phase, Status
from incident.notices import DeliveryReport, IncidentBrief, Notice, NoticeKind
from incident.severity import Severity
from settings import ContactSettings
from tests.support.receiver import RecordingReceiver

# Monday 2026-11-23 09:00 London is a handoff of the weekly primary: ann, then ben.
BEFORE_HANDOFF = datetime(2026, 11, 23, 8, 59, tzinfo=UTC)
AFTER_HANDOFF = datetime(2026, 11, 23, 9, 1, tzinfo=UTC)
SECRET = "a-link-secret-of-at-least-thirty-two-characters"
DIRECTORY = """
version: test-1
people:
  ann:
    name: Ann Archer
    contact:
      - {kind: console, address: ann}
      - {kind: email, address: ann@example.com}
    notify:
      - {after: 0m, via: [console]}
      - {after: 2m, via: [email]}
  ben:
    name: Ben Baker
    contact: [{kind: console, address: ben}]
  vic:
    name: Vic Vance
    contact: [{kind: email, address: vic@example.com}]
  nora:
    name: Nora Nobody
teams:
  shop: {name: Shop, members: [ann, ben], schedules: [primary]}
schedules:
  primary:
    time_zone: Europe/London
    layers:
      - {name: weekly, rotation: weekly, handoff: "09:00", start: 2026-11-16, members: [ann, ben]}
escalation_policies:
  shop-default:
    levels:
      - targets: [{schedule: primary}]
        delay: 5m
      - targets: [{person: nora}]
        delay: 5m
services:
  checkout: {team: shop, escalation_policy: shop-default, channel: "#inc-shop"}
positions:
  VP Engineering: [vic]
"""


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        parsed = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 accepted"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on a free loopback port."""
    handler = Mailbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, server_hostname="smtp.test")
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def notice(at: datetime, **fields: Any) -> Notice:
    brief = IncidentBrief(
        human_id="INC-7K3QX-D2M4P",
        title="Checkout failing",
        severity=Severity.P1,
        severity_name="High",
        phase=Phase.TRIAGED,
        status=Status.INVESTIGATING,
        service="checkout",
        declared_at=at,
        duration=timedelta(0),
    )
    values: dict[str, Any] = {
        "key": "page:0:0",
        "kind": NoticeKind.ESCALATION,
        "audience": "level 1",
        "to": Audience.ON_CALL,
        "level": 0,
        "headline": "P1 INC-7K3QX-D2M4P: new P1 incident",
        "reason": "new P1 incident",
        "at": at,
        "incident": brief,
        **fields,
    }
    return Notice.model_validate(values)


async def deliver(
    n: Notice, directory: Directory, smtp_port: int, console: str, channels: list[Channel]
) -> DeliveryReport:
    async def source() -> Directory:
        return directory

    contact = ContactSettings(
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_tls="none",
        smtp_from="pager@warroom.example.com",
        console_url=console,
    )
    async with httpx.AsyncClient() as http:
        notify = NotifyActivities(
            channels=channels,
            http=http,
            directory=source,
            senders=Senders(contact, http),
            ack_links=link_maker("https://warroom.example.com", SECRET, timedelta(hours=1)),
        )
        report: DeliveryReport = await ActivityEnvironment().run(notify.deliver, n)
        return report


def channel(name: str, url: str, *audiences: str) -> Channel:
    return Channel.model_validate(
        {"name": name, "kind": "webhook", "url": f"{url}/{name}", "audiences": list(audiences)}
    )


async def test_a_page_reaches_whoever_is_on_call_when_it_goes_out(
    mailbox: tuple[Mailbox, int],
) -> None:
    directory = parse_directory(DIRECTORY)
    async with RecordingReceiver() as receiver:
        channels = [
            channel("incident", receiver.url, "incident"),
            channel("pager-room", receiver.url, "on-call"),
        ]
        before = await deliver(
            notice(BEFORE_HANDOFF), directory, mailbox[1], f"{receiver.url}/console", channels
        )
        after = await deliver(
            notice(AFTER_HANDOFF, key="page:0:1"),
            directory,
            mailbox[1],
            f"{receiver.url}/console",
            channels,
        )
        paths = [r.path for r in receiver.received]
        pages = [json.loads(r.body) for r in receiver.received if r.path == "/console"]
    assert [r.person for r in before.reached] == ["ann"]
    assert [r.person for r in after.reached] == ["ben"]  # the handoff in between
    [ann] = before.reached
    assert ann.methods == ["console delivered"] and ann.delivered
    assert ann.why == "level 1: schedule primary"
    assert ann.next_rules == [(1, timedelta(minutes=2), "email")]  # email only if no ack
    assert mailbox[0].messages == []
    # The page went to the channel serving on-call pages, never to the incident channel.
    assert paths.count("/pager-room") == 2 and "/incident" not in paths
    link = pages[0]["ack_url"]
    token = link.rsplit("/", 1)[1]
    signed = verify(SECRET, token)
    assert (signed.incident, signed.person) == ("INC-7K3QX-D2M4P", "ann")


async def test_a_follow_up_uses_only_the_persons_next_rule(mailbox: tuple[Mailbox, int]) -> None:
    directory = parse_directory(DIRECTORY)
    follow_up = notice(
        BEFORE_HANDOFF, key="page:0:0:ann:1", audience="Ann Archer", person="ann", rule=1
    )
    async with RecordingReceiver() as receiver:
        report = await deliver(follow_up, directory, mailbox[1], f"{receiver.url}/console", [])
        consoled = [r for r in receiver.received if r.path == "/console"]
    [ann] = report.reached
    assert ann.methods == ["email delivered"] and not consoled
    [mail] = mailbox[0].messages
    assert mail["To"].endswith("ann@example.com>") or mail["To"] == "ann@example.com"
    assert "https://warroom.example.com/ack/" in mail.get_content()


async def test_a_management_step_goes_to_the_named_person(mailbox: tuple[Mailbox, int]) -> None:
    directory = parse_directory(DIRECTORY)
    step = notice(
        BEFORE_HANDOFF, key="escalation:P1:2", audience="VP Engineering", to="people", level=None
    )
    async with RecordingReceiver() as receiver:
        report = await deliver(
            step,
            directory,
            mailbox[1],
            f"{receiver.url}/console",
            [channel("incident", receiver.url, "incident")],
        )
        paths = [r.path for r in receiver.received]
    assert [(r.person, r.why, r.methods) for r in report.reached] == [
        ("vic", "VP Engineering", ["email delivered"])
    ]
    assert paths == []  # reached: the incident channel is not told
    [mail] = mailbox[0].messages
    assert mail["Subject"] == step.headline
    assert "/ack/" not in mail.get_content()  # told, not paged: nothing to acknowledge


async def test_a_page_that_reaches_nobody_says_so_and_goes_to_the_incident_channel(
    mailbox: tuple[Mailbox, int],
) -> None:
    directory = parse_directory(DIRECTORY)
    level_two = notice(BEFORE_HANDOFF, key="page:0:1", audience="level 2", level=1)
    async with RecordingReceiver() as receiver:
        report = await deliver(
            level_two,
            directory,
            mailbox[1],
            f"{receiver.url}/console",
            [channel("incident", receiver.url, "incident")],
        )
        paths = [r.path for r in receiver.received]
    assert report.nobody == "Nora Nobody has no contact method"
    assert paths == ["/incident"]


async def test_the_incident_channel_hears_declarations_through_the_slack_web_api(
    mailbox: tuple[Mailbox, int],
) -> None:
    directory = parse_directory(DIRECTORY)
    declared = notice(
        BEFORE_HANDOFF,
        key="declared",
        kind=NoticeKind.DECLARATION,
        audience="Incident channel",
        to="incident",
        level=None,
    )

    async def source() -> Directory:
        return directory

    async with RecordingReceiver() as slack, httpx.AsyncClient() as http:
        slack.respond = lambda _r: (200, b'{"ok": true, "channel": "C0SHOP", "ts": "1.2"}')
        contact = ContactSettings(slack_bot_token="xoxb-test-token", slack_api_url=slack.url)
        notify = NotifyActivities(
            channels=[], http=http, directory=source, senders=Senders(contact, http)
        )
        report = await ActivityEnvironment().run(notify.deliver, declared)
        [post] = slack.received
    assert post.path == "/api/chat.postMessage"
    assert post.headers["authorization"] == "Bearer xoxb-test-token"
    body = post.json()
    assert body["channel"] == "#inc-shop" and declared.headline in body["text"]
    assert [(o.channel, o.delivered) for o in report.outcomes] == [("slack:#inc-shop", True)]
    assert report.reached == [] and report.nobody is None


async def test_a_page_for_a_service_the_directory_does_not_know_still_reaches_a_channel(
    mailbox: tuple[Mailbox, int],
) -> None:
    directory = parse_directory(DIRECTORY)  # no default_service
    page = notice(BEFORE_HANDOFF, audience="All on-call", level=0)
    page = page.model_copy(
        update={"incident": page.incident.model_copy(update={"service": "billing"})}
    )
    async with RecordingReceiver() as receiver:
        report = await deliver(
            page,
            directory,
            mailbox[1],
            f"{receiver.url}/console",
            [channel("incident", receiver.url, "incident")],
        )
        paths = [r.path for r in receiver.received]
    assert report.reached == []
    assert report.nobody == "directory test-1 names nobody with a contact method for it"
    assert paths == ["/incident"]


def test_the_paging_plan_is_the_services_policy_or_says_why_there_is_none() -> None:
    directory = parse_directory(DIRECTORY)
    known = paging_plan(directory, "checkout")
    assert known.plan is not None and known.problem is None
    assert (known.plan.policy, [lv.targets for lv in known.plan.levels]) == (
        "shop-default",
        ["schedule primary", "person nora"],
    )
    unknown = paging_plan(directory, "billing")
    assert unknown.plan is None
    assert unknown.problem == (
        "the directory has no service 'billing' and no default_service (directory test-1)"
    )
    assert paging_plan(None, "checkout").plan is None  # no directory: the severity's ladder
