"""The incident's room, under time skipping: a P0 with a Slack bot gets its own channel, and
notices from then on link it and the bridge, and are posted there."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from activities.contact import Senders
from incident.models import PostStatusUpdate
from incident.policy import Policy
from incident.severity import Severity
from settings import ContactSettings
from starter.api import decide
from tests.support.harness import Harness
from tests.support.receiver import Received
from tests.support.workers import running_worker
from worker.run import People

BRIDGE = "https://meet.example.com/warroom-bridge"
ROOM_URL = "https://app.slack.com/client/T0TEAM/C0ROOM"


def answer_as_slack(request: Received) -> tuple[int, bytes]:
    """Slack's Web API on /api/…, a webhook channel anywhere else."""
    if request.path == "/api/conversations.create":
        name = parse_qs(request.body.decode())["name"][0]
        channel = {"id": "C0ROOM", "name": name, "context_team_id": "T0TEAM"}
        return 200, json.dumps({"ok": True, "channel": channel}).encode()
    if request.path == "/api/chat.postMessage":
        return 200, json.dumps({"ok": True, "channel": "C0ROOM", "ts": "1.2"}).encode()
    return 200, b"{}"


@pytest.fixture
async def with_slack(bare_harness: Harness, policy: Policy) -> AsyncIterator[Harness]:
    """A worker with a Slack bot (the harness's receiver answering as Slack) under a policy
    that names a bridge."""
    harness = bare_harness
    harness.receiver.respond = answer_as_slack
    communication = policy.communication.model_copy(update={"bridge_url": BRIDGE})
    bridged = policy.model_copy(update={"communication": communication})
    settings = ContactSettings(slack_bot_token="xoxb-test", slack_api_url=harness.receiver.url)
    async with httpx.AsyncClient() as http:
        people = People(senders=Senders(settings, http))
        async with running_worker(harness, bridged, people=people):
            yield harness


def hook_texts(harness: Harness, kind: str) -> list[str]:
    bodies: list[dict[str, Any]] = [
        r.json() for r in harness.receiver.received if r.path == "/hook"
    ]
    return [b["text"] for b in bodies if b["kind"] == kind]


async def test_a_p0_gets_a_room_and_later_notices_link_it_and_the_bridge(
    with_slack: Harness,
) -> None:
    harness = with_slack
    handle = await harness.declare(Severity.P0, title="Checkout 5xx above 5%")
    state = await harness.until(handle, lambda s: s.room is not None)
    assert state.room is not None
    assert state.room.name.startswith("inc-") and state.room.name.endswith("-checkout-5xx-above-5")
    assert state.room.url == ROOM_URL
    assert any(e.text == f"Room #{state.room.name} opened: {ROOM_URL}" for e in state.timeline)
    await decide(handle, PostStatusUpdate(actor="dana", message="Rolling back v42"))
    await harness.settle(handle)
    [update] = hook_texts(harness, "status_update")
    assert f"Room: {ROOM_URL}\nBridge: {BRIDGE}\n" in update
    [declaration] = hook_texts(harness, "declaration")
    assert f"Bridge: {BRIDGE}" in declaration  # sent at once, before the room was open
    to_room = [
        r.json()
        for r in harness.receiver.received
        if r.path == "/api/chat.postMessage" and r.json()["channel"] == "C0ROOM"
    ]
    assert any("Rolling back v42" in m["text"] for m in to_room)


async def test_a_p2_gets_no_room(with_slack: Harness) -> None:
    harness = with_slack
    handle = await harness.declare(Severity.P2)
    await harness.settle(handle)
    assert (await harness.state(handle)).room is None
    assert not [r for r in harness.receiver.received if r.path.startswith("/api/conversations")]
