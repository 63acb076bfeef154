"""The incident's side effects: notices delivered, the control plane called, SLO probes run.

Every one runs as an activity in the background, so a slow channel never
delays a timer; the incident takes each answer as it comes. What is in
flight is known, so a run that ends before an answer can hand it to the next.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import Priority, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.contain import ContainmentActivities
    from activities.notify import NotifyActivities
    from activities.probe import ProbeActivities
    from activities.tickets import TicketActivities
    from incident.bounds import clip_line
    from incident.containment import ContainmentCall
    from incident.ids import incident_key
    from incident.lifecycle import Effects, Incident
    from incident.models import CarriedIncident, ProbeResult
    from incident.notices import DELIVERY_HEARTBEAT_TIMEOUT, Notice, NoticeKind
    from incident.tickets import TicketEvent

URGENT = Priority(priority_key=1)
"""Pages, declarations and the policy load before them: ahead of everything else queued."""
CONTAINING = Priority(priority_key=2)
"""Containment actions: ahead of routine notices and record-keeping (default 3)."""
URGENT_NOTICES = {NoticeKind.ESCALATION, NoticeKind.DECLARATION}

NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
)
PROBE_RETRY = RetryPolicy(maximum_attempts=3)
CONTAIN_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=["ControlPlaneRejected", "ControlPlaneMissing"],
)
UNDO_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
)
"""Compensation retries every failure, a refusal included: it stays visible, never dropped."""
UNDO_PATIENCE = timedelta(minutes=10)
"""How long one undo keeps retrying before the incident shows it as failing and escalates."""


class SideEffects:
    """Runs an incident's effects as activities and feeds their answers back to it."""

    def __init__(
        self,
        incident: Callable[[], Incident],
        rouse: Callable[[], None],
        record_soon: Callable[[], None],
    ) -> None:
        self._incident = incident
        self._rouse = rouse
        self._record_soon = record_soon
        self._tasks: set[asyncio.Task[None]] = set()
        self._sending: dict[str, Notice] = {}
        self._containing: set[tuple[int, bool]] = set()
        self._ticketing: dict[str, TicketEvent] = {}
        self.probing = False
        """An SLO probe is running."""
        self._verifying: set[int] = set()
        """Rollbacks whose post-rollback probes are running."""
        self.record_when_settled = False
        """Ask for the next write to the store when the last effect in flight ends (the
        store waits for them: ``Recorder.held``)."""

    @property
    def busy(self) -> bool:
        """Something is still in flight."""
        return bool(self._tasks)

    def carry(self) -> CarriedIncident:
        """The incident with everything still in flight, for the next run to start again."""
        incident = self._incident()
        return CarriedIncident(
            state=incident.state,
            policy=incident.policy,
            notices_in_flight=[n.model_dump(mode="json") for n in self._sending.values()],
            actions_in_flight=self._in_flight(undo=False),
            undos_in_flight=self._in_flight(undo=True),
            probe_in_flight=self.probing,
            tickets_in_flight=[t.model_dump(mode="json") for t in self._ticketing.values()],
            rollback_checks_in_flight=sorted(self._verifying),
        )

    def resume(self, carried: CarriedIncident) -> None:
        """Start again what the previous run had in flight when it continued as new."""
        self.dispatch(
            Effects(
                notices=[Notice.model_validate(n) for n in carried.notices_in_flight],
                run_probe=carried.probe_in_flight,
                run_actions=list(carried.actions_in_flight),
                undo_actions=list(carried.undos_in_flight),
                tickets=[TicketEvent.model_validate(t) for t in carried.tickets_in_flight],
                verify_rollbacks=list(carried.rollback_checks_in_flight),
            )
        )

    def _in_flight(self, *, undo: bool) -> list[int]:
        return [action for action, is_undo in self._containing if is_undo is undo]

    def dispatch(self, effects: Effects) -> None:
        """Start what ``effects`` asks for, each in the background."""
        for notice in effects.notices:
            self.spawn(self._deliver(notice))
        if effects.run_probe:
            self.spawn(self._probe())
        for action_id in effects.run_actions:
            self.spawn(self._contain(action_id, undo=False))
        for action_id in effects.undo_actions:
            self.spawn(self._contain(action_id, undo=True))
        for ticket in effects.tickets:
            self.spawn(self._tell_tracker(ticket))
        for action_id in effects.verify_rollbacks:
            self.spawn(self._verify_rollback(action_id))
        self._rouse()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background; the incident waits for it before a run ends."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self.record_when_settled and not self._tasks:
            self._record_soon()

    async def _deliver(self, notice: Notice) -> None:
        self._sending[notice.key] = notice
        try:
            await self._send(notice)
        finally:
            del self._sending[notice.key]

    async def _send(self, notice: Notice) -> None:
        summary = clip_line(f"{notice.kind.value} → {notice.audience}: {notice.headline}")
        try:
            report = await workflow.execute_activity_method(
                NotifyActivities.deliver,
                notice,
                start_to_close_timeout=timedelta(seconds=60),
                schedule_to_close_timeout=timedelta(hours=1),
                heartbeat_timeout=DELIVERY_HEARTBEAT_TIMEOUT,
                retry_policy=NOTIFY_RETRY,
                # Under load a page must not wait behind status reminders and records.
                priority=URGENT if notice.kind in URGENT_NOTICES else Priority.default,
                summary=summary,
            )
        except ActivityError as err:
            cause = failure_message(err)
            self._incident().note_delivery_problem(
                workflow.now(), notice, f"not delivered: {cause}"
            )
            self._incident().record_outcomes(notice, [], workflow.now(), failure=cause)
            self._rouse()  # the timeline changed: refresh the Web UI
            return
        self._incident().record_outcomes(notice, report.outcomes, workflow.now())
        self._incident().delivered(notice, report, workflow.now())
        self._record_soon()
        for outcome in report.rejected:
            self._incident().note_delivery_problem(
                workflow.now(),
                notice,
                f"{outcome.channel} refused it ({outcome.status_code}): {outcome.detail}",
            )
            self._rouse()

    async def _tell_tracker(self, ticket: TicketEvent) -> None:
        self._ticketing[ticket.key] = ticket
        try:
            outcome = await workflow.execute_activity_method(
                TicketActivities.send,
                ticket,
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(hours=1),
                retry_policy=NOTIFY_RETRY,
                summary=clip_line(
                    f"tell the ticket tracker: action item #{ticket.item.id} {ticket.action}"
                ),
            )
        except ActivityError as err:
            outcome = f"ticket tracker not told: {failure_message(err)}"
        finally:
            del self._ticketing[ticket.key]
        if "refused" in outcome or "not told" in outcome:
            self._incident().note_ticket_problem(workflow.now(), ticket.item.id, outcome)
            self._rouse()

    async def _contain(self, action_id: int, *, undo: bool) -> None:
        self._containing.add((action_id, undo))
        try:
            await self._call_control_plane(action_id, undo=undo)
        finally:
            self._containing.discard((action_id, undo))

    async def _call_control_plane(self, action_id: int, *, undo: bool) -> None:
        incident = self._incident()
        action = incident.action(action_id)
        assert action is not None
        call = ContainmentCall(
            incident=incident_key(incident.state.human_id, incident.state.uid),
            action_id=action.id,
            kind=action.kind,
            target=action.target,
            params=action.params,
            undo=undo,
        )
        what = action.kind.undo_label if undo else action.kind.label
        try:
            result = await workflow.execute_activity_method(
                ContainmentActivities.execute,
                call,
                start_to_close_timeout=timedelta(seconds=15),
                # An undo is never dropped: past UNDO_PATIENCE it shows as failing,
                # escalates, and is tried again later (a timer of the incident's).
                schedule_to_close_timeout=UNDO_PATIENCE if undo else timedelta(minutes=30),
                retry_policy=UNDO_RETRY if undo else CONTAIN_RETRY,
                priority=CONTAINING,
                summary=clip_line(f"{what} {action.target} (#{action.id})"),
            )
        except ActivityError as err:
            cause = failure_message(err)
            self.dispatch(
                incident.on_action_result(
                    action_id, undo=undo, ok=False, detail=cause, now=workflow.now()
                )
            )
            return
        if result.previous and not undo:
            action.params["previous"] = result.previous
        self.dispatch(
            incident.on_action_result(
                action_id, undo=undo, ok=True, detail=result.detail, now=workflow.now()
            )
        )

    async def _probe(self) -> None:
        self.probing = True
        try:
            await self._check_slos()
        finally:
            self.probing = False

    async def _check_slos(self) -> None:
        incident = self._incident()
        try:
            result = await workflow.execute_activity_method(
                ProbeActivities.check_slos,
                incident.recovery_probes(),
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=PROBE_RETRY,
                summary="check the SLO probes before counting the incident resolved",
            )
        except ActivityError as err:
            result = ProbeResult(
                at=workflow.now(), healthy=False, error=f"probe failed: {err.cause}"
            )
        self.dispatch(incident.on_probe(result, workflow.now()))

    async def _verify_rollback(self, action_id: int) -> None:
        self._verifying.add(action_id)
        try:
            await self._check_rollback(action_id)
        finally:
            self._verifying.discard(action_id)

    async def _check_rollback(self, action_id: int) -> None:
        incident = self._incident()
        try:
            result = await workflow.execute_activity_method(
                ProbeActivities.check_slos,
                incident.rollback_probes(action_id),
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=PROBE_RETRY,
                summary=f"check that rollback #{action_id} brought the service back",
            )
        except ActivityError as err:
            result = ProbeResult(
                at=workflow.now(), healthy=False, error=f"probe failed: {err.cause}"
            )
        self.dispatch(incident.on_rollback_checked(action_id, result, workflow.now()))


def failure_message(err: ActivityError) -> str:
    """What an activity failure says, for the timeline."""
    return err.cause.message if isinstance(err.cause, ApplicationError) else str(err.cause)
