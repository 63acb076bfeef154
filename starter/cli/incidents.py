"""Incidents as a whole: list them, show one, watch one, declare one by hand."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import click
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.service import RPCError
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_fixed

from incident.models import Declaration, IncidentState, Phase, Status
from incident.severity import Severity
from starter.api import IncidentHandle, declare_incident, find_incidents, incidents_query
from starter.cli import render
from starter.cli.base import (
    DENIED,
    EXIT_NO_ANSWER,
    EXIT_UNREACHABLE,
    Context,
    fail,
    first_line,
    pass_context,
    run_async,
    severity_named,
)
from starter.follow_up import after_close
from workflows.incident import IncidentWorkflow

QUERY_TIMEOUT = timedelta(seconds=5)
"""How long a look at an incident waits for its workflow to answer."""
DECLARE_WAIT = timedelta(seconds=10)
"""How long `warroom declare` waits for a worker to declare the new incident."""


@click.command("list")
@click.option("--severity", type=click.Choice([s.value for s in Severity]), multiple=True)
@click.option("--phase", "phases", type=click.Choice([p.value for p in Phase]), multiple=True)
@click.option("--status", "statuses", type=click.Choice([s.value for s in Status]), multiple=True)
@click.option("--service")
@click.option("--commander")
@click.option(
    "--all",
    "include_closed",
    is_flag=True,
    help="Include closed incidents (so does --phase closed).",
)
@click.option("--limit", default=50, show_default=True)
@pass_context
@run_async
async def list_incidents(
    ctx: Context,
    severity: tuple[str, ...],
    phases: tuple[str, ...],
    statuses: tuple[str, ...],
    service: str | None,
    commander: str | None,
    include_closed: bool,
    limit: int,
) -> None:
    """List incidents (a visibility query underneath)."""
    query = incidents_query(
        severities=severity,
        phases=phases,
        statuses=statuses,
        service=service,
        commander=commander,
        include_closed=include_closed,
    )
    found = await find_incidents(await ctx.client(), query, limit=limit)
    rows = [
        {
            "id": i.human_id,
            "workflow_id": i.workflow_id,
            "severity": i.severity,
            "phase": i.phase,
            "status": i.status,
            "service": i.service,
            "commander": i.commander,
            "started": i.started.isoformat(),
        }
        for i in found
    ]
    text = (
        render.table(
            ["ID", "SEV", "PHASE", "STATUS", "SERVICE", "COMMANDER", "AGE"],
            [
                [
                    r["id"],
                    render.severity(r["severity"]),
                    render.phase(r["phase"]),
                    r["status"],
                    r["service"] or "-",
                    r["commander"] or "-",
                    render.age(_parse(r["started"])),
                ]
                for r in rows
            ],
        )
        if rows
        else "no incidents match"
    )
    ctx.out(rows, text)


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


@click.command()
@click.argument("incident")
@pass_context
@run_async
async def show(ctx: Context, incident: str) -> None:
    """Everything about an incident: state, roles, flags, pending timers, timeline."""
    handle = await ctx.incident(incident)
    state, timers = await state_and_timers(handle)
    if state.phase is Phase.CLOSED:  # its action items live on in its follow-up
        state, timers = await after_close(await ctx.client(), state, rpc_timeout=QUERY_TIMEOUT)
    ctx.out(
        {
            "state": state.model_dump(mode="json"),
            "timers": [t.model_dump(mode="json") for t in timers],
        },
        render.incident(state, timers),
    )


async def state_and_timers(handle: IncidentHandle) -> tuple[IncidentState, Any]:
    """The incident's state and pending timers; a closed one's final state and no timers.

    Never waits on a running incident's result: when its workflow does not
    answer (no worker, or it is still being declared) this fails promptly.
    """
    try:
        state = await handle.query(IncidentWorkflow.state, rpc_timeout=QUERY_TIMEOUT)
        timers = await handle.query(IncidentWorkflow.timers, rpc_timeout=QUERY_TIMEOUT)
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError, RPCError) as err:
        if isinstance(err, RPCError) and err.status in DENIED:
            raise
        why = first_line(err.message if isinstance(err, RPCError) else str(err))
    else:
        return state, timers
    described = await handle.describe(rpc_timeout=QUERY_TIMEOUT)
    if described.status is WorkflowExecutionStatus.RUNNING:
        fail(
            EXIT_NO_ANSWER,
            f"{handle.id} is open but no worker answered ({why[:200]}); is a worker "
            f"polling task queue {described.task_queue}?",
        )
    # Closed: its final state is its result, there already (no worker needed).
    result: IncidentState = await handle.result(rpc_timeout=QUERY_TIMEOUT)
    return result, []


@click.command()
@click.argument("incident")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between looks.")
@click.option(
    "--until",
    "until",
    type=click.Choice([p.value for p in Phase]),
    help="Return once the incident has reached this phase (at once if it is there or past it) "
    "instead of at its next change of phase.",
)
@pass_context
@run_async
async def watch(ctx: Context, incident: str, interval: float, until: str | None) -> None:
    """Follow an incident's timeline live until it changes phase (or reaches --until)."""
    phases = list(Phase)
    handle = await ctx.incident(incident)
    state, _ = await state_and_timers(handle)
    start_phase, seen = state.phase, state.timeline_seq

    def arrived(now: Phase) -> bool:
        if until is None:
            return now is not start_phase
        return phases.index(now) >= phases.index(Phase(until))

    click.echo(
        f"watching {state.human_id} ({state.phase.value}/{state.status.value}); Ctrl-C stops"
    )
    for line in render.timeline(state.timeline[-10:]):
        click.echo(line)
    while not arrived(state.phase):
        await asyncio.sleep(interval)
        state, _ = await state_and_timers(handle)
        fresh = [e for e in state.timeline if e.seq > seen]
        for line in render.timeline(fresh):
            click.echo(line)
        seen = state.timeline_seq
    click.echo(f"{state.human_id} is now {render.phase(state.phase.value)}")


@click.command()
@click.argument("title")
@click.option("--severity", "level", required=True, help="P0..P4 or SEV-1..3.")
@click.option("--service")
@click.option("--org")
@click.option("--summary", default="")
@click.option("--impact", default="")
@click.option("--commander")
@pass_context
@run_async
async def declare(
    ctx: Context,
    title: str,
    level: str,
    service: str | None,
    org: str | None,
    summary: str,
    impact: str,
    commander: str | None,
) -> None:
    """Declare an incident by hand."""
    declaration = Declaration(
        title=title,
        severity=severity_named(level),
        service=service,
        org=org,
        summary=summary,
        impact=impact,
        actor=ctx.actor,
        commander=commander,
    )
    client = await ctx.client()
    handle = await declare_incident(client, declaration, task_queue=ctx.task_queue)
    state = await _wait_declared(handle)
    ctx.out(
        {
            "human_id": state.human_id,
            "workflow_id": handle.id,
            "severity": state.severity.value,
            "phase": state.phase.value,
        },
        f"{state.human_id} declared ({render.severity(state.severity.value)}, "
        f"workflow {handle.id})",
    )


async def _wait_declared(handle: IncidentHandle) -> IncidentState:
    """The new incident's state once a worker has declared it; fails after about 10 s.

    A refused credential or permission is raised at once: waiting cannot fix it.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DECLARE_WAIT.total_seconds()

    async def state() -> IncidentState:
        left = timedelta(seconds=max(deadline - loop.time(), 0.1))
        answer: IncidentState = await handle.query(IncidentWorkflow.state, rpc_timeout=left)
        return answer

    ask = AsyncRetrying(
        retry=retry_if_exception(_still_declaring),
        wait=wait_fixed(0.1),
        stop=stop_after_delay(DECLARE_WAIT.total_seconds()),
        reraise=True,
    )
    try:
        return await ask(state)
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError, RPCError) as err:
        if not _still_declaring(err):
            raise
    fail(
        EXIT_UNREACHABLE, "the incident was started but no worker declared it; is a worker running?"
    )


def _still_declaring(err: BaseException) -> bool:
    """A query that found the incident not declared yet (or no worker answering yet)."""
    if isinstance(err, RPCError):
        return err.status not in DENIED
    return isinstance(err, WorkflowQueryFailedError | WorkflowQueryRejectedError)
