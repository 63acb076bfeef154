"""Timeline bookkeeping: events, their byte budget, and what the store has taken."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from incident import bounds
from incident.models import NotificationRecord, TimelineEvent
from incident.notices import DeliveryOutcome, Notice
from incident.records import RecordBatch
from incident.rules import wording

if TYPE_CHECKING:
    from incident.lifecycle import Incident

MAX_TIMELINE = 500
"""Timeline events kept in the workflow; older ones are counted (the store keeps all)."""

MAX_UNRECORDED = 5000
"""Events kept past MAX_TIMELINE while the store is unreachable (within TIMELINE_BYTES)."""

MAX_UNRECORDED_NOTIFICATIONS = 500
"""Channel outcomes kept for the store while it is unreachable (each at most ~1 KiB)."""

MIN_TIMELINE_KEPT = 10
"""Timeline events (and alerts) ``fit`` never goes below."""


def add_event(
    inc: Incident, now: datetime, kind: str, actor: str, text: str, reason: str | None = None
) -> TimelineEvent:
    """Append an event to the timeline (within its budget); returns it."""
    s = inc.state
    s.timeline_seq += 1
    event = TimelineEvent(
        seq=s.timeline_seq, at=now, kind=kind, actor=actor, text=text, reason=reason
    )
    s.timeline.append(event)
    trim_timeline(inc)
    return event


def _event_bytes(inc: Incident, event: TimelineEvent) -> int:
    size = inc.event_sizes.get(event.seq)
    if size is None:
        size = bounds.payload_bytes(event)
        inc.event_sizes[event.seq] = size
    return size


def trim_timeline(inc: Incident) -> None:
    """Keep the timeline within its count and byte budget.

    Events the store has are dropped first, oldest first. Events it has not
    taken yet are kept while the store is down — up to MAX_UNRECORDED events
    and TIMELINE_BYTES, past which the oldest are dropped and counted in
    ``records_lost``: a run over its byte budget would be terminated.
    """
    s = inc.state
    timeline = s.timeline
    total = sum(_event_bytes(inc, e) for e in timeline)
    drop = 0
    while drop < len(timeline) and (
        len(timeline) - drop > MAX_TIMELINE or total > bounds.TIMELINE_BYTES
    ):
        event = timeline[drop]
        unrecorded_left = len(timeline) - drop
        if event.seq > s.recorded_seq:
            if unrecorded_left <= MAX_UNRECORDED and total <= bounds.TIMELINE_BYTES:
                break  # over the count only: the store will take these soon
            if drop == len(timeline) - 1:
                break  # never drop the event just written
            s.records_lost += 1
        total -= _event_bytes(inc, event)
        inc.event_sizes.pop(event.seq, None)
        drop += 1
    if drop:
        del timeline[:drop]
        s.timeline_dropped += drop


def fit(inc: Incident, budget: int) -> None:
    """Shrink what the state keeps until it is at most ``budget`` bytes.

    The last resort before the state is carried into a new run, where a
    payload over the server's limit would end the incident. Channel outcomes
    and timeline events the store has not taken go first (counted in
    ``records_lost``), then the oldest timeline, then the alerts seen least
    recently (counted in ``alerts_untracked``).
    """
    s = inc.state
    while bounds.payload_bytes(s) > budget:
        if s.unrecorded_notifications:
            drop = max(1, len(s.unrecorded_notifications) // 2)
            del s.unrecorded_notifications[:drop]
            s.records_lost += drop
        elif len(s.timeline) > MIN_TIMELINE_KEPT:
            drop = len(s.timeline) // 2
            s.records_lost += sum(1 for e in s.timeline[:drop] if e.seq > s.recorded_seq)
            del s.timeline[:drop]
            s.timeline_dropped += drop
            inc.event_sizes.clear()
        elif len(s.alerts) > MIN_TIMELINE_KEPT:
            by_age = sorted(s.alerts.values(), key=lambda a: a.last_seen)
            for alert in by_age[: len(by_age) // 2]:
                del s.alerts[alert.fingerprint]
                s.alerts_untracked += 1
        else:
            return


def mark_recorded(inc: Incident, batch: RecordBatch, now: datetime) -> None:
    """The store has taken ``batch``: what it covered need not be kept for it any more."""
    s = inc.state
    s.recorded_seq = max(s.recorded_seq, batch.last_seq)
    del s.unrecorded_notifications[: len(batch.notifications)]
    if batch.action_items:
        s.action_items_recorded = max(s.action_items_recorded, batch.action_items[-1].id)
    if s.records_lost > s.records_lost_noted:
        lost = s.records_lost - s.records_lost_noted
        s.records_lost_noted = s.records_lost
        add_event(
            inc,
            now,
            "record_gap",
            wording.SYSTEM,
            f"{lost} timeline event(s) were dropped before the store could take them: "
            "it was unreachable for too long to keep them all",
        )
    trim_timeline(inc)


def note_store_unreachable(inc: Incident, now: datetime, waited: timedelta, problem: str) -> None:
    """The store did not take a write for ``waited``; the events wait in the state."""
    add_event(
        inc,
        now,
        "store_unreachable",
        wording.SYSTEM,
        f"The incident record could not be written for {wording.elapsed(inc, waited)} "
        f"({bounds.clip(problem, 300)}); the incident goes on and the record catches up "
        "when the store is back",
    )


def record_refused(inc: Incident, batch: RecordBatch, reason: str, now: datetime) -> None:
    """The store refused ``batch`` for good: skip past it and say so on the timeline."""
    mark_recorded(inc, batch, now)
    add_event(
        inc,
        now,
        "record_refused",
        wording.SYSTEM,
        f"The store refused {len(batch.events)} timeline event(s) "
        f"(up to #{batch.last_seq}): {bounds.clip(reason, 500)}",
    )


def record_outcomes(
    inc: Incident,
    notice: Notice,
    outcomes: list[DeliveryOutcome],
    now: datetime,
    failure: str | None = None,
) -> None:
    """Keep each channel's outcome for the store (a failed delivery counts as one)."""
    records = [
        NotificationRecord(
            key=notice.key,
            kind=notice.kind.value,
            audience=notice.audience,
            channel=o.channel,
            delivered=o.delivered,
            status_code=o.status_code,
            detail=o.detail,
            at=now,
        )
        for o in outcomes
    ]
    if failure is not None:
        records.append(
            NotificationRecord(
                key=notice.key,
                kind=notice.kind.value,
                audience=notice.audience,
                channel="*",
                delivered=False,
                detail=failure[:500],
                at=now,
            )
        )
    pending = inc.state.unrecorded_notifications
    pending.extend(records)
    over = max(0, len(pending) - MAX_UNRECORDED_NOTIFICATIONS)
    if over:
        del pending[:over]
        inc.state.records_lost += over


def note_delivery_problem(inc: Incident, now: datetime, notice: Notice, problem: str) -> None:
    """Put a channel's refusal or a failed delivery on the timeline."""
    add_event(
        inc,
        now,
        "notification_failed",
        wording.SYSTEM,
        f"{notice.kind.value} to {notice.audience}: {problem}",
    )
