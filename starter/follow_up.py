"""A closed incident's action items, through its follow-up workflow (``workflows.follow_up``).

A closed incident's workflow has ended and takes no update; its action items still take
decisions, in its follow-up: found running, or started again from where the incident (or
the follow-up before) left them. The CLI, the HTTP API and the board all come here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from incident.ids import follow_up_workflow_id
from incident.models import (
    Decision,
    DecisionReceipt,
    FollowUpStart,
    IncidentState,
    PendingTimer,
    Phase,
)
from incident.rules.decisions import AFTER_CLOSE
from starter.api import IncidentHandle, decide
from workflows.follow_up import FollowUpWorkflow
from workflows.incident import IncidentWorkflow

FollowUpHandle = WorkflowHandle[FollowUpWorkflow, IncidentState]
ATTEMPTS = 3
"""Tries when the follow-up ends between being found and taking the decision."""


class NoMoreDecisions(Exception):
    """The incident's workflow has ended and the decision has nowhere to go: it is closed
    and the decision is not about its action items, or it ended without closing (cancelled
    or terminated). The message says which."""


def closed_refusal(state: IncidentState) -> str:
    """Why closed incident ``state`` refuses a decision other than its action items'."""
    closed = f" (closed {state.closed_at:%Y-%m-%d %H:%M} UTC)" if state.closed_at else ""
    return (
        f"{state.human_id} is closed{closed}; it takes no more decisions, only its action "
        "items still do"
    )


def taken_after_close(decision: Decision) -> bool:
    """Whether a closed incident still takes ``decision`` (its action items')."""
    return type(decision) in AFTER_CLOSE


async def decide_on(
    client: Client,
    handle: IncidentHandle,
    decision: Decision,
    *,
    rpc_timeout: timedelta | None = None,
) -> DecisionReceipt:
    """Send ``decision`` to the incident; once it is closed, its action items' go to its
    follow-up. Raises WorkflowUpdateFailedError with the reason when it is refused, and
    NoMoreDecisions when the incident has ended and takes it nowhere."""
    try:
        return await decide(handle, decision, rpc_timeout=rpc_timeout)
    except RPCError as err:
        if err.status is not RPCStatusCode.NOT_FOUND:  # NOT_FOUND: its workflow has ended
            raise
        if taken_after_close(decision):
            return await decide_after_close(client, handle, decision, rpc_timeout=rpc_timeout)
        state: IncidentState = await handle.query(IncidentWorkflow.state, rpc_timeout=rpc_timeout)
        if state.phase is Phase.CLOSED:
            raise NoMoreDecisions(closed_refusal(state)) from err
        raise


async def decide_after_close(
    client: Client,
    closed: IncidentHandle,
    decision: Decision,
    *,
    rpc_timeout: timedelta | None = None,
) -> DecisionReceipt:
    """Send an action-item decision of closed incident ``closed`` to its follow-up, started
    if need be; raises WorkflowUpdateFailedError with the reason when it is refused."""
    for attempt in range(ATTEMPTS):
        handle = await _follow_up_ready(client, closed, rpc_timeout)
        try:
            return await decide(handle, decision, rpc_timeout=rpc_timeout)
        except RPCError as err:
            # It ended (nothing open, its linger over) as the decision went: start it again.
            if err.status is not RPCStatusCode.NOT_FOUND or attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def after_close(
    client: Client, closed: IncidentState, *, rpc_timeout: timedelta | None = None
) -> tuple[IncidentState, list[PendingTimer]]:
    """Closed incident ``closed`` as its follow-up has it (its action items as they are now,
    their reminders pending), or as it closed when it has had none."""
    handle: FollowUpHandle = client.get_workflow_handle_for(
        FollowUpWorkflow.run, follow_up_workflow_id(closed.human_id)
    )
    status = await _status(handle, rpc_timeout)
    if status is None:
        return closed, []
    if status is WorkflowExecutionStatus.RUNNING:
        state = await handle.query(FollowUpWorkflow.state, rpc_timeout=rpc_timeout)
        timers = await handle.query(FollowUpWorkflow.timers, rpc_timeout=rpc_timeout)
        return state, timers
    return await _ended_with(handle, closed, rpc_timeout), []


async def _follow_up_ready(
    client: Client, closed: IncidentHandle, rpc_timeout: timedelta | None
) -> FollowUpHandle:
    """The incident's follow-up, taking decisions: running, or started from the latest state."""
    described = await closed.describe(rpc_timeout=rpc_timeout)
    state: IncidentState = await closed.query(IncidentWorkflow.state, rpc_timeout=rpc_timeout)
    if state.phase is not Phase.CLOSED:
        raise NoMoreDecisions(
            f"{state.human_id} ended {state.phase.value} without closing (cancelled or "
            "terminated); it takes no more decisions"
        )
    workflow_id = follow_up_workflow_id(state.human_id)
    handle: FollowUpHandle = client.get_workflow_handle_for(FollowUpWorkflow.run, workflow_id)
    status = await _status(handle, rpc_timeout)
    latest = state
    if status is not None and status is not WorkflowExecutionStatus.RUNNING:
        latest = await _ended_with(handle, state, rpc_timeout)
    start = WithStartWorkflowOperation(
        FollowUpWorkflow.run,
        FollowUpStart(state=latest, incident_workflow_id=closed.id),
        id=workflow_id,
        task_queue=described.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary=f"{state.human_id} after close: its action items",
    )
    await client.execute_update_with_start_workflow(
        FollowUpWorkflow.ready, start_workflow_operation=start, rpc_timeout=rpc_timeout
    )
    return handle


async def _status(
    handle: WorkflowHandle[Any, Any], rpc_timeout: timedelta | None
) -> WorkflowExecutionStatus | None:
    """The follow-up's status; None when it has never run."""
    try:
        described = await handle.describe(rpc_timeout=rpc_timeout)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            return None
        raise
    return described.status


async def _ended_with(
    handle: FollowUpHandle, closed: IncidentState, rpc_timeout: timedelta | None
) -> IncidentState:
    """What an ended follow-up left (its result); the closed state if it did not end well."""
    try:
        return await handle.result(rpc_timeout=rpc_timeout)
    except WorkflowFailureError:
        return closed
