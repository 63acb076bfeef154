"""What every reliability scenario must leave behind, checked the same way after each.

``check_incidents`` asserts, for every incident a scenario started:

- it is not lost: visibility lists it on its task queue and ``describe`` finds
  it running or completed (never failed, terminated or timed out);
- no run of any incident on the task queue was terminated or failed by the
  server (a search attribute, memo or payload over its limit ends a run that
  way), and no workflow task was refused for such a reason;
- its timeline is complete in Temporal (the ``state`` query: contiguous
  ``seq``) and nothing of it is lost on the way to Postgres: once no write is
  in flight, the ``timeline`` rows equal the workflow's entries up to what the
  store took (``recorded_seq``) and the state still holds every entry after
  it (an open incident lets what the status page does not show wait for a
  later write: ``incident.records.can_wait``); once closed, Postgres has all
  of it;
- every timer that was due by the incident's own clock fired: nothing due is
  still pending, and each escalation step of the ladder that was due (and not
  made moot by an acknowledgement or by monitoring) is on the timeline exactly
  once, never before its time and, when asked, within ``on_time_within`` of it;
- no containment action was carried out twice: one control-plane effect and
  one ``containment_done`` per action that ran, one undo per action undone;
- with a ``Wire`` on the channel: every notice the channel was sent was in
  the end delivered, and delivered exactly once; the escalation steps' pages
  among them; and the store's ``notifications`` rows, with the outcomes still
  waiting in the state, say the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

import asyncpg
from temporalio.api.enums.v1 import WorkflowTaskFailedCause
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowQueryFailedError
from temporalio.service import RPCError

from incident.containment import ActionState
from incident.ids import incident_key
from incident.models import IncidentState, PendingTimer, Phase, TimelineEvent
from incident.policy import LadderKind, Policy
from starter.api import IncidentHandle
from tests.support.controlplane import ControlPlane
from tests.support.receiver import Received, RecordingReceiver
from tests.support.wait import eventually, poll
from workflows.incident import IncidentWorkflow

ALIVE = (WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.COMPLETED)
MONITORING_STARTS = ("monitoring", "mitigated")
OPEN_ENDS = ("resolved", "closed")


@dataclass(frozen=True)
class Delivery:
    """One notice as a channel received it, and what the channel answered."""

    human_id: str
    key: str
    kind: str
    channel: str
    status: int


@dataclass
class Wire:
    """Sits on the test receiver: answers with ``status`` and logs every delivery attempt."""

    receiver: RecordingReceiver
    status: int = 200
    log: list[Delivery] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.receiver.respond = self._respond

    def _respond(self, request: Received) -> tuple[int, bytes]:
        body = request.json()
        status = self.status
        self.log.append(
            Delivery(
                human_id=body["incident"]["human_id"],
                key=body["key"],
                kind=body["kind"],
                channel=request.path.strip("/"),
                status=status,
            )
        )
        return status, b"{}" if status < 300 else b'{"error": "down"}'

    def attempted(self, human_id: str) -> set[tuple[str, str]]:
        """(notice key, channel) of every notice the channel was sent for this incident."""
        return {(d.key, d.channel) for d in self.log if d.human_id == human_id}

    def delivered(self, human_id: str) -> Counter[tuple[str, str]]:
        """How many times the channel accepted each (notice key, channel)."""
        return Counter(
            (d.key, d.channel) for d in self.log if d.human_id == human_id and 200 <= d.status < 300
        )


@dataclass
class IdempotentWire(Wire):
    """A :class:`Wire` in front of a channel that honours ``Idempotency-Key``, as the
    notices ask of every channel: a repeat of a key it already accepted is answered
    200 and not acted on again, so it is not logged as a delivery.

    Delivery is at least once: a worker killed after a channel took a notice but
    before Temporal heard so sends it again on retry, under the same key. Those
    repeats are kept in ``repeats``; ``keys`` says which keys each notice came
    under, which must be one: a notice sent under two keys would reach people twice.
    """

    accepted: set[str] = field(default_factory=set)
    repeats: list[Delivery] = field(default_factory=list)
    keys: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    def _respond(self, request: Received) -> tuple[int, bytes]:
        key = request.headers.get("idempotency-key", "")
        if self.status >= 300 or key not in self.accepted:
            answer = super()._respond(request)
            delivery = self.log[-1]
            self.keys.setdefault((delivery.human_id, delivery.key), set()).add(key)
            if 200 <= answer[0] < 300:
                self.accepted.add(key)
            return answer
        body = request.json()
        self.repeats.append(
            Delivery(
                human_id=body["incident"]["human_id"],
                key=body["key"],
                kind=body["kind"],
                channel=request.path.strip("/"),
                status=200,
            )
        )
        return 200, b"{}"


async def incident_clock(handle: IncidentHandle) -> datetime:
    """The incident's own clock: its virtual time when time was skipped, else the wall clock."""
    raw = (await handle.describe()).raw_description
    info = raw.workflow_extended_info
    if info.HasField("time_skipping_info") and info.time_skipping_info.HasField("current_time"):
        return info.time_skipping_info.current_time.ToDatetime(tzinfo=UTC)
    return datetime.now(UTC)


async def _state(handle: IncidentHandle) -> IncidentState | None:
    try:
        result: IncidentState = await handle.query(IncidentWorkflow.state)
    except (WorkflowQueryFailedError, RPCError):
        return None
    return result


async def recorded_state(handle: IncidentHandle, *, within: float) -> IncidentState:
    """The incident's state once the store has caught up with all of it."""

    async def caught_up() -> IncidentState | None:
        state = await _state(handle)
        if state is None or state.recorded_seq != state.timeline_seq:
            return None
        return None if state.unrecorded_notifications else state

    result: IncidentState = await eventually(caught_up, within=within)
    return result


async def settled_state(handle: IncidentHandle, *, within: float) -> IncidentState:
    """The incident's state once the store has what it must have by now: all of it once
    the incident is closed; while it is open, everything up to ``recorded_seq``, with no
    write in flight (the rest may wait for a later write, in the state)."""

    async def settled() -> IncidentState | None:
        state = await _state(handle)
        if state is None or not await _no_activity(handle):
            return None
        if state.phase is not Phase.CLOSED:
            return state
        if state.recorded_seq != state.timeline_seq or state.unrecorded_notifications:
            return None
        return state

    result: IncidentState = await eventually(settled, within=within)
    return result


def _monitoring_spans(timeline: list[TimelineEvent]) -> list[tuple[datetime, datetime | None]]:
    spans: list[tuple[datetime, datetime | None]] = []
    start: datetime | None = None
    for event in timeline:
        if event.kind in MONITORING_STARTS and start is None:
            start = event.at
        elif event.kind == "reopened" and start is not None:
            spans.append((start, event.at))
            start = None
    if start is not None:
        spans.append((start, None))
    return spans


def _escalations(state: IncidentState, target: str, contact: str) -> list[TimelineEvent]:
    prefix = f"Escalated to {target} via {contact}: "
    return [e for e in state.timeline if e.kind == "escalated" and e.text.startswith(prefix)]


def check_escalation_ladder(
    state: IncidentState,
    policy: Policy,
    clock: datetime,
    *,
    grace: timedelta,
    on_time_within: timedelta | None = None,
) -> list[str]:
    """Each ladder step due by ``clock`` is on the timeline once, at its time; none early.

    Worked out from the policy and the incident's milestones, not from the
    workflow's own plan: a step is due at ``declared_at + after`` (or at the
    last severity change, which re-plans the ladder from the declaration);
    a paging step is moot once acknowledged, a management step while the
    incident is monitoring recovery, and every step once it resolved.
    """
    assert state.timeline_dropped == 0, "escalation check needs the whole timeline"
    rule = policy.rule(state.severity)
    changes = [e.at for e in state.timeline if e.kind == "severity_changed"]
    replanned = changes[-1] if changes else state.declared_at
    ended = next((e.at for e in state.timeline if e.kind in OPEN_ENDS), None)
    spans = _monitoring_spans(state.timeline)
    jumped = bool(state.flags)
    steps_taken = Counter(state.steps_taken)
    problems = [f"{key} fired {n} times" for key, n in steps_taken.items() if n > 1]
    for index, step in enumerate(rule.escalation):
        key = f"escalation:{state.severity}:{index}"
        due = max(state.declared_at + step.after, replanned)
        moot = ended is not None and ended <= due
        if step.ladder is LadderKind.PAGING:
            moot |= state.acknowledged_at is not None and state.acknowledged_at <= due
        else:
            moot |= any(start <= due and (end is None or due < end) for start, end in spans)
        events = _escalations(state, step.target, step.contact)
        if (
            step.ladder is LadderKind.PAGING
            and state.acknowledged_at is not None
            and due < state.acknowledged_at <= due + grace
        ):
            # Acknowledged while the step was due but not yet out (the first page waits on
            # the policy and the directory): paged once or not at all, both are right.
            if len(events) > 1:
                problems.append(f"{key} ({step.target}) is on the timeline {len(events)} times")
            continue
        if due <= clock - grace and not moot:
            if len(events) != 1 or steps_taken[key] != 1:
                problems.append(
                    f"{key} ({step.target}) was due at {due:%H:%M:%S} (clock {clock:%H:%M:%S}) "
                    f"and is on the timeline {len(events)} times, in steps_taken "
                    f"{steps_taken[key]} times"
                )
                continue
            late = events[0].at - due
            if on_time_within is not None and late > on_time_within and not jumped:
                problems.append(f"{key} ({step.target}) fired {late} after it was due")
        elif (due > clock + grace or moot) and events and not jumped:
            problems.append(
                f"{key} ({step.target}) was not due (due {due:%H:%M:%S}, clock "
                f"{clock:%H:%M:%S}, moot={moot}) but is on the timeline {len(events)} times"
            )
        for event in events:
            if event.at < due and not jumped:
                problems.append(f"{key} ({step.target}) fired early, at {event.at} before {due}")
    return problems


def _overdue(timers: list[PendingTimer], clock: datetime, grace: timedelta) -> list[str]:
    return [f"{t.key} was due at {t.due} and never fired" for t in timers if t.due < clock - grace]


def _timeline_problems(state: IncidentState) -> list[str]:
    seqs = [e.seq for e in state.timeline]
    expected = list(range(state.timeline_dropped + 1, state.timeline_seq + 1))
    return [] if seqs == expected else [f"timeline seqs {seqs} are not {expected}"]


async def _store_problems(database_url: str, state: IncidentState, wire: Wire | None) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT seq, at, kind, actor, text FROM timeline WHERE human_id = $1 ORDER BY seq",
            state.human_id,
        )
        incident = await conn.fetchrow(
            "SELECT phase, severity, last_seq FROM incidents WHERE human_id = $1", state.human_id
        )
        notifications = await conn.fetch(
            "SELECT key, channel FROM notifications WHERE human_id = $1 AND delivered",
            state.human_id,
        )
    finally:
        await conn.close()
    problems = []
    recorded = state.recorded_seq
    stored = {r["seq"]: (r["at"], r["kind"], r["actor"], r["text"]) for r in rows}
    if sorted(stored) != list(range(1, recorded + 1)):
        problems.append(f"Postgres has timeline seqs {sorted(stored)}, not 1..{recorded}")
    for e in state.timeline:
        if e.seq <= recorded and stored.get(e.seq) != (e.at, e.kind, e.actor, e.text):
            problems.append(f"Postgres timeline row {e.seq} is {stored.get(e.seq)}, not {e}")
    waiting = [e.seq for e in state.timeline if e.seq > recorded]
    if waiting != list(range(recorded + 1, state.timeline_seq + 1)):
        problems.append(f"the state holds {waiting} of what the store lacks, not all of it")
    if incident is None:
        problems.append("no incidents row in Postgres")
    elif incident["last_seq"] != recorded or (
        recorded == state.timeline_seq
        and (incident["phase"], incident["severity"]) != (state.phase.value, state.severity.value)
    ):
        problems.append(f"Postgres incidents row is {dict(incident)}, state is {state.phase}")
    if wire is not None:
        in_store = Counter((n["key"], n["channel"]) for n in notifications)
        in_state = {(n.key, n.channel) for n in state.unrecorded_notifications if n.delivered}
        on_wire = wire.delivered(state.human_id)
        if set(in_store) | in_state != set(on_wire):
            problems.append(
                f"notifications in Postgres {sorted(in_store)} and waiting in the state "
                f"{sorted(in_state)} differ from those the channel accepted {sorted(on_wire)}"
            )
    return problems


def _wire_problems(state: IncidentState, wire: Wire) -> list[str]:
    delivered = wire.delivered(state.human_id)
    problems = [f"{key} reached {ch} {n} times" for (key, ch), n in delivered.items() if n != 1]
    lost = wire.attempted(state.human_id) - set(delivered)
    if lost:
        problems.append(f"notices sent but never delivered: {sorted(lost)}")
    keys = {key for key, _ in delivered}
    for step in state.steps_taken:
        if step.startswith("escalation:") and step not in keys:
            problems.append(f"ladder step {step} fired but its page never reached the channel")
    failed = [e.text for e in state.timeline if e.kind == "notification_failed"]
    if failed:
        problems.append(f"notices given up on: {failed}")
    return problems


async def _containment_problems(state: IncidentState, plane: ControlPlane) -> list[str]:
    effects = [
        e["key"]
        for e in (await plane.state())["effects"]
        if e["key"].startswith(f"{incident_key(state.human_id, state.uid)}:")
    ]
    counts = Counter((int(k.split(":")[1]), k.split(":")[2]) for k in effects)
    problems = [f"control plane effect {k} applied {n} times" for k, n in counts.items() if n > 1]
    ran = (
        ActionState.IN_FORCE,
        ActionState.COMPENSATING,
        ActionState.COMPENSATED,
    )
    for action in state.containment:
        done = [
            e
            for e in state.timeline
            if e.kind == "containment_done" and e.text.startswith(f"{action.title} done")
        ]
        undone = [
            e
            for e in state.timeline
            if e.kind == "containment_compensated" and f"Undone {action.title}:" in e.text
        ]
        want_do = 1 if action.state in ran else 0
        if counts[(action.id, "do")] != want_do or len(done) != want_do:
            problems.append(
                f"{action.title} is {action.state}: {counts[(action.id, 'do')]} control-plane "
                f"effects and {len(done)} containment_done events, expected {want_do}"
            )
        want_undo = 1 if action.state is ActionState.COMPENSATED else 0
        if counts[(action.id, "undo")] != want_undo or len(undone) != want_undo:
            problems.append(
                f"{action.title} is {action.state}: undone {counts[(action.id, 'undo')]} times "
                f"on the control plane, {len(undone)} on the timeline, expected {want_undo}"
            )
    return problems


async def _check_one(
    handle: IncidentHandle,
    status: WorkflowExecutionStatus | None,
    policy: Policy,
    database_url: str,
    wire: Wire | None,
    control_plane: ControlPlane | None,
    *,
    grace: timedelta,
    on_time_within: timedelta | None,
    within: float,
) -> tuple[IncidentState, list[str]]:
    if wire is not None:
        # Deliveries still retrying in the background must land, once each.
        first: IncidentState = await eventually(partial(_state, handle), within=within)
        await eventually(partial(_all_delivered, wire, first.human_id), within=within)
    # A channel logs a notice before the activity reports back: wait for the report.
    state = await settled_state(handle, within=within)
    clock = await incident_clock(handle)
    found = _timeline_problems(state)
    assert state.policy_version == policy.version, "checked against the wrong policy"
    found += check_escalation_ladder(
        state, policy, clock, grace=grace, on_time_within=on_time_within
    )
    if status is WorkflowExecutionStatus.RUNNING:
        timers: list[PendingTimer] = await handle.query(IncidentWorkflow.timers)
        found += _overdue(timers, clock, grace)
    found += await _store_problems(database_url, state, wire)
    if wire is not None:
        found += _wire_problems(state, wire)
    if control_plane is not None:
        found += await _containment_problems(state, control_plane)
    return state, found


def _all_delivered(wire: Wire, human_id: str) -> bool:
    return wire.attempted(human_id) <= set(wire.delivered(human_id))


async def _no_activity(handle: IncidentHandle) -> bool:
    return not (await handle.describe()).raw_description.pending_activities


async def _listed(client: Client, task_queue: str) -> set[str]:
    return {w.id async for w in client.list_workflows(f"TaskQueue = '{task_queue}'")}


SERVER_REFUSALS = {
    cause
    for name, cause in WorkflowTaskFailedCause.items()
    if "_BAD_" in name or name.endswith("_LIMIT_EXCEEDED")
}
"""Workflow task failures the server causes: a command it refused (a value over a limit)."""


async def server_refusals(client: Client, task_queue: str) -> list[str]:
    """Every run on ``task_queue`` the server ended, and every command it refused.

    ``check_incidents`` reads the latest run of each incident; a run the server
    terminated can hide behind a later one of the same workflow ID. So every
    run on the queue is listed, and each history searched for refusals.
    """
    found = []
    ended = (
        f"TaskQueue = '{task_queue}' AND ExecutionStatus IN ('Terminated', 'Failed', 'TimedOut')"
    )
    async for run in client.list_workflows(ended):
        found.append(f"{run.id} ({run.run_id}) is {run.status}")
    async for run in client.list_workflows(f"TaskQueue = '{task_queue}'"):
        handle = client.get_workflow_handle(run.id, run_id=run.run_id)
        async for event in handle.fetch_history_events():
            if event.HasField("workflow_task_failed_event_attributes"):
                failed = event.workflow_task_failed_event_attributes
                if failed.cause in SERVER_REFUSALS:
                    found.append(
                        f"{run.id} ({run.run_id}): the server refused a command: "
                        f"{WorkflowTaskFailedCause.Name(failed.cause)}: {failed.failure.message}"
                    )
    return found


async def _agreeing(
    check: Callable[[], Awaitable[tuple[IncidentState, list[str]]]], *, within: float
) -> tuple[IncidentState, list[str]]:
    """The first reading that finds no problem, or the last one once ``within`` s have passed."""
    readings: list[tuple[IncidentState, list[str]]] = []

    async def agrees() -> bool:
        readings.append(await check())
        return not readings[-1][1]

    await poll(agrees, within=within, every=0.2)
    return readings[-1]


async def check_incidents(
    client: Client,
    handles: list[IncidentHandle],
    *,
    task_queue: str,
    policy: Policy,
    database_url: str,
    wire: Wire | None = None,
    control_plane: ControlPlane | None = None,
    grace: timedelta = timedelta(seconds=1),
    on_time_within: timedelta | None = None,
    within: float = 60.0,
) -> list[IncidentState]:
    """Assert every invariant above for ``handles``; returns their final, recorded states."""
    started = {h.id for h in handles}
    assert len(started) == len(handles), "the scenario started the same incident twice"

    async def all_listed() -> bool:
        return await _listed(client, task_queue) == started

    await eventually(all_listed, within=within)
    states: list[IncidentState] = []
    problems: dict[str, list[str]] = {}
    for handle in handles:
        description = await handle.describe()
        assert description.status in ALIVE, f"{handle.id} is {description.status}"
        # An incident still running in real time moves on while it is being checked (a
        # reminder fires between reading its state and reading Postgres): check again
        # until one reading agrees with itself. A real loss never does.
        check = partial(
            _check_one,
            handle,
            description.status,
            policy,
            database_url,
            wire,
            control_plane,
            grace=grace,
            on_time_within=on_time_within,
            within=within,
        )
        state, found = await _agreeing(check, within=within)
        if found:
            problems[f"{state.human_id} ({handle.id}, {state.phase})"] = found
        states.append(state)
    refused = await server_refusals(client, task_queue)
    if refused:
        problems["the server"] = refused
    assert not problems, "invariants broken:\n" + "\n".join(
        f"{who}:\n  " + "\n  ".join(found) for who, found in problems.items()
    )
    return states
