"""Drive incidents in tests the way an operator would, and watch what they send."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from incident.models import (
    Alert,
    AlertBatch,
    Declaration,
    IncidentState,
    PendingTimer,
)
from incident.severity import Severity
from starter.api import IncidentHandle, declare_incident, send_alerts
from tests.support.processes import Finished, cli_env, warroom
from tests.support.receiver import RecordingReceiver
from tests.support.wait import eventually
from workflows.incident import IncidentWorkflow

T = TypeVar("T")


@dataclass
class Harness:
    """A worker on its own task queue, and the receiver its notices go to."""

    env: WorkflowEnvironment
    client: Client
    task_queue: str
    receiver: RecordingReceiver
    database_url: str

    async def declare(
        self, severity: Severity = Severity.P0, title: str = "Agent runs failing", **extra: Any
    ) -> IncidentHandle:
        """Declare an incident by hand and wait until it is triaged."""
        handle = await declare_incident(
            self.client,
            Declaration(title=title, severity=severity, actor="alice", service="agents", **extra),
            task_queue=self.task_queue,
        )
        await eventually(lambda: self._opened(handle))
        return handle

    async def fire(
        self, dedup_key: str, *alerts: Alert, source: str = "alertmanager"
    ) -> IncidentHandle:
        """Deliver alerts the way a hook does (signal-with-start)."""
        handle = await send_alerts(
            self.client,
            AlertBatch(source=source, alerts=list(alerts)),
            dedup_key=dedup_key,
            task_queue=self.task_queue,
        )
        assert handle is not None, "no open incident for a batch of resolved alerts"
        await eventually(lambda: self._opened(handle))
        return handle

    async def _opened(self, handle: IncidentHandle) -> bool:
        try:
            await handle.query(IncidentWorkflow.state)
        except Exception:
            return False
        return True

    async def state(self, handle: IncidentHandle) -> IncidentState:
        """The incident's current state."""
        result: IncidentState = await handle.query(IncidentWorkflow.state)
        return result

    async def until(
        self,
        handle: IncidentHandle,
        check: Callable[[IncidentState], bool],
        *,
        within: float = 15.0,
    ) -> IncidentState:
        """Wait until the incident's state satisfies ``check``; returns that state."""

        async def probe() -> IncidentState | None:
            try:
                state = await self.state(handle)
            except (WorkflowQueryFailedError, RPCError):
                return None  # not started or not declared yet
            return state if check(state) else None

        result: IncidentState = await eventually(probe, within=within)
        return result

    async def timers(self, handle: IncidentHandle) -> list[PendingTimer]:
        """The incident's pending timers."""
        result: list[PendingTimer] = await handle.query(IncidentWorkflow.timers)
        return result

    async def advance(self, handle: WorkflowHandle[Any, Any], by: timedelta) -> None:
        """Move this incident's clock forward by ``by`` and let what fell due run."""
        await self.env.fast_forward(handle, by)
        await self.settle(handle)

    async def settle(self, handle: WorkflowHandle[Any, Any]) -> None:
        """Wait until the workflow has no activity in flight (its notices were sent)."""

        async def idle() -> bool:
            raw = (await handle.describe()).raw_description
            return not raw.pending_activities and not raw.HasField("pending_workflow_task")

        await eventually(idle)

    async def warroom(self, *args: str, address: str | None = None, within: float = 60) -> Finished:
        """The `warroom` CLI as a real process, on this harness's task queue and database."""
        env = cli_env(
            address or self.client.service_client.config.target_host,
            task_queue=self.task_queue,
            database_url=self.database_url,
        )
        return await warroom(*args, env=env, within=within)

    async def ok(self, *args: str) -> str:
        """The `warroom` CLI, which must exit 0; returns its output."""
        done = await self.warroom(*args)
        assert done.code == 0, f"warroom {' '.join(args)} → {done.code}: {done.err}"
        return done.out

    def notices(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Notices received by the channel, optionally of one kind."""
        return [b for b in self.receiver.bodies() if kind is None or b["kind"] == kind]

    def paged(self) -> list[str]:
        """Who escalation notices went to, in order."""
        return [b["audience"] for b in self.notices("escalation")]


@dataclass(frozen=True)
class Scheduled:
    """One activity the incident scheduled, as its history shows it."""

    activity: str
    priority: int
    """The task-queue priority key (1 first; 0 means the default, 3)."""
    input: Any


async def scheduled(handle: IncidentHandle) -> list[Scheduled]:
    """Every activity ``handle``'s current run scheduled, in order."""
    history = await handle.fetch_history()
    found = []
    for event in history.events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            attributes = event.activity_task_scheduled_event_attributes
            payloads = attributes.input.payloads
            found.append(
                Scheduled(
                    activity=attributes.activity_type.name,
                    priority=attributes.priority.priority_key,
                    input=json.loads(payloads[0].data) if payloads else None,
                )
            )
    return found
