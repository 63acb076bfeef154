"""The API tells Temporal's errors apart by what they are, and asks again only when it helps."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from incident.models import Acknowledge, Alert, AlertBatch
from starter import api
from starter.api import decide, send_alerts, signal_limit_reached, workflow_not_ready
from starter.binaries import temporal_cli
from tests.support.wait import eventually

SIGNAL_LIMIT = RPCError(
    "exceeded workflow execution limit for signal events", RPCStatusCode.INVALID_ARGUMENT, b""
)
BATCH = AlertBatch(source="generic", alerts=[Alert(fingerprint="f", name="QueueStuck")])


async def test_the_signal_limit_of_a_run_is_recognised_as_the_server_reports_it() -> None:
    limited = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        dev_server_extra_args=["--dynamic-config-value", "history.maximumSignalsPerExecution=2"],
        data_converter=pydantic_data_converter,
    )
    async with limited:
        workflow_id = f"full-{uuid.uuid4().hex}"
        errors = []
        for n in range(3):  # no worker: the signals stay in the run's history
            try:
                await limited.client.start_workflow(
                    "IncidentWorkflow",
                    id=workflow_id,
                    task_queue="nobody-polls",
                    start_signal="alerts",
                    start_signal_args=[n],
                )
            except RPCError as err:
                errors.append(err)
        assert len(errors) == 1 and signal_limit_reached(errors[0]), errors
        # Another bad argument is not the limit: it is not asked again.
        with pytest.raises(RPCError) as other:
            await limited.client.start_workflow(
                "IncidentWorkflow", id="x" * 2000, task_queue="nobody-polls"
            )
        assert other.value.status is RPCStatusCode.INVALID_ARGUMENT
        assert not signal_limit_reached(other.value)


class Storm:
    """A client whose incident's run is full for the first ``full`` deliveries."""

    def __init__(self, full: int, error: RPCError = SIGNAL_LIMIT) -> None:
        self.full, self.error, self.calls = full, error, 0

    async def start_workflow(self, *args: Any, **kwargs: Any) -> str:
        self.calls += 1
        if self.calls <= self.full:
            raise self.error
        return "the next run's handle"


async def test_a_delivery_to_a_full_run_is_sent_again_until_the_next_run_takes_it() -> None:
    storm = Storm(full=2)
    handle: Any = await send_alerts(storm, BATCH, dedup_key="k")  # type: ignore[arg-type]
    assert (handle, storm.calls) == ("the next run's handle", 3)


async def test_a_run_that_stays_full_gives_up_with_the_servers_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(api, "SIGNAL_LIMIT_RETRIES", 2)
    storm = Storm(full=10)
    with pytest.raises(RPCError) as raised:
        await send_alerts(storm, BATCH, dedup_key="k")  # type: ignore[arg-type]
    assert raised.value is SIGNAL_LIMIT and storm.calls == 3


async def test_any_other_refusal_is_raised_at_once() -> None:
    storm = Storm(full=1, error=RPCError("no", RPCStatusCode.PERMISSION_DENIED, b""))
    with pytest.raises(RPCError):
        await send_alerts(storm, BATCH, dedup_key="k")  # type: ignore[arg-type]
    assert storm.calls == 1


@workflow.defn(name="FailsItsTask", sandboxed=False)
class FailsItsTask:
    """A workflow whose every task fails (a bug): it can take no update."""

    @workflow.run
    async def run(self) -> None:
        raise RuntimeError("a bug: this workflow task fails")


async def test_an_update_the_server_cannot_hand_over_is_sent_again_then_raised(
    env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api, "NOT_READY_RETRIES", 2)
    client: Client = env.client
    task_queue = f"fails-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=task_queue, workflows=[FailsItsTask]):
        handle = await client.start_workflow(
            FailsItsTask.run, id=f"fails-{uuid.uuid4().hex}", task_queue=task_queue
        )

        async def task_failing() -> bool:
            # From its third attempt the task is "in failed state": updates are refused at once.
            described = await handle.describe()
            return described.raw_description.pending_workflow_task.attempt > 2

        await eventually(task_failing)
        sent = []
        execute_update = handle.execute_update

        async def counted(*args: Any, **kwargs: Any) -> Any:
            sent.append(args)
            return await execute_update(*args, **kwargs)

        handle.execute_update = counted  # type: ignore[method-assign]
        with pytest.raises(RPCError) as raised:
            await decide(handle, Acknowledge(actor="bob"))
        await handle.terminate("test over")
    assert raised.value.status is RPCStatusCode.FAILED_PRECONDITION
    assert workflow_not_ready(raised.value)
    assert len(sent) == 3  # nothing was accepted, so it was sent again, twice


def test_a_failed_precondition_without_the_not_ready_detail_is_not_sent_again() -> None:
    assert not workflow_not_ready(
        RPCError("workflow task failure", RPCStatusCode.FAILED_PRECONDITION, b"")
    )
