"""The ticket tracker's webhook: one JSON POST per action-item change, with an idempotency
key; retried on a 5xx, said and dropped on a 4xx, skipped when none is configured."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import SecretStr
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.tickets import TicketActivities
from incident.models import ActionItem
from incident.tickets import TicketEvent

AT = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)
EVENT = TicketEvent(
    key="action_item:1:created:7",
    incident_uid="run-1",
    action="created",
    incident="INC-7K3QXD",
    incident_title="Agents failing",
    severity="P1",
    item=ActionItem(
        id=1, description="add a canary", owner="dana", priority="P1", created_at=AT, due=AT
    ),
    actor="bob",
    at=AT,
)


async def send(
    answer: int, seen: list[httpx.Request], url: str | None = "https://t.example/h"
) -> str:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(answer, text="no such project")

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        tickets = TicketActivities(http=http, url=url, token=SecretStr("s3cret-token"))
        return await ActivityEnvironment().run(tickets.send, EVENT)


async def test_a_change_is_posted_with_its_idempotency_key() -> None:
    seen: list[httpx.Request] = []
    assert "took it" in await send(201, seen)
    body = json.loads(seen[0].content)
    assert body["action"] == "created" and body["item"]["owner"] == "dana"
    assert body["idempotency_key"] == seen[0].headers["Idempotency-Key"]
    assert body["idempotency_key"].endswith(":run-1:action_item:1:created:7")
    assert seen[0].headers["Authorization"] == "Bearer s3cret-token"


async def test_a_refusal_is_said_and_a_server_error_retried() -> None:
    assert "refused it (404)" in await send(404, [])
    with pytest.raises(ApplicationError, match="answered 503"):
        await send(503, [])


async def test_nothing_is_posted_without_a_tracker() -> None:
    seen: list[httpx.Request] = []
    assert await send(200, seen, url=None) == "no ticket tracker configured"
    assert seen == []
