"""Slack buttons: a click Slack signed acknowledges as the person whose Slack member ID it is;
a request Slack did not sign, or signed too long ago, is a 401 and changes nothing."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier

from incident.models import Phase
from incident.severity import Severity
from starter.api import IncidentHandle
from tests.support.harness import Harness
from tests.support.web import (
    ALICE_SLACK,
    SLACK_SECRET,
    fixed_client,
    running_service,
    unreachable,
    web_settings,
)


def interaction(incident: str, *, action: str = "acknowledge", user: str = ALICE_SLACK) -> bytes:
    """A block_actions payload as Slack sends it: form-encoded JSON."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": "T0TEAM"},
        "team": {"id": "T0TEAM"},
        "actions": [
            {
                "type": "button",
                "action_id": action,
                "block_id": "page",
                "value": incident,
                "action_ts": f"{time.time():.6f}",
            }
        ],
        "response_url": "http://127.0.0.1:9/not-slack",
        "trigger_id": "1.2.3",
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def signed(body: bytes, *, secret: str = SLACK_SECRET, at: int | None = None) -> dict[str, str]:
    stamp = str(at if at is not None else int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    assert signature is not None
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


@pytest.fixture
async def slack(harness: Harness, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        running_service(web_settings(tmp_path), fixed_client(harness.client)) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        yield http


async def nothing_changed(harness: Harness, handle: IncidentHandle) -> None:
    state = await harness.state(handle)
    assert state.acknowledged_by is None and state.phase is Phase.TRIAGED


async def test_a_signed_click_acknowledges_as_the_slack_members_person(
    harness: Harness, slack: httpx.AsyncClient
) -> None:
    handle = await harness.declare()
    human_id = (await harness.state(handle)).human_id
    body = interaction(handle.id)
    response = await slack.post("/slack/interactions", content=body, headers=signed(body))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == f"{human_id} acknowledged by Alice Ng. Paging has stopped."
    state = await harness.state(handle)
    assert state.acknowledged_by == "alice"
    event = next(e for e in state.timeline if e.decision and e.actor == "alice")
    assert event.via == "slack"
    again = await slack.post("/slack/interactions", content=body, headers=signed(body))
    assert again.status_code == 200
    assert again.json()["text"].startswith("Not acknowledged:")


async def test_a_signed_escalate_click_pages_the_next_step_now(
    harness: Harness, slack: httpx.AsyncClient
) -> None:
    handle = await harness.declare(Severity.P1)  # its ladder pages Primary on-call at once
    body = interaction(handle.id, action="escalate")
    response = await slack.post("/slack/interactions", content=body, headers=signed(body))
    assert response.status_code == 200, response.text
    assert "Escalated now: page Secondary on-call" in response.json()["text"]
    assert "escalated by Alice Ng" in response.json()["text"]
    state = await harness.state(handle)
    [event] = [e for e in state.timeline if e.kind == "escalation_requested"]
    assert (event.actor, event.via) == ("alice", "slack")
    assert "escalation:P1:1" in state.steps_taken  # not paged again when its time comes
    await harness.settle(handle)
    assert "Secondary on-call" in harness.paged()


@pytest.mark.parametrize("kind", ["bad signature", "stale", "unsigned", "body changed"])
async def test_a_request_slack_did_not_sign_now_is_a_401_and_changes_nothing(
    harness: Harness, slack: httpx.AsyncClient, kind: str
) -> None:
    handle = await harness.declare()
    body = interaction(handle.id)
    headers = {
        "bad signature": lambda: signed(body, secret="not-the-signing-secret"),
        "stale": lambda: signed(body, at=int(time.time()) - 6 * 60),
        "unsigned": lambda: {"Content-Type": "application/x-www-form-urlencoded"},
        "body changed": lambda: signed(interaction("incident-manual-other")),
    }[kind]()
    response = await slack.post("/slack/interactions", content=body, headers=headers)
    assert response.status_code == 401, response.text
    await nothing_changed(harness, handle)


async def test_a_slack_member_not_in_the_directory_is_told_so(tmp_path: Path) -> None:
    async with (
        running_service(web_settings(tmp_path), unreachable()) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        body = interaction("incident-manual-x", user="U0STRANGER")
        response = await http.post("/slack/interactions", content=body, headers=signed(body))
        escalate = interaction("incident-manual-x", action="escalate")
        escalated = await http.post(
            "/slack/interactions", content=escalate, headers=signed(escalate)
        )
    assert response.status_code == 200
    assert "not in Warroom's directory" in response.json()["text"]
    assert escalated.status_code == 200
    assert "could not reach Temporal" in escalated.json()["text"]


async def test_without_a_signing_secret_no_interaction_is_taken(tmp_path: Path) -> None:
    settings = web_settings(tmp_path, slack_signing_secret=None)
    async with (
        running_service(settings, unreachable()) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        body = interaction("incident-manual-x")
        response = await http.post("/slack/interactions", content=body, headers=signed(body))
    assert response.status_code == 503
