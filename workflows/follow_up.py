"""FollowUpWorkflow: a closed incident's action items, still alive after its workflow ended.

An incident's workflow ends at close, and the group's next incident may reuse its workflow
ID, so the work a postmortem leaves lives here, under ``follow-up-INC-…``: the closing
incident starts it when items are still open, and a person who adds, completes, reassigns
or reopens an item of a closed incident starts it again if need be (``starter.follow_up``). It
reminds owners before and after the due dates, tells the ticket tracker, keeps the store's
record current, and ends once no item is open and everything in flight has settled.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.policy import PolicyActivities
    from incident.bounds import clip_line
    from incident.durations import spoken_duration
    from incident.lifecycle import Incident
    from incident.models import (
        Decision,
        DecisionReceipt,
        FollowUpStart,
        IncidentState,
        PendingTimer,
    )
    from incident.policy import shared
    from incident.rules import action_items
    from workflows.alarm import Alarm
    from workflows.decisions import ActionItemUpdates, refuse_unless_taken, take
    from workflows.effects import SideEffects
    from workflows.recording import Recorder

CONTINUE_AS_NEW_AFTER = 1000
"""Decisions handled by one run before it continues as new."""
LINGER = timedelta(minutes=1)
"""How long a follow-up with no item open stays after its last decision (or its start): for
the decision a client started it to send, or a second thought."""


@workflow.defn(name="FollowUpWorkflow")
class FollowUpWorkflow(ActionItemUpdates):
    """A closed incident's open action items: decisions on them, reminders, the record."""

    @workflow.init
    def __init__(self, start: FollowUpStart) -> None:
        self._incident: Incident | None = None
        self._wake = False
        self._handled = 0
        self._last_decision = workflow.now()
        self._details = ""
        self._alarm = Alarm()
        self._recorder = Recorder(lambda: self._live, self._rouse)
        self._recorder.workflow_id = start.incident_workflow_id
        self._effects = SideEffects(lambda: self._live, self._rouse, self._recorder.soon)
        # One write per burst, its deliveries' outcomes in it.
        self._recorder.held = lambda: self._effects.busy
        self._effects.record_when_settled = True

    @workflow.run
    async def run(self, start: FollowUpStart) -> IncidentState:
        """Until no item is open (and a minute more); returns the incident as it leaves it."""
        policy = await workflow.execute_activity_method(
            PolicyActivities.current,
            start_to_close_timeout=timedelta(seconds=10),
            summary="load the response policy in force on the workers",
        )
        self._incident = Incident(start.state, shared(policy), after_close=True)
        self._recorder.enabled = True
        incident = self._incident
        while self._wanted() and not self._should_continue_as_new():
            self._show()
            timers = incident.pending()
            self._wake = False
            if timers and timers[0].due <= workflow.now():
                self._effects.dispatch(incident.timer_due(timers[0], workflow.now()))
                continue
            if timers:
                self._alarm.set(timers[0].due, clip_line(timers[0].summary))
            elif not action_items.open_items(incident):
                self._alarm.set(self._last_decision + LINGER, "end: no action item is open")
            else:
                self._alarm.set(None, "")  # open items without due dates wait for people
            await workflow.wait_condition(lambda: self._wake or self._alarm.rang)
        self._alarm.stop()
        await workflow.wait_condition(
            lambda: not self._effects.busy and workflow.all_handlers_finished()
        )
        await self._recorder.flush()
        if action_items.open_items(incident):
            workflow.continue_as_new(
                FollowUpStart(state=incident.state, incident_workflow_id=start.incident_workflow_id)
            )
        return incident.state

    @workflow.update
    async def ready(self) -> None:
        """Returns once the follow-up takes decisions (its policy is loaded): what a client
        starting it asks first (``starter.api.follow_up``)."""
        await workflow.wait_condition(lambda: self._incident is not None)

    @property
    def _live(self) -> Incident:
        if self._incident is None:
            raise ApplicationError(
                "the follow-up is still starting; try again in a moment",
                type="NotDeclaredYet",
                non_retryable=True,
            )
        return self._incident

    def _wanted(self) -> bool:
        """Items are open, or the last decision is recent enough to wait for another."""
        return bool(action_items.open_items(self._live)) or (
            workflow.now() < self._last_decision + LINGER
        )

    def _rouse(self) -> None:
        self._wake = True

    def _should_continue_as_new(self) -> bool:
        return (
            self._handled >= CONTINUE_AS_NEW_AFTER or workflow.info().is_continue_as_new_suggested()
        )

    def _show(self) -> None:
        """The Web UI's current details: what is open and what happens next."""
        incident = self._live
        now = workflow.now()
        items = action_items.open_items(incident)
        late = action_items.overdue(incident, now)
        lines = [
            f"**{incident.state.human_id}** is closed; {len(items)} action item(s) open"
            + (f", {len(late)} overdue" if late else ""),
            *(f"- {action_items.item_line(i)} — {i.owner}" for i in items[:10]),
        ]
        timers = incident.pending()
        if timers:
            lines.append(f"next: {timers[0].summary} in {spoken_duration(timers[0].due - now)}")
        details = "\n".join(lines)
        if details != self._details:
            workflow.set_current_details(details)
            self._details = details
        self._recorder.soon()

    # --- decisions ----------------------------------------------------------------

    def _check(self, decision: Decision) -> None:
        refuse_unless_taken(self._live, decision, workflow.now())

    def _decide(self, decision: Decision) -> DecisionReceipt:
        self._handled += 1
        self._last_decision = workflow.now()
        receipt, effects = take(self._live, decision, workflow.now())
        self._effects.dispatch(effects)
        return receipt

    # --- views ------------------------------------------------------------------

    @workflow.query
    def state(self) -> IncidentState:
        """The incident with its action items as they are now."""
        return self._live.state

    @workflow.query
    def timers(self) -> list[PendingTimer]:
        """The action items' reminders, soonest first."""
        return self._live.pending()
