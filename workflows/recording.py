"""The incident record: the workflow writes it to Postgres in the background, one batch at a time.

Writes are idempotent (keyed by what the workflow fixed), so a retried,
replayed or re-sent batch never doubles a row. A write never delays a timer;
while the store is unreachable the incident goes on and the events wait in
its state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

with workflow.unsafe.imports_passed_through():
    from activities.store import StoreActivities
    from incident.lifecycle import Incident
    from incident.records import (
        IncidentRow,
        RecordBatch,
        can_wait,
        pending_batch,
        records_behind,
        unrecorded_since,
    )

STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["RecordRefused"],
)
"""Postgres down means the record waits: retried until it comes back, never dropped."""
STORE_PATIENCE = timedelta(minutes=10)
"""How long one write keeps retrying before the timeline says the store is unreachable."""
STORE_PAUSE = timedelta(minutes=1)
"""The pause between writes while the store is unreachable (the events wait in the state)."""
HOLD_AT_MOST = timedelta(minutes=1)
"""How long a write waits for the effects in flight before it goes without their outcomes
(read whenever the incident wakes: a delivery retried for an hour never holds the record)."""


class Recorder:
    """Keeps the store up to date with one incident, one write at a time."""

    def __init__(self, incident: Callable[[], Incident], rouse: Callable[[], None]) -> None:
        self._incident = incident
        self._rouse = rouse
        self.enabled = False
        """False for incidents that began before the store existed (so they replay)."""
        self.workflow_id: str | None = None
        """The incident's workflow ID, when this workflow is not the incident's own (its
        follow-up); None: this one's."""
        self._paused = False
        self._task: asyncio.Task[None] | None = None
        self._outage = False
        self.held: Callable[[], bool] = lambda: False
        """While it says True (effects in flight), the next write waits for what they add,
        so one write takes a whole burst: the events, and the deliveries' outcomes."""
        self.lazy = False
        """Write at once only what is read while the incident is live; the rest waits for
        a later write (``incident.records.can_wait``)."""
        self._written: IncidentRow | None = None
        """The row the store last took from this run."""

    @property
    def idle(self) -> bool:
        """No write is in flight."""
        return self._task is None

    def behind(self) -> bool:
        """Whether the store still lacks part of the incident."""
        return self.enabled and records_behind(self._incident().state)

    def soon(self, *, now: bool = False) -> None:
        """Start the next write, if anything is new and none is in flight.

        Unless ``now``, it waits while ``held`` says so, for at most HOLD_AT_MOST, and,
        when ``lazy``, while what is new may wait for a later write.
        """
        if not self.enabled or self._task is not None or self._paused:
            return
        incident = self._incident()
        since = unrecorded_since(incident.state)
        young = since is None or workflow.now() - since < HOLD_AT_MOST
        if not now and young and self.held():
            return
        batch = pending_batch(
            incident.state,
            self.workflow_id or workflow.info().workflow_id,
            incident.postmortem_deadlines(),
            incident.customer_impact(),
        )
        if batch is None:
            return
        if not now and self._may_wait(batch, since):
            return
        self._task = asyncio.get_running_loop().create_task(self._write(batch))

    def _may_wait(self, batch: RecordBatch, since: datetime | None) -> bool:
        """Whether ``batch`` may wait for a later write (only when ``lazy``)."""
        return (
            self.lazy
            and since is not None
            and can_wait(
                batch,
                self._written,
                since,
                workflow.now(),
                self._incident().rule.status_update_every,
            )
        )

    async def flush(self) -> None:
        """Wait until the store has the whole incident."""
        while True:
            self.soon(now=True)
            if self._task is None:
                return
            await workflow.wait_condition(lambda: self._task is None)

    async def stop(self) -> None:
        """Write no more in this run (the next run writes again what was in flight)."""
        self._paused = True
        writing = self._task
        if writing is not None:
            writing.cancel()  # a task cancelled before it started never clears _task
            await workflow.wait_condition(writing.done)

    async def _write(self, batch: RecordBatch) -> None:
        incident = self._incident()
        try:
            await workflow.execute_activity_method(
                StoreActivities.record,
                batch,
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=STORE_PATIENCE,
                retry_policy=STORE_RETRY,
                summary=f"record {len(batch.events)} timeline event(s) in Postgres",
            )
            incident.mark_recorded(batch, workflow.now())
            self._written = batch.row
            self._outage = False
        except asyncio.CancelledError:
            pass  # cancelled to continue as new; the next run writes it again
        except ActivityError as err:
            cause = err.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause)
            if isinstance(cause, CancelledError) or self._paused:
                pass  # cancelled to continue as new; the next run writes it again
            elif isinstance(cause, ApplicationError) and cause.type == "RecordRefused":
                # Retrying cannot help: say so and move past it, never wedge the incident.
                incident.record_refused(batch, message, workflow.now())
                self._rouse()
            else:
                if not self._outage:
                    self._outage = True
                    incident.note_store_unreachable(workflow.now(), STORE_PATIENCE, message)
                    self._rouse()
                await workflow.sleep(STORE_PAUSE, summary="wait for the store to come back")
        # Chain the next write directly: waking the main loop would restart its timer.
        self._task = None
        self.soon()
