"""IncidentWorkflow: one production incident, from detection to close, as one durable workflow.

The workflow owns an ``incident.lifecycle.Incident`` and does three things
with it: it waits on a single durable timer for the soonest pending step
(re-planned whenever a decision or an alert changes the state), it runs every
side effect as an activity in the background so a slow channel never delays a
timer, and it turns signals and validated updates into state changes.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.lineage import LineageActivities
    from activities.policy import PolicyActivities
    from activities.reach import ReachActivities
    from activities.room import RoomActivities
    from incident.bounds import clip_line
    from incident.ids import (
        SHORT_HUMAN_ID_CHARS,
        follow_up_workflow_id,
        human_id,
        human_id_in_workflow_id,
    )
    from incident.lifecycle import Effects, Incident
    from incident.models import (
        MAX_ALERTS_AFTER_CLOSE,
        AlertBatch,
        AlertStatus,
        CarriedIncident,
        Decision,
        DecisionReceipt,
        FollowUpStart,
        IncidentStart,
        IncidentState,
        PendingTimer,
        Phase,
        RoomRequest,
        TimelineEvent,
    )
    from incident.policy import shared
    from incident.rules import action_items
    from incident.search_attributes import BY_NAME, values_in
    from workflows import handover
    from workflows.alarm import Alarm
    from workflows.decisions import DecisionUpdates, refuse_unless_taken, take
    from workflows.effects import PROBE_RETRY, URGENT, SideEffects, failure_message
    from workflows.follow_up import FollowUpWorkflow
    from workflows.recording import Recorder

FIRST_ALERT_WAIT = timedelta(hours=1)
"""How long an alert-started incident waits for its first alert before giving up."""
CONTINUE_AS_NEW_AFTER = 1000
"""Signals and updates handled by one run before it continues as new (server limit 10,000)."""
MAX_TIMERS_PER_WAKE = 100
DRAIN_LIMIT = timedelta(minutes=2)
"""How long a run about to continue as new waits for deliveries and undos in
flight, timers firing all along; what is still running then is carried into the next run."""
RUNBOOK_RULES = "runbook-rules"
"""The patch under which an incident follows the runbook rules added in one release."""
LEAN_HISTORY = "lean-history"
"""The patch under which a run keeps its timer while the soonest due time is unchanged and
writes the store once per burst of events, after the effects in flight settle."""
FOLLOW_UP = "follow-up"
"""The patch under which a closing incident hands its open action items to its follow-up."""
LEAN_RECORD = "lean-record"
"""The patch under which a run writes the store at once only for what is read while the
incident is live (the status page), and lets the rest wait for a later write."""
PATCHES_OF_2026_12 = "patches-of-2026-12"
"""One marker standing for every patch this workflow checks (``_patched``): an incident
opened since takes them all from it, instead of one marker and one TemporalChangeVersion
upsert, a visibility write, each. Incidents opened before replay by their own markers."""


@workflow.defn(name="IncidentWorkflow")
class IncidentWorkflow(DecisionUpdates):
    """One incident: detected → triaged → responding → resolved → post-incident → closed."""

    @workflow.init
    def __init__(self, start: IncidentStart) -> None:
        self._incident: Incident | None = None
        if start.carried is not None:
            self._incident = Incident(start.carried.state, shared(start.carried.policy))
        self._early_alerts: list[AlertBatch] = [] if start.carried else list(start.alerts)
        self._after_close: list[AlertBatch] = list(start.alerts) if start.carried else []
        self._wake = False
        self._handled = 0
        self._published: dict[str, str] = {}
        self._details = ""
        self._recorder = Recorder(lambda: self._live, self._rouse)
        self._alarm = Alarm()
        self._lean = False
        self._all_patches: bool | None = None
        self._effects = SideEffects(lambda: self._live, self._rouse, self._recorder.soon)

    # --- the run ------------------------------------------------------------

    @workflow.run
    async def run(self, start: IncidentStart) -> IncidentState:
        """Run the incident until it closes; returns its final state."""
        # Incidents that began before the store existed must replay without it.
        self._recorder.enabled = self._patched("record-to-store")
        # Incidents opened before drains were bounded end as they always did, so they replay.
        self._bounded_drain = self._patched("bounded-drain")
        # Incidents opened before it re-armed their timer on every wake, and replay so.
        self._lean = self._patched(LEAN_HISTORY)
        if self._lean:
            # One write per burst, its deliveries' outcomes in it, not one per event and outcome.
            self._recorder.held = lambda: self._effects.busy
            self._effects.record_when_settled = True
            # A continued run starts with its predecessor's: upsert only what differs.
            self._published = values_in(workflow.info().typed_search_attributes)
        # Incidents opened before it wrote the store after every burst, and replay so.
        self._recorder.lazy = self._lean and self._patched(LEAN_RECORD)
        if self._incident is None:
            opened = await self._open(start)
            if not opened:
                raise ApplicationError(
                    "no firing alert arrived; nothing to declare", non_retryable=True
                )
        incident = self._live
        if start.carried is not None:
            self._effects.resume(start.carried)
        try:
            await self._respond()
        except asyncio.CancelledError:
            # Cancelled by an operator: nothing stays in force behind a dead incident.
            self._alarm.stop()
            incident.note_cancelled(workflow.now())
            self._dispatch(Effects(undo_actions=incident.compensate_all()))
            await workflow.wait_condition(lambda: not self._effects.busy)
            await self._recorder.flush()
            raise
        self._publish()
        if not self._bounded_drain:
            return await self._finish_unbounded()
        closed = incident.state.phase is Phase.CLOSED
        if closed:
            # Nothing stays in force after close: undo what recovery did not.
            self._dispatch(Effects(undo_actions=incident.compensate_all()))
        settled = await self._drain(closed=closed)
        if closed and settled:
            await self._follow_up()
        if closed and settled and not self._after_close:
            return incident.state
        # The next run sends again whatever this one had in flight (same idempotency keys)
        # and writes again whatever the store had not confirmed (writes are idempotent).
        await self._recorder.stop()
        if closed and settled:
            # Alerts fired while this incident was closing: they open the group's next one.
            workflow.continue_as_new(
                handover.next_incident(incident, self._after_close, workflow.now())
            )
        workflow.continue_as_new(
            handover.same_incident(incident, self._effects.carry(), self._after_close)
        )

    async def _drain(self, *, closed: bool) -> bool:
        """Wait for what is in flight, firing timers all along.

        Before continuing as new, for at most DRAIN_LIMIT; once closed, until
        undos and deliveries are done and the store has the whole incident (an
        undo that keeps failing keeps the incident here, retried on its timer),
        or until the run's history asks for a new run. True when everything
        settled; False when the next run must carry on with what is in flight.
        """
        incident = self._live
        deadline = None if closed else workflow.now() + DRAIN_LIMIT

        def settled() -> bool:
            if self._effects.busy or not workflow.all_handlers_finished():
                return False
            if not closed:
                return True
            return not incident.undoing() and self._recorder.idle and not self._recorder.behind()

        while not settled():
            now = workflow.now()
            if (deadline is not None and now >= deadline) or (
                closed and self._should_continue_as_new()
            ):
                return False
            due = [t.due for t in incident.pending()[:1]]
            until = min([*due, *([deadline] if deadline else [])], default=None)
            self._wake = False
            if self._lean:
                if until is None or until > now:
                    self._alarm.set(until, self._drain_summary(until, deadline))
                    await workflow.wait_condition(
                        lambda: self._wake or settled() or self._alarm.rang
                    )
            elif until is None or until > now:
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        lambda: self._wake or settled(),
                        timeout=None if until is None else until - now,
                        timeout_summary=self._drain_summary(until, deadline),
                    )
            self._run_due_timers()
            self._publish()
        self._alarm.stop()
        return True

    def _drain_summary(self, until: datetime | None, deadline: datetime | None) -> str:
        timers = self._live.pending()
        if timers and until is not None and timers[0].due <= until:
            return clip_line(timers[0].summary)
        return "stop waiting for deliveries in flight; the next run sends them again"

    async def _follow_up(self) -> None:
        """Hand the action items still open to the incident's follow-up, which outlives this
        run and reminds their owners (``workflows.follow_up``)."""
        incident = self._live
        if not (incident.state.runbook_rules and action_items.open_items(incident)):
            return
        # Incidents closed before follow-ups existed replay without one.
        if not self._patched(FOLLOW_UP):
            return
        s = incident.state
        # One already running has the same items: a closing incident takes no decision.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await workflow.start_child_workflow(
                FollowUpWorkflow.run,
                FollowUpStart(state=s, incident_workflow_id=workflow.info().workflow_id),
                id=follow_up_workflow_id(s.human_id),
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                static_summary=clip_line(f"{s.human_id} after close: its action items"),
            )

    async def _finish_unbounded(self) -> IncidentState:
        """How runs ended before drains were bounded (kept so their histories replay)."""
        incident = self._live
        await workflow.wait_condition(
            lambda: not self._effects.busy and workflow.all_handlers_finished()
        )
        if incident.state.phase is Phase.CLOSED:
            self._dispatch(Effects(undo_actions=incident.compensate_all()))
            await workflow.wait_condition(lambda: not self._effects.busy)
            await self._recorder.flush()
        else:
            await self._recorder.stop()
            workflow.continue_as_new(
                IncidentStart(
                    source=incident.state.source,
                    dedup_key=incident.state.dedup_key,
                    carried=CarriedIncident(state=incident.state, policy=incident.policy),
                )
            )
        return incident.state

    async def _respond(self) -> None:
        """Wait on the soonest timer, re-planning whenever something changes, until close."""
        if not self._lean:
            return await self._respond_rearming()
        incident = self._live
        while incident.state.phase is not Phase.CLOSED and not self._should_continue_as_new():
            self._publish()
            timers = incident.pending()
            self._wake = False
            if timers and timers[0].due <= workflow.now():
                self._run_due_timers()
                continue
            soonest = timers[0] if timers else None
            self._alarm.set(
                soonest.due if soonest else None, clip_line(soonest.summary) if soonest else ""
            )
            await workflow.wait_condition(lambda: self._wake or self._alarm.rang)
            if self._alarm.rang:
                self._run_due_timers()

    async def _respond_rearming(self) -> None:
        """The loop of incidents opened before the alarm: a new timer on every wake."""
        incident = self._live
        while incident.state.phase is not Phase.CLOSED and not self._should_continue_as_new():
            self._publish()
            timers = incident.pending()
            self._wake = False
            if not timers:
                await workflow.wait_condition(lambda: self._wake)
                continue
            delay = timers[0].due - workflow.now()
            if delay > timedelta(0):
                try:
                    await workflow.wait_condition(
                        lambda: self._wake,
                        timeout=delay,
                        timeout_summary=clip_line(timers[0].summary),
                    )
                    continue
                except TimeoutError:
                    pass
            self._run_due_timers()

    async def _open(self, start: IncidentStart) -> bool:
        # A regular activity, not a local one: time read after a local activity
        # differs between the first run and a replay.
        policy = await workflow.execute_activity_method(
            PolicyActivities.current,
            start_to_close_timeout=timedelta(seconds=10),
            priority=URGENT,  # the first page waits on it
            summary="load the response policy in force on the workers",
        )
        policy = shared(policy)  # one object for every incident cached with it
        if start.declaration is None:
            try:
                await workflow.wait_condition(
                    lambda: bool(self._early_alerts),
                    timeout=FIRST_ALERT_WAIT,
                    timeout_summary="wait for the first firing alert",
                )
            except TimeoutError:
                return False
        info = workflow.info()
        early, self._early_alerts = self._early_alerts, []
        # Incidents opened before incident UIDs existed keep their short IDs and keys.
        if self._patched("incident-uid"):
            uid: str | None = info.run_id
            name = human_id(info.workflow_id, info.run_id)
            # A declared incident's workflow ID carries the INC ID its client chose, so the
            # two always agree (starter.api.declare_incident); one declared under an ID of
            # the caller's own keeps a derived INC ID. Not an input field: workers of the
            # previous release refuse fields they do not know.
            if start.declaration is not None and self._patched("human-id-in-workflow-id"):
                name = human_id_in_workflow_id(info.workflow_id) or name
        else:
            uid = None
            name = human_id(
                info.workflow_id, info.first_execution_run_id, length=SHORT_HUMAN_ID_CHARS
            )
        # The runbook rules added together in one release (customer communication,
        # checklists, living action items, rollback verification, the runbook's deadlines,
        # seed 002's matrix, severity following the alerts) share one patch: incidents
        # opened before it replay without their timers and activities.
        runbook_rules = self._patched(RUNBOOK_RULES)
        self._incident, effects = Incident.open(
            human_id=name,
            uid=uid,
            source=start.source,
            dedup_key=start.dedup_key,
            declaration=start.declaration,
            alerts=[alert for batch in early for alert in batch.alerts],
            truncated=sum(batch.truncated for batch in early),
            policy=policy,
            now=workflow.now(),
            # Incidents opened before elapsed times were rounded replay their timelines as
            # they were written.
            whole_seconds=self._patched("whole-second-durations"),
            runbook_rules=runbook_rules,
        )
        self._dispatch(effects)
        # Everything known at opening is in the state before the first wait, so no query
        # sees an incident without the containment it proposes or the incident it follows.
        proposed: Effects | None = None
        # Incidents opened before containment existed must replay without it.
        if start.declaration is None and self._patched("containment-playbooks"):
            proposed = self._incident.propose_playbooks(workflow.now())
        if start.follows is not None:  # opened by alerts that fired while it was closing
            self._incident.link_previous(
                start.follows.human_id, start.follows.closed_at, workflow.now()
            )
        # Incidents opened before escalation policies existed page by the severity's ladder.
        if self._patched("escalation-policies"):
            await self._load_paging_plan()
        if proposed is not None:  # dispatched where it always was, so histories replay
            self._dispatch(proposed)
        # Incidents opened before linking existed must replay without it.
        if (
            start.follows is None
            and start.dedup_key is not None
            and self._patched("link-previous-incident")
        ):
            self._effects.spawn(self._link_previous(info.workflow_id))
        # Incidents opened before rooms existed replay without one.
        room = self._incident.room_wanted()
        if room is not None and self._patched("incident-room"):
            self._effects.spawn(self._open_room(room))
        return True

    async def _open_room(self, request: RoomRequest) -> None:
        """In the background, so opening the room never delays the first page."""
        try:
            room = await workflow.execute_activity_method(
                RoomActivities.open_room,
                request,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=PROBE_RETRY,
                summary="open the incident's Slack channel",
            )
        except ActivityError as err:
            self._live.room_not_opened(failure_message(err), workflow.now())
            self._rouse()
            return
        if room is not None:  # None: no Slack bot configured
            self._live.room_opened(room, workflow.now())
            self._rouse()

    async def _load_paging_plan(self) -> None:
        """The service's escalation policy; the severity's ladder pages when there is none."""
        incident = self._live
        try:
            answer = await workflow.execute_activity_method(
                ReachActivities.paging_plan,
                incident.state.service,
                start_to_close_timeout=timedelta(seconds=10),
                retry_policy=PROBE_RETRY,
                priority=URGENT,  # the first page waits on it
                summary="look up the service's escalation policy in the directory",
            )
        except ActivityError as err:
            problem = f"the directory could not be read ({failure_message(err)})"
            incident.use_paging(None, workflow.now(), problem)
            return
        incident.use_paging(answer.plan, workflow.now(), answer.problem)

    async def _link_previous(self, workflow_id: str) -> None:
        """In the background, so looking back never delays the first page."""
        try:
            previous = await workflow.execute_activity_method(
                LineageActivities.last_closed,
                workflow_id,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=PROBE_RETRY,
                summary="look for an earlier incident of this alert group to link",
            )
        except ActivityError:
            return  # a missing link loses nothing; the incident goes on
        if previous is not None:
            self._live.link_previous(previous.human_id, previous.closed_at, workflow.now())
            self._wake = True

    @property
    def _live(self) -> Incident:
        if self._incident is None:
            raise ApplicationError(
                "the incident is still being declared; try again in a moment",
                type="NotDeclaredYet",
                non_retryable=True,
            )
        return self._incident

    def _run_due_timers(self) -> None:
        incident = self._live
        for _ in range(MAX_TIMERS_PER_WAKE):
            now = workflow.now()
            due = [t for t in incident.pending() if t.due <= now]
            if not due:
                return
            self._dispatch(incident.timer_due(due[0], now))

    def _patched(self, patch_id: str) -> bool:
        """Whether this run takes ``patch_id``: yes for an incident opened since
        PATCHES_OF_2026_12, which stands for every patch up to it; else by its own marker."""
        if self._all_patches is None:  # asked first at the run's start, so as it was then
            self._all_patches = workflow.patched(PATCHES_OF_2026_12)
        return self._all_patches or workflow.patched(patch_id)

    def _rouse(self) -> None:
        """Something changed: the main loop re-plans its timer and refreshes the Web UI."""
        self._wake = True

    def _should_continue_as_new(self) -> bool:
        return (
            self._handled >= CONTINUE_AS_NEW_AFTER or workflow.info().is_continue_as_new_suggested()
        )

    def _publish(self) -> None:
        """Keep the Web UI current: search attributes and current details."""
        incident = self._live
        fields = incident.search_fields()
        changed = [
            BY_NAME[k].value_set(v) for k, v in fields.items() if self._published.get(k) != v
        ]
        if changed:
            workflow.upsert_search_attributes(changed)
            self._published = fields
        details = incident.details(workflow.now(), incident.pending())
        if details != self._details:
            workflow.set_current_details(details)
            self._details = details
        self._recorder.soon()

    def _dispatch(self, effects: Effects) -> None:
        self._effects.dispatch(effects)

    # --- inputs -----------------------------------------------------------------

    @workflow.signal(name="alerts")
    def alerts(self, batch: AlertBatch) -> None:
        """Alerts for this incident, firing or resolved; repeats are counted."""
        self._handled += 1
        if self._incident is None:
            self._early_alerts.append(batch)
            return
        if self._incident.state.phase is Phase.CLOSED:
            # This incident is over: a firing opens the group's next incident once it ends.
            firing = any(a.status is AlertStatus.FIRING for a in batch.alerts)
            if firing and len(self._after_close) < MAX_ALERTS_AFTER_CLOSE:
                self._after_close.append(batch)
            return
        self._dispatch(self._incident.on_alerts(batch, workflow.now()))

    def _check(self, decision: Decision) -> None:
        refuse_unless_taken(self._live, decision, workflow.now())

    def _decide(self, decision: Decision) -> DecisionReceipt:
        self._handled += 1
        receipt, effects = take(self._live, decision, workflow.now())
        self._dispatch(effects)
        return receipt

    # --- views ------------------------------------------------------------------

    @workflow.query
    def state(self) -> IncidentState:
        """The incident's full state."""
        return self._live.state

    @workflow.query
    def timers(self) -> list[PendingTimer]:
        """The timers the incident waits on, soonest first, with what each will do."""
        return self._live.pending()

    @workflow.query
    def timeline(self) -> list[TimelineEvent]:
        """The incident's timeline, oldest first (the most recent 500 events)."""
        return self._live.state.timeline
