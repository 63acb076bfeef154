"""The directory: people and how to reach them, teams, services, on-call schedules and
escalation policies, as validated data. Pure: no I/O, no clock.

A team keeps it in one YAML file (``WARROOM_DIRECTORY``); ``directory.load`` reads and
validates it, naming file, field and reason. Each incident records the ``version`` it
was paged under.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time, timedelta
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from incident.durations import Duration

Handle = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")
]
"""A person's, team's, schedule's or policy's key: lower case, digits, ``.``, ``_``, ``-``."""


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. 'Europe/Berlin')") from None
    return name


TimeZone = Annotated[str, AfterValidator(_zone)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContactKind(StrEnum):
    """How a person can be reached; each kind has one sender in ``activities.contact``."""

    EMAIL = "email"
    """An address, over SMTP."""
    SLACK = "slack"
    """A Slack member ID (``U…``): a direct message through the Web API ``chat.postMessage``."""
    SMS = "sms"
    """A phone number (E.164), through the SMS provider's webhook contract."""
    VOICE = "voice"
    """A phone number (E.164), called through the voice provider's webhook contract."""
    PAGERDUTY = "pagerduty"
    """A PagerDuty Events API v2 routing key: Warroom in front of an existing PagerDuty."""
    PUSH = "push"
    """Any notification URL apprise understands (ntfy, Pushover, Telegram, Teams, …)."""
    CONSOLE = "console"
    """Printed by the local stack's console channel: for the sample and demonstrations."""


class ContactMethod(_Strict):
    """One way to reach one person."""

    kind: ContactKind
    address: str = Field(min_length=1, max_length=2000)
    """The email address, Slack member ID, phone number, routing key or apprise URL."""
    label: str | None = None
    """How a person tells their methods apart ("work phone"); defaults to the kind."""

    @property
    def name(self) -> str:
        """The method as the timeline shows it: its label, or its kind."""
        return self.label or self.kind.value


class NotificationRule(_Strict):
    """Reach the person through ``via`` this long after they are paged, unless acknowledged."""

    after: Duration = timedelta(0)
    via: list[ContactKind] = Field(min_length=1)


class Person(_Strict):
    """Someone who can be paged."""

    name: str = Field(min_length=1, max_length=200)
    time_zone: TimeZone = "UTC"
    contact: list[ContactMethod] = Field(default_factory=list)
    notify: list[NotificationRule] = Field(default_factory=list)
    """When each method is used after a page; empty means every method at once."""

    @model_validator(mode="after")
    def _rules_use_known_methods(self) -> Person:
        kinds = {c.kind for c in self.contact}
        for rule in self.notify:
            missing = [k.value for k in rule.via if k not in kinds]
            if missing:
                raise ValueError(
                    f"notification rule after {rule.after} uses {', '.join(missing)}, "
                    "which this person has no contact method for"
                )
        afters = [r.after for r in self.notify]
        if afters != sorted(afters):
            raise ValueError("notification rules must be listed in order of 'after'")
        return self

    def methods_due(self) -> list[tuple[timedelta, list[ContactMethod]]]:
        """Which methods are used when after a page, soonest first."""
        if not self.notify:
            return [(timedelta(0), list(self.contact))] if self.contact else []
        return [
            (rule.after, [c for c in self.contact if c.kind in rule.via]) for rule in self.notify
        ]


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Restriction(_Strict):
    """When a layer is in force, in the schedule's time zone: ``days`` from ``start`` to ``end``.

    ``end`` at or before ``start`` runs past midnight into the next day.
    """

    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS[:5]), min_length=1)
    start: time
    end: time


class Layer(_Strict):
    """A rotation of people taking turns; a higher layer (listed later) wins where it is set."""

    name: str = Field(min_length=1, max_length=100)
    rotation: Literal["daily", "weekly", "custom"] = "weekly"
    turn: Duration | None = None
    """The length of one turn of a ``custom`` rotation (e.g. ``12h``)."""
    handoff: time = time(9, 0)
    """Local wall-clock time of each handoff (daylight-saving correct)."""
    start: date
    """The day the first member's first turn begins, at ``handoff``."""
    members: list[Handle] = Field(min_length=1)
    restrictions: list[Restriction] = Field(default_factory=list)
    """When set, the layer covers only these windows; outside them a lower layer answers."""

    @model_validator(mode="after")
    def _turn_matches_rotation(self) -> Layer:
        if (self.rotation == "custom") != (self.turn is not None):
            raise ValueError("'turn' is required for a custom rotation and only for one")
        if self.turn is not None and self.turn < timedelta(hours=1):
            raise ValueError("a custom turn is at least 1h")
        return self


class Override(_Strict):
    """``person`` is on call from ``start`` to ``end`` instead of whoever the layers name."""

    person: Handle
    start: AwareDatetime
    end: AwareDatetime
    note: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> Override:
        if self.end <= self.start:
            raise ValueError("an override ends after it starts")
        return self


class Schedule(_Strict):
    """Who is on call when: layers of rotations, overrides on top, in one time zone."""

    time_zone: TimeZone = "UTC"
    layers: list[Layer] = Field(default_factory=list)
    """Lowest first: a later layer answers wherever it is in force."""
    overrides: list[Override] = Field(default_factory=list)
    ical: list[str] = Field(default_factory=list)
    """iCalendar feeds (file paths or URLs) whose events are overrides: the summary or the
    attendee names the person."""


class Target(_Strict):
    """Who an escalation level pages: exactly one of a schedule, a person or a team."""

    schedule: Handle | None = None
    person: Handle | None = None
    team: Handle | None = None
    """Every schedule of the team ("page all on-call")."""

    @model_validator(mode="after")
    def _exactly_one(self) -> Target:
        if sum(x is not None for x in (self.schedule, self.person, self.team)) != 1:
            raise ValueError("a target names exactly one of schedule, person or team")
        return self


class EscalationLevel(_Strict):
    """Page ``targets``; the next level follows ``delay`` later unless acknowledged."""

    targets: list[Target] = Field(min_length=1)
    delay: Duration = timedelta(minutes=30)


class EscalationPolicy(_Strict):
    """Levels paged in turn until someone acknowledges, the whole run ``repeat`` more times."""

    levels: list[EscalationLevel] = Field(min_length=1)
    repeat: int = Field(default=0, ge=0, le=9)


class Team(_Strict):
    """People who share schedules and own services."""

    name: str = Field(min_length=1, max_length=200)
    members: list[Handle] = Field(default_factory=list)
    schedules: list[Handle] = Field(default_factory=list)


class Service(_Strict):
    """Something an alert can name (its ``service`` label): who owns it, how they are paged."""

    team: Handle
    escalation_policy: Handle
    channel: str | None = None
    """The service's incident channel (a Slack channel ID or name) for declarations and
    status updates."""


class DanglingReferences(ValueError):
    """Names in the directory that name nothing: each problem is a dotted field and a reason."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in problems))


class Directory(_Strict):
    """The whole directory; every name in it names something in it (``DanglingReferences``)."""

    version: str = Field(min_length=1, max_length=100)
    people: dict[Handle, Person] = Field(default_factory=dict)
    teams: dict[Handle, Team] = Field(default_factory=dict)
    schedules: dict[Handle, Schedule] = Field(default_factory=dict)
    escalation_policies: dict[Handle, EscalationPolicy] = Field(default_factory=dict)
    services: dict[str, Service] = Field(default_factory=dict)
    positions: dict[str, list[Handle]] = Field(default_factory=dict)
    """Named positions of the policy's management ladder and flags ("VP Engineering",
    "Legal/Compliance", "Executive updates") and the people who hold them."""
    default_service: str | None = None
    """The service an incident without a known service is paged for."""

    @model_validator(mode="after")
    def _references_resolve(self) -> Directory:
        problems: list[tuple[str, str]] = []

        def check(field: str, name: str | None, kinds: Mapping[str, object], what: str) -> None:
            if name is not None and name not in kinds:
                problems.append((field, f"{name!r} is not {what}"))

        for key, team in self.teams.items():
            for handle in team.members:
                check(f"teams.{key}.members", handle, self.people, "a person")
            for name in team.schedules:
                check(f"teams.{key}.schedules", name, self.schedules, "a schedule")
        for key, schedule in self.schedules.items():
            for i, layer in enumerate(schedule.layers):
                for handle in layer.members:
                    check(f"schedules.{key}.layers.{i}.members", handle, self.people, "a person")
            for i, override in enumerate(schedule.overrides):
                check(
                    f"schedules.{key}.overrides.{i}.person",
                    override.person,
                    self.people,
                    "a person",
                )
        for key, policy in self.escalation_policies.items():
            for i, level in enumerate(policy.levels):
                for j, target in enumerate(level.targets):
                    where = f"escalation_policies.{key}.levels.{i}.targets.{j}"
                    check(f"{where}.schedule", target.schedule, self.schedules, "a schedule")
                    check(f"{where}.person", target.person, self.people, "a person")
                    check(f"{where}.team", target.team, self.teams, "a team")
        for name, service in self.services.items():
            check(f"services.{name}.team", service.team, self.teams, "a team")
            check(
                f"services.{name}.escalation_policy",
                service.escalation_policy,
                self.escalation_policies,
                "an escalation policy",
            )
        for position, holders in self.positions.items():
            for handle in holders:
                check(f"positions.{position}", handle, self.people, "a person")
        check("default_service", self.default_service, self.services, "a service")
        if problems:
            raise DanglingReferences(problems)
        return self

    def person(self, handle: str) -> Person | None:
        """The person with ``handle``, or None."""
        return self.people.get(handle)


__all__ = [
    "WEEKDAYS",
    "ContactKind",
    "ContactMethod",
    "DanglingReferences",
    "Directory",
    "EscalationLevel",
    "EscalationPolicy",
    "Handle",
    "Layer",
    "NotificationRule",
    "Override",
    "Person",
    "Restriction",
    "Schedule",
    "Service",
    "Target",
    "Team",
    "Weekday",
]
