"""The response policy: every number the runbooks set, loaded from YAML.

The shipped defaults (``default_policy.yaml``) are the runbooks' own numbers.
A team edits a copy and points ``WARROOM_POLICY`` at it; each incident records
the ``version`` of the policy it was declared under.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, time, timedelta
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from incident.checklists import BY_KEY
from incident.containment import ActionKind, Autonomy, TargetScope
from incident.documents import parse_document, read_document
from incident.durations import Duration
from incident.impact import ComponentImpact
from incident.promql import Scoped, fill, placeholders, template_problem
from incident.severity import Severity


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names file, field and reason."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LadderKind(StrEnum):
    """What makes an escalation step moot."""

    PAGING = "paging"
    """Paging the on-call rotation: stops once someone acknowledges."""
    MANAGEMENT = "management"
    """Bringing in management: stops once the incident is resolved (or mitigated)."""


class EscalationStep(_Strict):
    """One rung of the escalation matrix: who is brought in, when, and how."""

    after: Duration
    target: str
    contact: str
    ladder: LadderKind


class UnresolvedStep(_Strict):
    """Seed 002's matrix: who is brought in when the incident is still unresolved this long
    after declaration, and what they are asked for."""

    after: Duration
    target: str
    action: str
    contact: str | None = None


class RunbookDeadline(_Strict):
    """Something the runbook wants done within a time of declaration, per severity: the
    incident channel is reminded when it falls due, and ``escalate_after`` later
    ``escalate_to`` (a directory position) is paged."""

    within: dict[Severity, Duration]
    escalate_after: Duration
    escalate_to: str


_MIN = timedelta(minutes=1)


class DeadlinesRule(_Strict):
    """The runbook's deadlines counted from declaration (seed 000's actions)."""

    commander: RunbookDeadline = Field(
        default_factory=lambda: RunbookDeadline(
            within={Severity.P0: 5 * _MIN},
            escalate_after=5 * _MIN,
            escalate_to="Engineering Manager",
        )
    )
    """An incident commander named (seed: a P0's within 5 min)."""
    scope: RunbookDeadline = Field(
        default_factory=lambda: RunbookDeadline(
            within={Severity.P1: 15 * _MIN},
            escalate_after=15 * _MIN,
            escalate_to="Engineering Manager",
        )
    )
    """The scope and impact assessed (seed: a P1's within 15 min); a status update saying
    the incident is identified counts as the assessment."""


def _seed_002_matrix() -> dict[Severity, list[UnresolvedStep]]:
    return {
        Severity.P0: [
            UnresolvedStep(
                after=30 * _MIN,
                target="Studio Producer",
                action="bring additional resources and escalate to vendors",
            )
        ],
        Severity.P1: [
            UnresolvedStep(
                after=120 * _MIN, target="Project Shepherd", action="reallocate resources"
            )
        ],
    }


class PostmortemRule(_Strict):
    """When the postmortem must be scheduled and completed, counted from resolution."""

    required: bool
    schedule_within: Duration | None = None
    complete_within: Duration | None = None


class SeverityRule(_Strict):
    """Everything the runbooks fix for one severity level."""

    name: str
    definition: str
    aliases: list[str] = Field(default_factory=list)
    response_time: Duration | Literal["next_business_day"]
    resolution_target: Duration
    status_update_every: Duration | None
    on_call: str
    response_team: list[str]
    escalation: list[EscalationStep]
    executive_brief: bool = False
    postmortem: PostmortemRule
    close_on_resolve: bool = False

    @property
    def pages_in_business_hours_only(self) -> bool:
        """Whether the on-call requirement is business hours (seed: a P3): nobody is paged
        outside them; a page due then waits until they start."""
        return self.on_call.strip().lower() == "business hours"

    @property
    def pages_nobody(self) -> bool:
        """Whether the on-call requirement is none (seed: a P4): nobody is paged at all."""
        return self.on_call.strip().lower() in ("none", "")

    @model_validator(mode="after")
    def _ladder_in_order(self) -> SeverityRule:
        afters = [step.after for step in self.escalation]
        if afters != sorted(afters):
            raise ValueError("escalation steps must be listed in order of 'after'")
        if self.postmortem.required and (
            self.postmortem.schedule_within is None or self.postmortem.complete_within is None
        ):
            raise ValueError("a required postmortem needs schedule_within and complete_within")
        return self


class EscalationTrigger(_Strict):
    """A condition that escalates at once, whatever the ladder's clock says."""

    label: str
    notify: list[str]
    jump_ladder: bool = True
    above: float | None = None
    """The flag needs an amount above this (seed 002's revenue impact above $X): raised
    with a smaller amount, or none, it is refused."""
    severity: Severity | None = None
    """Raising the flag makes the incident at least this severe (seed 001: policy bypass
    and data-isolation risk are SEV-1); never lowers it."""
    contain: list[ActionKind] = Field(default_factory=list)
    """Containment proposed against the incident's org when the flag is raised (seed 001:
    the emergency denylist, at once, when policy or control risk is suspected)."""


class SloProbe(_Strict):
    """A PromQL query whose value must satisfy ``op threshold`` for recovery."""

    name: str
    query: str
    op: Literal[">=", ">", "<=", "<"]
    threshold: float

    @model_validator(mode="after")
    def _placeholders_fillable(self) -> SloProbe:
        problem = template_problem(self.query)
        if problem:
            raise ValueError(f"query of {self.name!r}: {problem}")
        return self

    def holds(self, value: float) -> bool:
        """Whether a measured value is within bounds."""
        return {
            ">=": value >= self.threshold,
            ">": value > self.threshold,
            "<=": value <= self.threshold,
            "<": value < self.threshold,
        }[self.op]

    @property
    def placeholders(self) -> list[str]:
        """What the query is scoped by: ``org`` for ``{org="{{org}}"}``."""
        return placeholders(self.query)

    def scoped(self, values: dict[str, str | None]) -> tuple[SloProbe, Scoped]:
        """This probe with its placeholders filled from ``values`` (see ``incident.promql``),
        and what could not be scoped."""
        filled = fill(self.query, values)
        return self.model_copy(update={"query": filled.query}), filled


_ROLLBACK_PROBES = (
    {
        "name": "new run dispatched and succeeded since the rollback",
        "query": 'sum(increase(drovi_agent_runs_status_total{deployment="{{deployment}}",'
        'status="success"}[15m]))',
        "op": ">",
        "threshold": 0,
    },
    {
        "name": "agent run success rate after the rollback",
        "query": 'sum(rate(drovi_agent_runs_status_total{deployment="{{deployment}}",'
        'status="success"}[5m])) / sum(rate(drovi_agent_runs_status_total{'
        'deployment="{{deployment}}"}[5m]))',
        "op": ">=",
        "threshold": 0.9,
    },
)


class RollbackVerification(_Strict):
    """The runbook's checks after a rollback: the control plane confirmed the new status,
    and by ``verify_after`` a new run has succeeded and the success rate has recovered.

    ``{{deployment}}`` in a probe is the rolled-back deployment. A check that fails
    escalates and sends the incident back to investigating."""

    verify_after: Duration = timedelta(minutes=15)
    probes: list[SloProbe] = Field(
        default_factory=lambda: [SloProbe.model_validate(p) for p in _ROLLBACK_PROBES]
    )


class RecoveryRule(_Strict):
    """The recovery exit criteria checked before an incident counts as resolved.

    Probe queries may be scoped to the incident with placeholders filled from its
    labels, ``{{org}}`` and ``{{service}}`` (``incident.promql``)."""

    quiet_window: Duration
    probe_every: Duration
    probes: list[SloProbe]
    after_rollback: RollbackVerification = Field(default_factory=RollbackVerification)
    """Policies written before rollbacks were verified get the runbook's checks."""


class CommunicationRule(_Strict):
    """How far ahead of a due status update the communications lead is reminded, which
    severities get a room of their own, and the bridge people join."""

    reminder_before: Duration
    rooms_for: list[Severity] = Field(default_factory=lambda: [Severity.P0, Severity.P1])
    """Severities whose declaration opens the incident's Slack channel, ``inc-<id>-<slug>``
    (policies written before rooms existed get the default)."""
    bridge_url: str | None = None
    """The call people join (a standing bridge); every notice names it when set."""


CUSTOMER_PLACEHOLDERS = ("service", "started", "ended", "duration", "progress", "next_update")
"""What a customer template may name, in braces: ``{service}``, ``{started}`` …"""


class CustomerTemplates(_Strict):
    """The runbooks' three customer messages, in words a customer reads; never anything from
    the internal timeline."""

    initial: str = (
        "We are investigating a problem affecting {service} since {started}. "
        "Some requests may fail or be slow. Our engineers are on it, and we will post "
        "again {next_update}."
    )
    progress: str = (
        "Update on the problem affecting {service}: {progress}. We will post again {next_update}."
    )
    resolution: str = (
        "The problem affecting {service} is resolved. It lasted {duration}, from {started} "
        "to {ended}. We are sorry for the disruption; an account of what happened will follow."
    )

    @model_validator(mode="after")
    def _known_placeholders(self) -> CustomerTemplates:
        values = dict.fromkeys(CUSTOMER_PLACEHOLDERS, "")
        for stage in ("initial", "progress", "resolution"):
            try:
                getattr(self, stage).format_map(values)
            except (KeyError, IndexError, ValueError) as err:
                known = ", ".join("{" + p + "}" for p in CUSTOMER_PLACEHOLDERS)
                raise ValueError(f"{stage}: unknown placeholder {err} (known: {known})") from err
        return self


class CustomerRule(_Strict):
    """When customers must hear from the incident, how its services look to them, and what
    they are told."""

    first_update_within: dict[Severity, Duration] = Field(
        default_factory=lambda: {Severity.P0: 15 * _MIN, Severity.P1: 30 * _MIN}
    )
    """Begin customer communication this soon after declaration (seed: P0 15 min, P1 30)."""
    update_every: dict[Severity, Duration] = Field(
        default_factory=lambda: {Severity.P0: 15 * _MIN, Severity.P1: 30 * _MIN}
    )
    """Then update the status page this often while the incident is open."""
    escalate_after: Duration = 10 * _MIN
    """A due update reminds the incident channel; this much later the communications lead
    is paged."""
    impact: dict[Severity, ComponentImpact] = Field(
        default_factory=lambda: {
            Severity.P0: ComponentImpact.MAJOR_OUTAGE,
            Severity.P1: ComponentImpact.PARTIAL_OUTAGE,
            Severity.P2: ComponentImpact.DEGRADED,
            Severity.P3: ComponentImpact.OPERATIONAL,
        }
    )
    """How an open incident's service looks on the status page until an update says else."""
    templates: CustomerTemplates = Field(default_factory=CustomerTemplates)
    status_page_url: str | None = None
    """The public status page customers are pointed at."""


class ChecklistRule(_Strict):
    """Which checklist items a severity must have ticked before resolution is declared
    (besides the root cause, which every resolution carries)."""

    required_to_resolve: dict[Severity, list[str]] = Field(default_factory=dict)
    """Item keys by severity (``incident.checklists``); policies written before checklists
    existed require nothing more than the root cause."""

    @model_validator(mode="after")
    def _known_items(self) -> ChecklistRule:
        for severity, keys in self.required_to_resolve.items():
            unknown = [k for k in keys if k not in BY_KEY]
            if unknown:
                known = ", ".join(BY_KEY)
                raise ValueError(
                    f"required_to_resolve.{severity}: unknown item(s) {', '.join(unknown)} "
                    f"(known: {known})"
                )
        return self


class ActionItemRule(_Strict):
    """When an action item's owner is reminded: ahead of its due date, then after it."""

    remind_before: Duration = timedelta(days=2)
    """The owner hears this long before the SLA's due date."""
    overdue_every: Duration = timedelta(days=7)
    """Once overdue, the owner hears at the due date and again this often until it is done."""


class BusinessHours(_Strict):
    """When a business day starts and ends, in UTC, for 'next business day' deadlines and
    the severities paged in business hours only."""

    start_utc: time
    end_utc: time = time(17, 0)
    """Policies written before it existed end their business day at 17:00 UTC."""
    weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])

    def open_at(self, moment: datetime) -> datetime:
        """``moment`` if it falls in business hours, else when they next start."""
        day, clock = moment.date(), moment.time()
        if day.weekday() in self.weekdays:
            if self.start_utc <= clock < self.end_utc:
                return moment
            if clock < self.start_utc:
                return datetime.combine(day, self.start_utc, tzinfo=moment.tzinfo)
        day += timedelta(days=1)
        while day.weekday() not in self.weekdays:
            day += timedelta(days=1)
        return datetime.combine(day, self.start_utc, tzinfo=moment.tzinfo)


class RoutingRule(_Strict):
    """Alerts whose labels all equal ``match`` get these values (the first matching rule wins)."""

    match: dict[str, str] = Field(min_length=1)
    severity: Severity | None = None
    service: str | None = None
    org: str | None = None
    runbook_url: str | None = None

    def matches(self, labels: dict[str, str]) -> bool:
        """Whether every label in ``match`` has that value."""
        return all(labels.get(key) == value for key, value in self.match.items())


class Routing(_Strict):
    """How an alert's labels become severity, service, org and runbook."""

    severity_labels: list[str]
    severity_values: dict[str, Severity]
    default_severity: Severity
    service_labels: list[str]
    org_labels: list[str]
    rules: list[RoutingRule] = Field(default_factory=list)
    link_closed_within: Duration = timedelta(hours=24)
    """A group that fires again this soon after its incident closed opens a new incident
    linked to the old one."""

    def rule_for(self, labels: dict[str, str]) -> RoutingRule | None:
        """The first rule matching ``labels``."""
        return next((rule for rule in self.rules if rule.matches(labels)), None)


OwnerRole = Literal["incident_commander", "technical_lead", "communications_lead", "scribe"]


class TaskTemplate(_Strict):
    """A step of the runbook no control plane takes: tracked as an action item with an owner
    (the holder of ``owner``, else whoever commands), reminded until it is done."""

    description: str = Field(min_length=1, max_length=500)
    """``{service}`` is the incident's service."""
    owner: OwnerRole = "technical_lead"
    priority: Literal["P1", "P2", "P3", "P4"] = "P1"


class PlaybookStep(_Strict):
    """An action a playbook proposes, aimed at the target an alert label names."""

    kind: ActionKind
    target_label: str


class Playbook(_Strict):
    """The runbook's containment playbook for alerts whose labels match."""

    name: str
    match: dict[str, str] = Field(min_length=1)
    actions: list[PlaybookStep] = Field(default_factory=list)
    tasks: list[TaskTemplate] = Field(default_factory=list)
    """The scenario's remedies no control plane takes, tracked with owners."""


class CauseRule(_Strict):
    """The decision tree by cause: what to do, and what to advise people to do."""

    label: str
    actions: list[PlaybookStep] = Field(default_factory=list)
    advice: str
    tasks: list[TaskTemplate] = Field(default_factory=list)
    """The branch's remedies no control plane takes, tracked with owners."""
    tell_customers: bool = False
    """The branch needs a customer notice now (an external dependency failing)."""


class ContainmentRule(_Strict):
    """Who may approve, how fast, and how much autonomy each action gets."""

    approval_within: Duration
    approval_escalates_to: str
    approvers: list[str]
    autonomy: dict[ActionKind, Autonomy]
    org_autonomy: dict[str, dict[ActionKind, Autonomy]] = Field(default_factory=dict)
    deployment_autonomy: dict[str, dict[ActionKind, Autonomy]] = Field(default_factory=dict)
    degraded_mode: list[ActionKind]
    degraded_mode_autonomy: Autonomy
    playbooks: list[Playbook]
    causes: dict[str, CauseRule]

    @classmethod
    def recommend_only(cls) -> ContainmentRule:
        """For policies written before containment existed: propose, never act."""
        return cls(
            approval_within=timedelta(minutes=15),
            approval_escalates_to="Engineering Manager",
            approvers=["incident_commander", "technical_lead"],
            autonomy=dict.fromkeys(ActionKind, Autonomy.RECOMMEND),
            degraded_mode=[],
            degraded_mode_autonomy=Autonomy.RECOMMEND,
            playbooks=[],
            causes={},
        )

    def autonomy_for(
        self,
        kind: ActionKind,
        *,
        target: str,
        org: str | None,
        scope: TargetScope | None = None,
    ) -> Autonomy:
        """The most specific setting for ``kind`` acting on ``target`` in an incident of ``org``.

        An org-scoped action (denylist, scheduled triggers, an org-wide autonomy
        change) acts on the org its target names: that org's setting applies.
        A deployment-scoped one (rollback, autonomy, promotion): the target
        deployment's setting, then the incident's org's. A trigger: the
        incident's org's. Then the action's own setting. ``scope`` overrides
        what ``kind`` targets (``scope_of(kind, params)``).
        """
        scope = scope or kind.target_scope
        if scope is TargetScope.ORG:
            specific = [self.org_autonomy.get(target, {})]
        elif scope is TargetScope.DEPLOYMENT:
            specific = [
                self.deployment_autonomy.get(target, {}),
                self.org_autonomy.get(org, {}) if org else {},
            ]
        else:
            specific = [self.org_autonomy.get(org, {}) if org else {}]
        for settings in specific:
            if kind in settings:
                return settings[kind]
        return self.autonomy.get(kind, Autonomy.APPROVE)


class Policy(_Strict):
    """The whole response policy."""

    version: str
    severities: dict[Severity, SeverityRule]
    communication: CommunicationRule
    recovery: RecoveryRule
    action_item_slas: dict[Literal["P1", "P2", "P3", "P4"], Duration | None]
    escalation_triggers: dict[str, EscalationTrigger]
    routing: Routing
    business_hours: BusinessHours
    containment: ContainmentRule = Field(default_factory=ContainmentRule.recommend_only)
    """Incidents recorded before containment existed replay with recommend-only."""
    customers: CustomerRule = Field(default_factory=CustomerRule)
    """Policies written before customer communication existed get the runbooks' defaults."""
    checklists: ChecklistRule = Field(default_factory=ChecklistRule)
    """Policies written before checklists existed require only the root cause to resolve."""
    action_items: ActionItemRule = Field(default_factory=ActionItemRule)
    """Policies written before action-item reminders existed get the defaults."""
    deadlines: DeadlinesRule = Field(default_factory=DeadlinesRule)
    """Policies written before runbook deadlines existed get the runbooks' defaults."""
    unresolved_escalation: dict[Severity, list[UnresolvedStep]] = Field(
        default_factory=_seed_002_matrix
    )
    """Seed 002's escalation matrix: brought in while the incident is still unresolved
    (policies written before it existed get the runbook's)."""

    @model_validator(mode="after")
    def _complete(self) -> Policy:
        missing = [s.value for s in Severity if s not in self.severities]
        if missing:
            raise ValueError(f"severities must define every level; missing {', '.join(missing)}")
        seen: dict[str, Severity] = {}
        for severity, rule in self.severities.items():
            for alias in [severity.value, *rule.aliases]:
                key = alias.lower()
                if key in seen and seen[key] != severity:
                    raise ValueError(f"alias {alias!r} names both {seen[key]} and {severity}")
                seen[key] = severity
        return self

    def rule(self, severity: Severity) -> SeverityRule:
        """The rule for one severity."""
        return self.severities[severity]

    def severity_named(self, name: str) -> Severity | None:
        """Resolve ``P1``, ``SEV-2``, ``critical``... to a severity, or None."""
        key = name.strip().lower()
        for severity, rule in self.severities.items():
            if key == severity.value.lower() or key in (a.lower() for a in rule.aliases):
                return severity
        return self.routing.severity_values.get(key)

    def response_deadline(self, severity: Severity, declared_at: datetime) -> datetime:
        """When acknowledgement is due for an incident declared at ``declared_at``."""
        response = self.rule(severity).response_time
        if isinstance(response, timedelta):
            return declared_at + response
        return self._next_business_day(declared_at)

    def _next_business_day(self, moment: datetime) -> datetime:
        day = moment.date() + timedelta(days=1)
        while day.weekday() not in self.business_hours.weekdays:
            day += timedelta(days=1)
        return datetime.combine(day, self.business_hours.start_utc, tzinfo=moment.tzinfo)

    def compressed(self, factor: int) -> Policy:
        """This policy with every duration divided by ``factor`` (60: a minute becomes a second).

        For demonstrations only; the version says so, and incidents record it.
        """

        def shrink(value: object) -> object:
            if isinstance(value, timedelta):
                return value / factor
            if isinstance(value, dict):
                return {k: shrink(v) for k, v in value.items()}
            if isinstance(value, list):
                return [shrink(v) for v in value]
            return value

        data = shrink(self.model_dump())
        assert isinstance(data, dict)
        data["version"] = f"{self.version}+compressed-x{factor}"
        return Policy.model_validate(data)

    def action_item_due(self, priority: str, created_at: datetime) -> datetime | None:
        """Due date of an action item of ``priority`` (None for backlog items)."""
        sla = self.action_item_slas.get(priority)  # type: ignore[call-overload]
        return None if sla is None else created_at + sla


DEFAULT_POLICY_FILE = "default_policy.yaml"


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Parse policy YAML; raise PolicyError naming ``source``, the field and the reason."""
    return parse_document(text, source, Policy, PolicyError, "policy")


def load_policy(path: str | Path | None = None) -> Policy:
    """Load the policy at ``path``, or the shipped runbook defaults when None."""
    if path is None:
        text = resources.files("incident").joinpath(DEFAULT_POLICY_FILE).read_text()
        return parse_policy(text, f"incident/{DEFAULT_POLICY_FILE}")
    return parse_policy(*read_document(path, PolicyError, "policy"))


SHARED_POLICIES = 16
"""Distinct policies kept for sharing: a worker rarely sees more than its deploys' few."""
_shared: dict[str, Policy] = {}


def shared(policy: Policy) -> Policy:
    """The one object this process holds for a policy equal to ``policy``.

    Every incident a worker caches holds its policy (about 75 KiB of objects); most hold
    the same one, decoded anew from each history. A policy is frozen and read only, so
    equal ones are shared: the same answers, a fraction of the memory.
    """
    key = hashlib.sha256(policy.model_dump_json().encode()).hexdigest()
    kept = _shared.get(key)
    if kept is not None:
        return kept
    if len(_shared) >= SHARED_POLICIES:
        _shared.pop(next(iter(_shared)))
    _shared[key] = policy
    return policy
