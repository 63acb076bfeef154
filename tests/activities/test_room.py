"""The incident's room: a Slack channel opened through the Web API, against a real HTTP
receiver answering as Slack."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.contact import Senders
from activities.room import RoomActivities, room_name
from directory.load import parse_directory
from directory.models import Directory
from incident.models import Room, RoomRequest
from settings import ContactSettings
from tests.support.receiver import Received, RecordingReceiver

TOKEN = "xoxb-1111-2222-slack-bot-secret"
REQUEST = RoomRequest(human_id="INC-7K3QX-D2MPA", title="Checkout 5xx above 5%!")
NAME = "inc-7k3qx-d2mpa-checkout-5xx-above-5"


def form(request: Received) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.body.decode()).items()}


def slack(answer: Callable[[str, dict[str, str]], dict[str, Any]]) -> Callable[..., Any]:
    def respond(request: Received) -> tuple[int, bytes]:
        return 200, json.dumps(answer(request.path, form(request))).encode()

    return respond


async def open_room(receiver: RecordingReceiver, *, token: str | None = TOKEN) -> Room | None:
    settings = ContactSettings(slack_bot_token=token, slack_api_url=receiver.url)
    async with httpx.AsyncClient() as http:
        rooms = RoomActivities(Senders(settings, http).slack)
        return await ActivityEnvironment().run(rooms.open_room, REQUEST)


def test_a_room_name_is_a_slack_channel_name() -> None:
    assert room_name(REQUEST.human_id, REQUEST.title) == NAME
    long = room_name("INC-7K3QX-D2MPA", "Ünïcode / and " + "very long " * 20, "-2")
    assert len(long) <= 80 and long.endswith("-2") and "--" not in long
    assert long.startswith("inc-7k3qx-d2mpa-n-code-and-very-long")


async def test_declaring_opens_a_public_channel_named_after_the_incident(
    receiver: RecordingReceiver,
) -> None:
    receiver.respond = slack(
        lambda _path, body: {
            "ok": True,
            "channel": {"id": "C0ROOM", "name": body["name"], "context_team_id": "T0TEAM"},
        }
    )
    room = await open_room(receiver)
    assert room == Room(
        channel_id="C0ROOM", name=NAME, url="https://app.slack.com/client/T0TEAM/C0ROOM"
    )
    [request] = receiver.received
    assert request.path == "/api/conversations.create"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert form(request) == {"name": NAME, "is_private": "false"}


async def test_a_name_taken_is_the_room_when_slack_lists_it(receiver: RecordingReceiver) -> None:
    def answer(path: str, body: dict[str, str]) -> dict[str, Any]:
        if path == "/api/conversations.create":
            return {"ok": False, "error": "name_taken"}
        if "cursor" not in body:
            return {
                "ok": True,
                "channels": [{"id": "C0OTHER", "name": "general"}],
                "response_metadata": {"next_cursor": "page2"},
            }
        return {"ok": True, "channels": [{"id": "C0ROOM", "name": NAME}]}

    receiver.respond = slack(answer)
    room = await open_room(receiver)
    assert room == Room(
        channel_id="C0ROOM", name=NAME, url="https://slack.com/app_redirect?channel=C0ROOM"
    )
    assert [r.path for r in receiver.received] == [
        "/api/conversations.create",
        "/api/conversations.list",
        "/api/conversations.list",
    ]


async def test_a_name_taken_by_a_channel_not_listed_gets_a_suffix(
    receiver: RecordingReceiver,
) -> None:
    def answer(path: str, body: dict[str, str]) -> dict[str, Any]:
        if path == "/api/conversations.list":
            return {"ok": True, "channels": []}
        if body["name"] == NAME:
            return {"ok": False, "error": "name_taken"}
        return {"ok": True, "channel": {"id": "C0ROOM2", "name": body["name"]}}

    receiver.respond = slack(answer)
    room = await open_room(receiver)
    assert room is not None and (room.channel_id, room.name) == ("C0ROOM2", f"{NAME}-2")


async def test_no_slack_bot_means_no_room(receiver: RecordingReceiver) -> None:
    assert await open_room(receiver, token=None) is None
    assert receiver.received == []


async def test_slack_refusing_fails_for_good(receiver: RecordingReceiver) -> None:
    receiver.respond = slack(lambda _path, _body: {"ok": False, "error": "missing_scope"})
    with pytest.raises(ApplicationError, match="missing_scope") as raised:
        await open_room(receiver)
    assert raised.value.non_retryable


async def test_slack_rate_limiting_is_retried_later(receiver: RecordingReceiver) -> None:
    receiver.respond = slack(lambda _path, _body: {"ok": False, "error": "ratelimited"})
    with pytest.raises(Exception, match="ratelimited") as raised:
        await open_room(receiver)
    assert not isinstance(raised.value, ApplicationError)


RESPONDERS = """
version: room-1
people:
  ann:
    name: Ann Archer
    contact: [{kind: slack, address: U0ANN}, {kind: email, address: ann@example.com}]
  ben:
    name: Ben Baker
    contact: [{kind: slack, address: "#shop-pages"}]
  cy:
    name: Cy Chen
    contact: [{kind: slack, address: W0CY}]
teams:
  shop: {name: Shop, members: [ann, ben], schedules: [primary]}
schedules:
  primary:
    time_zone: UTC
    layers:
      - {name: everyone, rotation: daily, handoff: "00:00", start: 2026-01-01, members: [ann]}
escalation_policies:
  shop-default:
    levels:
      - targets: [{schedule: primary}, {person: cy}, {person: ben}]
        delay: 5m
services:
  checkout: {team: shop, escalation_policy: shop-default, channel: "#inc-shop"}
"""


async def open_room_for(receiver: RecordingReceiver, service: str | None) -> Room | None:
    settings = ContactSettings(slack_bot_token=TOKEN, slack_api_url=receiver.url)
    directory = parse_directory(RESPONDERS)

    async def source() -> Directory:
        return directory

    async with httpx.AsyncClient() as http:
        rooms = RoomActivities(Senders(settings, http).slack, source)
        request = REQUEST.model_copy(update={"service": service})
        return await ActivityEnvironment().run(rooms.open_room, request)


def created_then(invite: dict[str, Any]) -> Callable[[str, dict[str, str]], dict[str, Any]]:
    def answer(path: str, body: dict[str, str]) -> dict[str, Any]:
        if path == "/api/conversations.create":
            return {"ok": True, "channel": {"id": "C0ROOM", "name": body["name"]}}
        return invite

    return answer


async def test_the_responders_on_call_are_invited_by_their_slack_member_ids(
    receiver: RecordingReceiver,
) -> None:
    receiver.respond = slack(created_then({"ok": True, "channel": {"id": "C0ROOM"}}))
    room = await open_room_for(receiver, "checkout")
    assert room is not None and room.invited == ["ann", "cy"]  # ben's Slack is a channel
    invite = receiver.received[-1]
    assert invite.path == "/api/conversations.invite"
    assert form(invite) == {"channel": "C0ROOM", "users": "U0ANN,W0CY", "force": "true"}


async def test_an_invitation_slack_refuses_leaves_the_room_open_and_says_why(
    receiver: RecordingReceiver,
) -> None:
    receiver.respond = slack(created_then({"ok": False, "error": "missing_scope"}))
    room = await open_room_for(receiver, "checkout")
    assert room is not None and room.channel_id == "C0ROOM"
    assert (room.invited, room.not_invited) == (
        [],
        "Slack conversations.invite: missing_scope",
    )


async def test_nobody_to_invite_sends_no_invitation(receiver: RecordingReceiver) -> None:
    receiver.respond = slack(created_then({"ok": True}))
    room = await open_room_for(receiver, "no-such-service")
    assert room is not None and room.invited == []
    assert [r.path for r in receiver.received] == ["/api/conversations.create"]
