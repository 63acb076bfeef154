"""When Temporal cannot take a delivery yet, the hooks say "deliver again" (503), never 202.

PagerDuty-style senders and Alertmanager retry a 5xx; a 202 for something
that was not recorded is an alert or a decision lost for good.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio import workflow
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from incident.models import Acknowledge, AlertBatch, DecisionReceipt, IncidentStart
from starter.api import IncidentNotReady, acknowledge_by_key
from starter.hooks.settings import HookSettings
from tests.support.harness import Harness
from tests.support.hooks import running_hooks

TOKEN = "retry-later-token"
TRIGGER = {
    "routing_key": "R",
    "event_action": "trigger",
    "payload": {"summary": "Queue stuck", "source": "queue-1", "severity": "critical"},
}


async def _trigger(http: httpx.AsyncClient, key: str) -> None:
    response = await http.post("/v2/enqueue", json={**TRIGGER, "dedup_key": key})
    assert response.status_code == 202, response.text


@workflow.defn(name="IncidentWorkflow", sandboxed=False)
class ForeverDeclaring:
    """An incident workflow that never finishes being declared (its policy never loads)."""

    @workflow.run
    async def run(self, start: IncidentStart) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.signal(name="alerts")
    def alerts(self, batch: AlertBatch) -> None:
        pass

    @workflow.update(name="acknowledge")
    def acknowledge(self, decision: Acknowledge) -> DecisionReceipt:
        raise AssertionError("never accepted")

    @acknowledge.validator
    def _not_declared(self, decision: Acknowledge) -> None:
        raise ApplicationError(
            "the incident is still being declared; try again in a moment",
            type="NotDeclaredYet",
            non_retryable=True,
        )


@pytest.fixture
async def declaring(bare_harness: Harness) -> AsyncIterator[Harness]:
    """``bare_harness`` with a worker whose incidents stay "being declared"."""
    async with Worker(
        bare_harness.client, task_queue=bare_harness.task_queue, workflows=[ForeverDeclaring]
    ):
        yield bare_harness


async def test_an_incident_that_stays_undeclared_makes_acknowledge_raise_not_ready(
    declaring: Harness,
) -> None:
    key = f"undeclared-{uuid.uuid4().hex[:8]}"
    settings = HookSettings(task_queue=declaring.task_queue, tokens=(TOKEN,))
    async with (
        running_hooks(settings, declaring.client) as url,
        httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as http,
    ):
        await _trigger(http, key)
    started = time.monotonic()
    with pytest.raises(IncidentNotReady):
        await acknowledge_by_key(declaring.client, "pagerduty", key, actor="bob", patience=1.0)
    assert time.monotonic() - started < 10  # retried briefly, then gave up


async def test_a_persistently_undeclared_incident_answers_acknowledge_with_503(
    declaring: Harness,
) -> None:
    key = f"undeclared-{uuid.uuid4().hex[:8]}"
    settings = HookSettings(task_queue=declaring.task_queue, tokens=(TOKEN,))
    async with (
        running_hooks(settings, declaring.client) as url,
        httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
        ) as http,
    ):
        await _trigger(http, key)
        ack = {"routing_key": "R", "event_action": "acknowledge", "dedup_key": key}
        response = await http.post("/v2/enqueue", json=ack)
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    assert "deliver" in response.json()["message"]


async def test_a_temporal_call_that_does_not_finish_is_a_prompt_503(
    bare_harness: Harness,
) -> None:
    # No worker polls this task queue: the trigger is recorded (signal-with-start
    # needs no worker), but an acknowledgement waits for a worker that never comes.
    key = f"no-worker-{uuid.uuid4().hex[:8]}"
    settings = HookSettings(
        task_queue=bare_harness.task_queue, tokens=(TOKEN,), rpc_timeout_seconds=1.0
    )
    async with (
        running_hooks(settings, bare_harness.client) as url,
        httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        ) as http,
    ):
        await _trigger(http, key)
        ack = {"routing_key": "R", "event_action": "acknowledge", "dedup_key": key}
        started = time.monotonic()
        response = await http.post("/v2/enqueue", json=ack)
        took = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"]
    assert took < 10
