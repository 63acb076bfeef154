"""What the store keeps of an incident, cut from its state for one write."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import Field

from incident import bounds
from incident.impact import ComponentImpact
from incident.models import (
    ActionItem,
    CustomerUpdate,
    IncidentState,
    Model,
    NotificationRecord,
    Phase,
    Postmortem,
    TimelineEvent,
)

MAX_EVENTS_PER_WRITE = 200
"""Timeline events (and channel outcomes) per write, within ACTIVITY_INPUT_BYTES."""
WAIT_EVENTS_AT_MOST = 50
"""Timeline events that may wait together; one more goes at once, in one write."""
_Item = TypeVar("_Item", TimelineEvent, NotificationRecord, ActionItem)


class IncidentRow(Model):
    """The incident's row: where it stands and when each milestone happened."""

    human_id: str
    workflow_id: str
    title: str
    severity: str
    phase: str
    status: str
    service: str | None
    org: str | None
    source: str
    dedup_key: str | None
    roles: dict[str, str]
    flags: list[dict[str, Any]]
    policy_version: str
    root_cause: str | None
    follows: str | None
    declared_at: datetime
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    postmortem_schedule_by: datetime | None
    postmortem_complete_by: datetime | None
    last_seq: int
    customer_impact: str | None = None
    """How the incident's service looks to customers now (the status page reads it)."""
    impact: dict[str, Any] | None = None
    """The impact as last assessed (``ImpactAssessment``)."""
    checklist: dict[str, Any] = Field(default_factory=dict)
    """Ticked checklist items by key (``CheckMark`` each)."""


class RecordBatch(Model):
    """One idempotent write: the row as of ``row.last_seq`` and everything new since."""

    row: IncidentRow
    events: list[TimelineEvent] = Field(default_factory=list)
    notifications: list[NotificationRecord] = Field(default_factory=list)
    postmortem: Postmortem | None = None
    action_items: list[ActionItem] = Field(default_factory=list)
    customer_updates: list[CustomerUpdate] = Field(default_factory=list)

    @property
    def last_seq(self) -> int:
        """The highest timeline ``seq`` this write covers."""
        return self.events[-1].seq if self.events else self.row.last_seq


def seen_live(row: IncidentRow) -> tuple[object, ...]:
    """What is read of the incident's row while the incident is live: the public status
    page (``starter.web.status_record``) shows an open incident's service, start and
    customer impact, and a closed one's resolution."""
    return (
        Phase(row.phase).is_open,
        row.service,
        row.declared_at,
        row.resolved_at,
        row.customer_impact,
    )


def can_wait(
    batch: RecordBatch,
    written: IncidentRow | None,
    since: datetime,
    now: datetime,
    at_most: timedelta | None,
) -> bool:
    """Whether ``batch`` may wait to go with a later write, ``written`` being the row the
    store last took from this run (None: none yet) and ``since`` when the oldest thing
    in the batch happened.

    The record is read afterwards; while the incident is live only the status page
    reads it. So what changes that page goes at once (the incident's first write, a
    change to what ``seen_live`` shows, a customer update), and so does everything from
    resolution on (the postmortem draft is kept current from it). The rest (reminders,
    acknowledgements, roles, status updates, delivery outcomes) waits, for less than
    ``at_most`` (the severity's status-update interval: the record is never staler than
    what stakeholders are told; None, no cadence: nothing waits) and fewer than
    WAIT_EVENTS_AT_MOST events. Whether it has waited long enough is asked whenever the
    incident wakes; close writes everything.
    """
    row = batch.row
    return (
        at_most is not None
        and written is not None
        and row.resolved_at is None
        and Phase(row.phase).is_open
        and not batch.customer_updates
        and seen_live(row) == seen_live(written)
        and len(batch.events) < WAIT_EVENTS_AT_MOST
        and now - since < at_most
    )


def records_behind(state: IncidentState) -> bool:
    """Whether the store lacks part of the incident (cheap: builds no batch)."""
    return (
        bool(state.timeline and state.timeline[-1].seq > state.recorded_seq)  # seq ascends
        or bool(state.unrecorded_notifications)
        or any(a.id > state.action_items_recorded for a in state.action_items)
        or any(a.changed_seq > state.recorded_seq for a in state.action_items)
    )


def unrecorded_since(state: IncidentState) -> datetime | None:
    """When the oldest thing the store lacks happened (None: it lacks nothing)."""
    moments = [e.at for e in state.timeline if e.seq > state.recorded_seq][:1]
    moments += [n.at for n in state.unrecorded_notifications[:1]]
    moments += [a.created_at for a in state.action_items if a.id > state.action_items_recorded]
    return min(moments, default=None)


def pending_batch(
    state: IncidentState,
    workflow_id: str,
    deadlines: tuple[datetime | None, datetime | None],
    customer_impact: ComponentImpact | None = None,
) -> RecordBatch | None:
    """The next write the store needs, or None when it is up to date."""
    if not records_behind(state):
        return None
    budget = bounds.ACTIVITY_INPUT_BYTES // 2  # the rest: the row, postmortem, action items
    events = _within(
        [e for e in state.timeline if e.seq > state.recorded_seq][:MAX_EVENTS_PER_WRITE], budget
    )
    notifications = _within(state.unrecorded_notifications[:MAX_EVENTS_PER_WRITE], budget // 2)
    # Changed items first, so a long list of new ones never leaves a change unwritten.
    recorded = state.action_items_recorded
    items = [
        a for a in state.action_items if a.id <= recorded and a.changed_seq > state.recorded_seq
    ] + [a for a in state.action_items if a.id > recorded]
    items = _within(items, budget // 4)
    if not events and not notifications and not items:
        return None
    last_seq = events[-1].seq if events else state.recorded_seq
    row = IncidentRow(
        human_id=state.human_id,
        workflow_id=workflow_id,
        title=state.title,
        severity=state.severity.value,
        phase=state.phase.value,
        status=state.status.value,
        service=state.service,
        org=state.org,
        source=state.source,
        dedup_key=state.dedup_key,
        roles={role.value: person for role, person in state.roles.items()},
        flags=[flag.model_dump(mode="json") for flag in state.flags],
        policy_version=state.policy_version,
        root_cause=state.root_cause,
        follows=state.follows,
        declared_at=state.declared_at,
        acknowledged_at=state.acknowledged_at,
        mitigated_at=state.mitigated_at,
        resolved_at=state.resolved_at,
        closed_at=state.closed_at,
        postmortem_schedule_by=deadlines[0],
        postmortem_complete_by=deadlines[1],
        last_seq=last_seq,
        customer_impact=customer_impact.value if customer_impact else None,
        impact=state.impact_assessment.model_dump(mode="json") if state.impact_assessment else None,
        checklist={k: m.model_dump(mode="json") for k, m in state.checklist.items()},
    )
    told = [u for u in state.customer_updates if state.recorded_seq < u.seq <= last_seq]
    return RecordBatch(
        row=row,
        events=events,
        notifications=notifications,
        postmortem=state.postmortem,
        action_items=items,
        customer_updates=told,
    )


def _within(items: list[_Item], budget: int) -> list[_Item]:
    """The longest prefix of ``items`` within ``budget`` bytes, and never none of them."""
    taken: list[_Item] = []
    size = 0
    for item in items:
        size += bounds.payload_bytes(item)
        if taken and size > budget:
            break
        taken.append(item)
    return taken
