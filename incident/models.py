"""The incident's vocabulary: alerts, phases, roles, decisions, timeline events.

Everything here is plain pydantic data, safe inside the workflow sandbox and
shared by the workflow, its activities, the hooks and the CLI.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    StringConstraints,
    field_validator,
    model_serializer,
    model_validator,
)

from incident import bounds
from incident.containment import ActionKind, ContainmentAction
from incident.escalation import FollowUp, PagingPlan
from incident.impact import ComponentImpact, CustomerStage
from incident.policy import Policy
from incident.severity import Severity

MAX_ALERTS_AFTER_CLOSE = 10
"""Alert deliveries a closing incident holds for the next incident of its group."""

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Required = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


def _key_fits(key: str) -> str:
    size = len(key.encode("utf-8", "surrogatepass"))
    if size > bounds.DEDUP_KEY_BYTES:
        raise ValueError(f"dedup key is {size} bytes; at most {bounds.DEDUP_KEY_BYTES} are kept")
    return key


DedupKey = Annotated[str, StringConstraints(min_length=1), AfterValidator(_key_fits)]
"""A sender's grouping key, however long: the workflow ID is a hash of it."""


def _bounded(values: dict[str, str], value_bytes: int) -> dict[str, str]:
    """Labels or annotations with names and values cut to size (marked), count checked."""
    if len(values) > bounds.MAX_LABELS:
        raise ValueError(f"{len(values)} entries; at most {bounds.MAX_LABELS} are accepted")
    return {
        bounds.clip_name(name): bounds.clip(value, value_bytes) for name, value in values.items()
    }


class Model(BaseModel):
    """Base for every domain model: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


EVERY_FIELD = {"every_field": True}
"""Serialization context for a ``Sparse`` model's JSON with its defaults written out."""


class Sparse(Model):
    """A model sent often: its JSON leaves out the fields at their defaults, which whoever
    reads it fills back in (``model_dump(mode="json", context=EVERY_FIELD)`` writes them).

    Only for what the workflow sends out (an activity's input), never for what it reads
    back when it replays: a default changed by a later release would change what it read.
    """

    @model_serializer(mode="wrap")
    def _without_defaults(
        self, write: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> Any:
        data = write(self)
        if not info.mode_is_json() or (info.context or {}).get("every_field"):
            return data
        for name, field in type(self).model_fields.items():
            if not field.is_required() and getattr(self, name) == field.get_default(
                call_default_factory=True
            ):
                data.pop(name, None)
        return data


class Phase(StrEnum):
    """Where the incident is in its lifecycle."""

    DETECTED = "detected"
    TRIAGED = "triaged"
    RESPONDING = "responding"
    RESOLVED = "resolved"
    POST_INCIDENT = "post_incident"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        """Triaged or responding: the incident is still hurting someone."""
        return self in (Phase.DETECTED, Phase.TRIAGED, Phase.RESPONDING)


class Status(StrEnum):
    """The public status, in the runbooks' own words."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class Role(StrEnum):
    """The runbook's incident roles."""

    INCIDENT_COMMANDER = "incident_commander"
    TECHNICAL_LEAD = "technical_lead"
    COMMUNICATIONS_LEAD = "communications_lead"
    SCRIBE = "scribe"

    @property
    def title(self) -> str:  # type: ignore[override]
        """``Incident commander`` rather than ``incident_commander``."""
        return self.value.replace("_", " ").capitalize()


class AlertStatus(StrEnum):
    """An alert is firing or has resolved."""

    FIRING = "firing"
    RESOLVED = "resolved"


class Alert(Model):
    """One alert as a monitor delivered it, normalised across sources."""

    fingerprint: Name
    name: Name
    status: AlertStatus = AlertStatus.FIRING
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    generator_url: str | None = None

    @field_validator("labels")
    @classmethod
    def _labels_fit(cls, labels: dict[str, str]) -> dict[str, str]:
        # Cut, not refused: a sender such as Alertmanager drops a refused alert for good.
        return _bounded(labels, bounds.LABEL_VALUE_BYTES)

    @field_validator("annotations")
    @classmethod
    def _annotations_fit(cls, annotations: dict[str, str]) -> dict[str, str]:
        return _bounded(annotations, bounds.ANNOTATION_VALUE_BYTES)

    @field_validator("generator_url")
    @classmethod
    def _url_fits(cls, url: str | None) -> str | None:
        return bounds.clip(url, bounds.LABEL_VALUE_BYTES, "") if url else url


class AlertBatch(Model):
    """Alerts delivered together for one incident: one signal, however many alerts."""

    source: Name
    alerts: list[Alert] = Field(min_length=1)
    truncated: int = Field(default=0, ge=0)
    """Alerts the sender left out of this delivery (Alertmanager's ``truncatedAlerts``)."""


class AlertRecord(Model):
    """What the incident keeps of one alert: counted, not appended."""

    fingerprint: str
    name: str
    status: AlertStatus
    first_seen: datetime
    last_seen: datetime
    firings: int = 1


class Declaration(Model):
    """A person or program opening an incident by hand."""

    title: Name
    severity: Severity
    service: Name | None = None
    org: Name | None = None
    summary: Text = ""
    impact: Text = ""
    actor: Name
    commander: Name | None = None


class IncidentStart(Model):
    """The workflow's input: how the incident was opened, or the state it carries on with."""

    source: Name = "manual"
    dedup_key: DedupKey | None = None
    declaration: Declaration | None = None
    carried: CarriedIncident | None = None
    alerts: list[AlertBatch] = Field(default_factory=list, max_length=MAX_ALERTS_AFTER_CLOSE)
    """Alerts that fired while the group's previous incident was closing: they open this one."""
    follows: PreviousIncident | None = None
    """The incident of the same group that closed just before this one opened."""

    @model_serializer(mode="wrap")
    def _as_earlier_workers_read_it(self, write: SerializerFunctionWrapHandler) -> Any:
        # Workers of the previous release refuse fields they do not know, and a rolling
        # deploy has new clients sending to them: fields added since are sent only when set.
        data = write(self)
        for name in ("alerts", "follows"):
            if not data.get(name):
                data.pop(name, None)
        return data


# --- decisions -------------------------------------------------------------


class Decision(Model):
    """Every human decision says who made it and, where it matters, why.

    Each kind of decision names the workflow update that carries it (``update``);
    ``incident.rules.decisions.RULES`` has the rule that checks and applies it.
    """

    update: ClassVar[str]
    sent_when_set: ClassVar[tuple[str, ...]] = ()
    """Fields added since the first release of this decision: sent only when set, so workers
    of the previous release (which refuse fields they do not know) take it while unused."""

    actor: Name
    reason: Text | None = None
    verified_by: Name | None = None
    """How Warroom's HTTP service authenticated ``actor`` (``token``, ``oidc``, ``link``,
    ``slack``); None for a decision sent straight to Temporal, which only administrators can
    do and which the timeline labels so."""

    @model_serializer(mode="wrap")
    def _as_earlier_workers_read_it(self, write: SerializerFunctionWrapHandler) -> Any:
        # As for IncidentStart: a field added since the last release is sent only when set.
        data = write(self)
        if data.get("verified_by") is None:
            data.pop("verified_by", None)
        for name in self.sent_when_set:
            if data.get(name) in (None, [], ""):
                data.pop(name, None)
        return data


class Acknowledge(Decision):
    """I have the incident: stop paging the on-call rotation."""

    update: ClassVar[str] = "acknowledge"


class Escalate(Decision):
    """Bring in the next level now: its page goes out at once instead of on its timer."""

    update: ClassVar[str] = "escalate"
    sent_when_set: ClassVar[tuple[str, ...]] = ("ask",)

    ask: Text | None = None
    """What is wanted of the people brought in (the escalation notice's requested action)."""


class AssignRole(Decision):
    """Give one of the incident roles to a person."""

    update: ClassVar[str] = "assign_role"

    role: Role
    person: Name


class ChangeSeverity(Decision):
    """Re-grade the incident; every timer is re-planned from the declaration."""

    update: ClassVar[str] = "change_severity"

    severity: Severity


class PostStatusUpdate(Decision):
    """A status update to stakeholders; resets the communication cadence."""

    update: ClassVar[str] = "post_status_update"
    sent_when_set: ClassVar[tuple[str, ...]] = ("actions", "next_steps", "eta")

    message: Required
    status: Literal[Status.INVESTIGATING, Status.IDENTIFIED] | None = None
    actions: list[Text] = Field(default_factory=list, max_length=20)
    """What is being done now, each with its owner (``roll back v42 — dana``); replaces the
    last update's list when given."""
    next_steps: list[Text] = Field(default_factory=list, max_length=20)
    """What comes next; replaces the last update's list when given."""
    eta: Text | None = None
    """When the team expects it fixed, in its own words (``about 16:00 UTC``)."""


class PostCustomerUpdate(Decision):
    """A customer-facing update for the status page and the customer channels; without a
    message, the policy's template for where the incident stands (initial, progress or
    resolution) is filled in. Never carries the internal timeline."""

    update: ClassVar[str] = "post_customer_update"

    message: Text | None = None
    impact: ComponentImpact | None = None
    """How the service looks to customers from now on (default: the severity's)."""


class AddNote(Decision):
    """A free-text note on the timeline."""

    update: ClassVar[str] = "add_note"

    text: Required


class RaiseFlag(Decision):
    """An immediate-escalation condition (data loss, security breach, ...)."""

    update: ClassVar[str] = "raise_flag"
    sent_when_set: ClassVar[tuple[str, ...]] = ("amount",)

    flag: Name
    amount: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    """How much, for a flag the policy measures (revenue impact above an amount)."""


class DeclareMitigated(Decision):
    """The bleeding has stopped: impact is contained, recovery is being watched."""

    update: ClassVar[str] = "declare_mitigated"


class Resolve(Decision):
    """The cause is fixed; the incident resolves once recovery criteria hold."""

    update: ClassVar[str] = "resolve"
    sent_when_set: ClassVar[tuple[str, ...]] = ("verified",)

    root_cause: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
    verified: list[Name] = Field(default_factory=list, max_length=30)
    """Checklist items the resolver vouches for in the same breath (``fix``, ``verified``)."""


class Reopen(Decision):
    """The problem is back: return to responding."""

    update: ClassVar[str] = "reopen"


class PostmortemStatus(StrEnum):
    """The postmortem document's state, as in the runbook's template."""

    SCHEDULED = "scheduled"
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    FINAL = "final"


class SubmitPostmortem(Decision):
    """Record the postmortem meeting or document."""

    update: ClassVar[str] = "submit_postmortem"
    sent_when_set: ClassVar[tuple[str, ...]] = (
        "whys",
        "went_well",
        "to_improve",
        "revenue_impact",
        "reputation_impact",
        "owner",
    )

    status: PostmortemStatus
    scheduled_for: datetime | None = None
    document_url: Annotated[str, StringConstraints(max_length=2000)] | None = None
    summary: Text = ""
    contributing_factors: list[Text] = Field(default_factory=list, max_length=50)
    lessons: list[Text] = Field(default_factory=list, max_length=50)
    whys: list[Text] = Field(default_factory=list, max_length=10)
    """The 5 Whys, in order: each answer asks the next why."""
    went_well: list[Text] = Field(default_factory=list, max_length=50)
    to_improve: list[Text] = Field(default_factory=list, max_length=50)
    revenue_impact: Text | None = None
    reputation_impact: Text | None = None
    owner: Name | None = None
    """Who sees the postmortem through to final."""


class AddActionItem(Decision):
    """A follow-up task with an owner; its due date comes from the priority's SLA."""

    update: ClassVar[str] = "add_action_item"

    description: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
    ]
    owner: Name
    priority: Literal["P1", "P2", "P3", "P4"]


class CompleteActionItem(Decision):
    """An action item is done; its reminders stop."""

    update: ClassVar[str] = "complete_action_item"

    item_id: int
    note: Text | None = None


class ReassignActionItem(Decision):
    """Give an action item to someone else; they are told, and its reminders go to them."""

    update: ClassVar[str] = "reassign_action_item"

    item_id: int
    owner: Name


class ReopenActionItem(Decision):
    """A done action item is not done after all (a reason is required)."""

    update: ClassVar[str] = "reopen_action_item"

    item_id: int


class CheckOff(Decision):
    """Tick (or, with ``done`` false, untick) a checklist item by hand, with a note."""

    update: ClassVar[str] = "check"

    item: Name
    """The item's key (``fix``) or its label; ``incident.checklists`` lists them."""
    note: Text | None = None
    done: bool = True


class SetImpact(Decision):
    """What the incident costs, as far as it is known; any field left out keeps its value."""

    update: ClassVar[str] = "set_impact"

    users_affected: Text | None = None
    """How many users (or agents, orgs) are hit: ``about 1,200``, ``all EU tenants``."""
    traffic_percent: float | None = Field(default=None, ge=0, le=100)
    revenue_impact: Text | None = None
    data_impact: Text | None = None
    data_loss: bool | None = None
    summary: Text | None = None
    """The impact in one sentence; replaces the declaration's impact text."""


class Close(Decision):
    """Close the incident for good."""

    update: ClassVar[str] = "close"


class ProposeContainment(Decision):
    """Propose a containment action; the policy's autonomy decides whether it runs."""

    update: ClassVar[str] = "propose_containment"

    kind: ActionKind
    target: Name
    params: dict[str, str] = Field(default_factory=dict)


class ApproveContainment(Decision):
    """Approve an action awaiting approval (incident commander or technical lead)."""

    update: ClassVar[str] = "approve_containment"

    action_id: int


class DenyContainment(Decision):
    """Deny an action awaiting approval; a reason is required."""

    update: ClassVar[str] = "deny_containment"

    action_id: int


class EnterDegradedMode(Decision):
    """The runbook's degraded mode for an org: L1, denylist, paused triggers — as one."""

    update: ClassVar[str] = "enter_degraded_mode"

    org: Name


class LiftDegradedMode(Decision):
    """Undo degraded mode for an org, as one."""

    update: ClassVar[str] = "lift_degraded_mode"

    org: Name


class IdentifyCause(Decision):
    """What caused the incident; proposes the decision tree's actions."""

    update: ClassVar[str] = "identify_cause"

    cause: Name


# --- state ------------------------------------------------------------------


class TimelineEvent(Model):
    """One line of the incident's timeline; ``seq`` is unique per incident."""

    seq: int
    at: datetime
    kind: str
    actor: str
    text: str
    reason: str | None = None
    decision: dict[str, Any] | None = None
    """For a person's decision: its type and fields, as the audit trail keeps them."""
    via: str | None = None
    """How the actor of a decision was known: authenticated by Warroom's HTTP service
    (``token``, ``oidc``, ``link``, ``slack``) or ``admin`` (sent straight to Temporal)."""


class RaisedFlag(Model):
    """An immediate-escalation flag, once raised."""

    flag: str
    label: str
    at: datetime
    actor: str
    reason: str | None = None


class Postmortem(Model):
    """The postmortem as it was last submitted."""

    status: PostmortemStatus
    submitted_at: datetime
    submitted_by: str
    scheduled_for: datetime | None = None
    document_url: str | None = None
    summary: str = ""
    contributing_factors: list[str] = Field(default_factory=list)
    lessons: list[str] = Field(default_factory=list)
    whys: list[str] = Field(default_factory=list)
    went_well: list[str] = Field(default_factory=list)
    to_improve: list[str] = Field(default_factory=list)
    revenue_impact: str | None = None
    reputation_impact: str | None = None
    owner: str | None = None


class ActionItemStatus(StrEnum):
    """Whether an action item still needs doing."""

    OPEN = "open"
    DONE = "done"


class ActionItem(Model):
    """A follow-up task from the incident."""

    id: int
    description: str
    owner: str
    priority: str
    created_at: datetime
    due: datetime | None
    status: ActionItemStatus = ActionItemStatus.OPEN
    completed_at: datetime | None = None
    completed_by: str | None = None
    note: str | None = None
    assigned_at: datetime | None = None
    """When its owner got it (creation, or the last reassignment or reopening); its
    reminders are counted from here."""
    changed_seq: int = 0
    """The timeline event of its last change: the store rewrites it until it has that."""

    def overdue(self, now: datetime) -> bool:
        """Open and past its due date."""
        return self.status is ActionItemStatus.OPEN and self.due is not None and now >= self.due


class CheckMark(Model):
    """A ticked checklist item: when, by whom, and what proves it."""

    at: datetime
    by: str
    note: str | None = None
    seq: int | None = None
    """The timeline event that ticked it, when a decision did."""
    auto: bool = False
    """Ticked from what the incident knows (not by hand): unticked if that stops holding."""


class ImpactAssessment(Model):
    """What the incident costs, as last assessed."""

    at: datetime
    by: str
    users_affected: str | None = None
    traffic_percent: float | None = None
    revenue_impact: str | None = None
    data_impact: str | None = None
    data_loss: bool | None = None


class ProbeCheck(Model):
    """One SLO probe's outcome."""

    name: str
    query: str
    value: float | None
    healthy: bool
    detail: str
    series: dict[str, str] | None = None
    """The labels of the series that decided (the worst of those the query yielded)."""
    series_judged: int = 1
    """How many series the query yielded with a value; every one was judged."""


class ProbeResult(Model):
    """The SLO probes at one moment. ``healthy`` is never True when a probe failed to run."""

    at: datetime
    healthy: bool
    configured: bool = True
    checks: list[ProbeCheck] = Field(default_factory=list)
    error: str | None = None

    @property
    def summary(self) -> str:
        """One line a person can read on the timeline."""
        if not self.configured:
            return "SLO probes not configured: recovery judged on alerts alone"
        if self.error:
            return f"SLO probes could not run: {self.error}"
        return "; ".join(c.detail for c in self.checks) or "no probes"


class CustomerUpdate(Model):
    """One update customers were given; ``seq`` is its timeline event's."""

    seq: int
    at: datetime
    actor: str
    stage: CustomerStage
    status: Status
    impact: ComponentImpact
    message: str


class Room(Model):
    """The incident's own Slack channel, opened on declaration."""

    channel_id: str
    name: str
    url: str
    """A link that opens the channel (``https://app.slack.com/client/<team>/<channel>``)."""
    invited: list[str] = Field(default_factory=list)
    """The responders invited when it opened (directory handles)."""
    not_invited: str | None = None
    """Why responders could not be invited, when they could not."""


class RoomRequest(Model):
    """What the room activity needs to open an incident's channel."""

    human_id: str
    title: str
    service: str | None = None
    """Whose on-call responders are invited."""


FORMER_RUNBOOK_FLAGS = (
    "customer_deadlines",
    "checklists",
    "action_item_reminders",
    "rollback_checks",
    "runbook_deadlines",
    "escalation_matrix",
    "severity_follows_alerts",
    "tracked_remedies",
)
"""``IncidentState.runbook_rules`` as a state carried or returned by the release before
was written: eight flags, set together from one patch."""


class IncidentState(Model):
    """Everything the workflow knows about one incident."""

    human_id: str
    uid: str | None = None
    """The run that opened the incident: unique per incident, kept across continue-as-new.
    Idempotency keys are built on it (None for incidents opened before it existed)."""
    title: str
    source: str
    dedup_key: str | None = None
    severity: Severity
    policy_version: str
    phase: Phase
    status: Status
    service: str | None = None
    org: str | None = None
    summary: str = ""
    impact: str = ""
    runbook_url: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)

    declared_at: datetime
    declared_by: str
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    mitigated_at: datetime | None = None
    monitoring_since: datetime | None = None
    resolution_declared_at: datetime | None = None
    recovered_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    reopened: int = 0
    root_cause: str | None = None
    follows: str | None = None
    """The incident of the same alert group that closed shortly before this one opened."""

    roles: dict[Role, str] = Field(default_factory=dict)
    flags: list[RaisedFlag] = Field(default_factory=list)

    last_status_update_at: datetime
    last_status_update: str | None = None
    reminded_for_update_due: datetime | None = None
    current_actions: list[str] = Field(default_factory=list)
    """What is being done now and by whom, as the last status update that said it."""
    next_steps: list[str] = Field(default_factory=list)
    eta: str | None = None
    """When the team expects it fixed, in its own words."""
    impact_assessment: ImpactAssessment | None = None

    checklist: dict[str, CheckMark] = Field(default_factory=dict)
    """Ticked checklist items by key (``incident.checklists``)."""

    customer_updates: list[CustomerUpdate] = Field(default_factory=list)
    """What customers were told, oldest first (the latest few; the store keeps them all)."""
    customer_impact: ComponentImpact | None = None
    """How the service looks to customers as the last update said (None: the severity's)."""
    customer_reminded_for: datetime | None = None
    """The customer update deadline the incident channel was reminded of."""
    customer_escalated_for: datetime | None = None
    """The customer update deadline the communications lead was paged for."""

    alerts: dict[str, AlertRecord] = Field(default_factory=dict)
    alerts_untracked: int = 0
    firings: int = 0
    notes: int = 0

    steps_taken: list[str] = Field(
        default_factory=list, validation_alias=AliasChoices("steps_taken", "fired_steps")
    )
    """Keys of the ladder and deadline steps already taken (read under its former name too)."""
    last_probe: ProbeResult | None = None
    probe_due: datetime | None = None

    whole_seconds: bool = False
    """Elapsed times on the timeline in whole seconds (incidents opened since; older ones
    replay their timelines as they were written)."""
    runbook_rules: bool = False
    """The runbook rules of the ``runbook-rules`` release hold: customer deadlines and
    cadence, checklists required to resolve, action items that live, rollback checks, the
    runbook's deadlines and on-call requirement, seed 002's matrix, severity following the
    alerts, tracked remedies (incidents opened since; older ones replay without them).
    A state written while each had a flag of its own (``FORMER_RUNBOOK_FLAGS``, always set
    together) is read with this one."""

    @model_validator(mode="before")
    @classmethod
    def _one_flag_for_the_former_eight(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(k in data for k in FORMER_RUNBOOK_FLAGS):
            data = dict(data)
            flags = [bool(data.pop(k)) for k in FORMER_RUNBOOK_FLAGS if k in data]
            data.setdefault("runbook_rules", all(flags))
        return data

    scope_assessed_at: datetime | None = None
    """When the scope and impact were assessed (a status update saying identified)."""
    alerts_peak: Severity | None = None
    """The most severe severity any of the incident's firing alerts has given."""

    paging: PagingPlan | None = None
    """The service's escalation policy, when the directory has one (else the severity's
    ladder pages)."""
    room: Room | None = None
    """The incident's Slack channel, once opened (None: none asked for, or not yet)."""
    bridge_url: str | None = None
    """The call its responders join, from the policy in force when it opened."""
    follow_ups: list[FollowUp] = Field(default_factory=list)

    postmortem: Postmortem | None = None
    action_items: list[ActionItem] = Field(default_factory=list)
    action_items_recorded: int = 0
    """Action items up to this ``id`` are in the store."""
    cause: str | None = None
    containment: list[ContainmentAction] = Field(default_factory=list)

    timeline: list[TimelineEvent] = Field(default_factory=list)
    timeline_seq: int = 0
    timeline_dropped: int = 0
    records_lost_noted: int = 0
    """``records_lost`` as last reported on the timeline."""
    records_lost: int = 0
    """Timeline events dropped before the store took them: the store was down so long that
    keeping them would have put the incident over its byte budget."""
    recorded_seq: int = 0
    """Timeline events up to this ``seq`` are in the store."""
    unrecorded_notifications: list[NotificationRecord] = Field(default_factory=list)


class NotificationRecord(Model):
    """How one channel took one notice, for the store."""

    key: str
    kind: str
    audience: str
    channel: str
    delivered: bool
    status_code: int | None = None
    detail: str = ""
    at: datetime


class CarriedIncident(Model):
    """What a continued-as-new run inherits from the previous one."""

    state: IncidentState
    policy: Policy
    notices_in_flight: list[dict[str, Any]] = Field(default_factory=list)
    """Notices (``incident.notices.Notice`` as JSON) still being delivered when the previous
    run ended: sent again under the same idempotency keys, so none is lost or doubled."""
    actions_in_flight: list[int] = Field(default_factory=list)
    undos_in_flight: list[int] = Field(default_factory=list)
    probe_in_flight: bool = False
    tickets_in_flight: list[dict[str, Any]] = Field(default_factory=list)
    """Action-item changes (``incident.tickets.TicketEvent`` as JSON) still being posted to
    the ticket tracker: posted again under the same idempotency keys."""
    rollback_checks_in_flight: list[int] = Field(default_factory=list)
    """Rollbacks (containment action ids) whose verification was running."""

    @model_serializer(mode="wrap")
    def _as_earlier_workers_read_it(self, write: SerializerFunctionWrapHandler) -> Any:
        # As for IncidentStart: a field added since the last release is sent only when set.
        data = write(self)
        for added in ("tickets_in_flight", "rollback_checks_in_flight"):
            if not data.get(added):
                data.pop(added, None)
        return data


class FollowUpStart(Model):
    """How a closed incident's follow-up begins: the incident as it closed, or as the follow-up
    before this one left it (``workflows.follow_up``)."""

    state: IncidentState
    incident_workflow_id: str
    """The incident's own workflow ID: the store keeps the incident under it."""


class PreviousIncident(Model):
    """The closed incident an alert group had before this one."""

    human_id: str
    closed_at: datetime


class TimerKind(StrEnum):
    """What a timer is for; ``incident.rules.timers`` has one handler for each."""

    ACK_DEADLINE = "ack_deadline"
    ESCALATION = "escalation"
    RESOLUTION_TARGET = "resolution_target"
    STATUS_REMINDER = "status_reminder"
    STATUS_UPDATE = "status_update"
    RECOVERY_CHECK = "recovery_check"
    APPROVAL_DUE = "approval_due"
    UNDO_RETRY = "undo_retry"
    POSTMORTEM_REMINDER = "postmortem_reminder"
    CUSTOMER_REMINDER = "customer_reminder"
    """A customer update is due: the incident channel is reminded."""
    CUSTOMER_ESCALATION = "customer_escalation"
    """A customer update is overdue: the communications lead is paged."""
    PAGE = "page"
    """A level of the service's escalation policy."""
    FOLLOW_UP = "follow_up"
    """A paged person's next contact method, per their notification rules."""
    ACTION_ITEM_DUE = "action_item_due"
    """An open action item's owner is reminded: before its due date, at it, and after."""
    ROLLBACK_CHECK = "rollback_check"
    """A rollback has been in force long enough: check that the service recovered."""
    DEADLINE_REMINDER = "deadline_reminder"
    """A runbook deadline (commander named, scope assessed) is due: the channel is reminded."""
    DEADLINE_ESCALATION = "deadline_escalation"
    """A runbook deadline is overdue: its escalation position is paged."""
    UNRESOLVED_ESCALATION = "unresolved_escalation"
    """Seed 002's matrix: still unresolved, someone is brought in with a request."""


class PendingTimer(Model):
    """A durable timer the incident is waiting on, with what happens when it falls due."""

    key: str
    """Unique among the incident's timers; a step that must not repeat is remembered by it."""
    kind: TimerKind
    ref: int | None = None
    """The escalation step's index, or the containment action's id, the timer is for."""
    due: datetime
    summary: str


class DecisionReceipt(Model):
    """What a decision did: the timeline event it wrote and where the incident stands."""

    human_id: str
    event: TimelineEvent
    phase: Phase
    status: Status
    severity: Severity


IncidentStart.model_rebuild()
IncidentState.model_rebuild()
