"""Notices: the messages an incident sends, as data; activities render and deliver them."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import Field

from incident.escalation import Audience, Reached
from incident.impact import ComponentImpact
from incident.models import Model, Phase, Sparse, Status
from incident.severity import Severity

DELIVERY_HEARTBEAT_TIMEOUT = timedelta(seconds=10)
"""How soon Temporal retries a delivery whose worker died: the delivery heartbeats
well within it, however slow a channel is to answer."""


class NoticeKind(StrEnum):
    """The runbooks' message types; each has a template of the same name."""

    DECLARATION = "declaration"
    STATUS_UPDATE = "status_update"
    STATUS_REMINDER = "status_reminder"
    ESCALATION = "escalation"
    RESOLUTION = "resolution"
    EXECUTIVE_BRIEF = "executive_brief"
    POSTMORTEM_REMINDER = "postmortem_reminder"
    CUSTOMER_UPDATE = "customer_update"
    CUSTOMER_REMINDER = "customer_reminder"
    ACTION_ITEM = "action_item"
    """To an action item's owner: assigned to them, due soon, or overdue."""


class IncidentBrief(Sparse):
    """The facts a message about an incident needs, small enough to send often (what is
    not known or not said is left out of its JSON)."""

    human_id: str
    title: str
    severity: Severity
    severity_name: str
    phase: Phase
    status: Status
    service: str | None = None
    org: str | None = None
    summary: str = ""
    impact: str = ""
    commander: str | None = None
    roles: dict[str, str] = Field(default_factory=dict)
    responders: list[str] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)
    declared_at: datetime
    duration: timedelta
    last_update: str | None = None
    root_cause: str | None = None
    resolved_at: datetime | None = None
    next_update_due: datetime | None = None
    postmortem_schedule_by: datetime | None = None
    postmortem_complete_by: datetime | None = None
    action_items: int = 0
    firings: int = 0
    room_channel: str | None = None
    """The incident's own Slack channel (its ID), where what the incident channel hears goes."""
    room_url: str | None = None
    bridge_url: str | None = None
    runbook_url: str | None = None
    """The runbook the alert (or the routing rule it matched) links."""
    status_page_url: str | None = None
    """The public status page customers are pointed at (the policy's)."""
    users_affected: str | None = None
    traffic_percent: float | None = None
    revenue_impact: str | None = None
    data_impact: str | None = None
    data_loss: bool | None = None
    impact_duration: timedelta | None = None
    """From declaration until the impact stopped (mitigated, else resolved); None while on."""
    current_actions: list[str] = Field(default_factory=list)
    """What is being done now and by whom, as the last status update said."""
    next_steps: list[str] = Field(default_factory=list)
    eta: str | None = None
    tried: list[str] = Field(default_factory=list)
    """What has been tried so far: containment and the actions under way."""
    ask: str | None = None
    """What an escalation asks of the people it brings in."""
    postmortem_scheduled_for: datetime | None = None
    action_items_open: int = 0
    action_items_overdue: int = 0
    customer_impact: ComponentImpact | None = None
    """How the service looks to customers now (operational once resolved): what a status
    page connector sets its component to. None in notices from before it was carried."""


class Notice(Sparse):
    """One message for one audience: the people it names and the channels that serve it.

    ``key`` is unique within the incident and stable across retries and
    replays; channels receive it as an idempotency key.
    """

    key: str
    incident_uid: str | None = None
    """The run that opened the incident, so two incidents of one alert group never share keys."""
    kind: NoticeKind
    audience: str
    """Who it is for, as people read it ("VP Engineering", "level 1: schedule primary")."""
    to: Audience | None = None
    """Which audience it goes to (None: notices from before audiences, routed by kind)."""
    level: int | None = None
    """A page: the level of the service's escalation policy whose targets are paged."""
    person: str | None = None
    """A follow-up: the person (handle) to reach again, through their rule ``rule``."""
    rule: int | None = None
    contact: str | None = None
    headline: str
    reason: str | None = None
    message: str | None = None
    automatic: bool = False
    at: datetime
    incident: IncidentBrief

    def idempotency_key(self, workflow_id: str) -> str:
        """The key channels receive: stable across retries and replays, unique per incident."""
        if self.incident_uid is None:  # opened before incidents had one: keys as they were
            return f"{workflow_id}:{self.key}"
        return f"{workflow_id}:{self.incident_uid}:{self.key}"


def audience_of(kind: NoticeKind) -> Audience:
    """The audience a notice of ``kind`` goes to when nothing more specific is said."""
    return {
        NoticeKind.ESCALATION: Audience.PEOPLE,
        NoticeKind.EXECUTIVE_BRIEF: Audience.EXECUTIVES,
        NoticeKind.CUSTOMER_UPDATE: Audience.CUSTOMERS,
    }.get(kind, Audience.INCIDENT)


class DeliveryOutcome(Model):
    """How one channel (or one person's contact method) took a notice."""

    channel: str
    """The channel's name, or ``person/method`` for a person's contact method."""
    delivered: bool
    status_code: int | None = None
    detail: str = ""
    person: str | None = None
    """The person (handle) whose contact method this was."""


class DeliveryReport(Model):
    """Every channel's outcome for one notice."""

    key: str
    outcomes: list[DeliveryOutcome] = Field(default_factory=list)
    reached: list[Reached] = Field(default_factory=list)
    """The people the notice was sent to, how, and the outcome."""
    nobody: str | None = None
    """Why the directory named nobody for a notice meant for people (it went to channels)."""

    @property
    def rejected(self) -> list[DeliveryOutcome]:
        """Channels that refused the notice for good (a 4xx); a person's methods are told
        in ``reached``."""
        return [o for o in self.outcomes if not o.delivered and o.person is None]
