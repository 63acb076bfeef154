"""What an incident keeps of its service's escalation policy, and who it has paged.

The directory (people, schedules, policies) lives outside the workflow: who is on
call is looked up when a page goes out, so a handoff between two levels pages the
new person. The incident keeps only the *shape* of the policy — how long each level
waits before the next, how many times the whole policy repeats — which its timers
are planned from, and the follow-ups each paged person's notification rules ask for.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Audience(StrEnum):
    """Who a notice is for; channels and people subscribe to audiences, nothing is broadcast."""

    ON_CALL = "on-call"
    """Pages: the on-call people of the service's escalation policy."""
    PEOPLE = "people"
    """Named people or positions: management steps, flags, approvers, the commander."""
    INCIDENT = "incident"
    """The service's incident channel: declarations, status updates, resolution."""
    EXECUTIVES = "executives"
    """Executive briefs."""
    CUSTOMERS = "customers"
    """Customer updates: the status page connectors and customer channels."""


class PagingLevel(_Model):
    """One level of the service's escalation policy, as the incident plans it."""

    targets: str
    """Who the level pages, as people read it ("schedule platform-primary")."""
    delay: timedelta
    """How long the level waits for an acknowledgement before the next one is paged."""


class PagingPlan(_Model):
    """The service's escalation policy at declaration: levels paged in turn until someone
    acknowledges, the whole run ``repeat`` more times."""

    directory_version: str
    service: str
    policy: str
    levels: list[PagingLevel] = Field(min_length=1)
    repeat: int = 0

    def compressed(self, factor: int) -> PagingPlan:
        """This plan with every delay divided by ``factor``, as ``Policy.compressed`` does for
        demonstrations."""
        levels = [level.model_copy(update={"delay": level.delay / factor}) for level in self.levels]
        return self.model_copy(update={"levels": levels})

    def steps(self) -> list[tuple[int, int, timedelta]]:
        """Every page the plan makes, as (round, level, when after declaration)."""
        steps = []
        at = timedelta(0)
        for round_ in range(self.repeat + 1):
            for index, level in enumerate(self.levels):
                steps.append((round_, index, at))
                at += level.delay
        return steps


class PlanAnswer(_Model):
    """The service's escalation policy, or why the incident pages by the severity's ladder."""

    plan: PagingPlan | None = None
    problem: str | None = None
    """Set when a directory is configured but has no policy for the incident's service."""


class FollowUp(_Model):
    """A paged person's next contact method, due unless someone acknowledges first."""

    key: str
    """Unique in the incident: the page it follows and the person's rule."""
    person: str
    """The person's handle."""
    name: str
    rule: int
    """Which of the person's notification rules (its index) to use."""
    via: str
    """The methods of that rule, as people read them ("sms, voice")."""
    due: datetime
    page: str
    """The key of the page this follows."""


class Reached(_Model):
    """One person a page reached (or tried to), as the notify activity reports it."""

    person: str
    name: str
    why: str = ""
    """Why this person ("on call for platform-primary", "VP Engineering")."""
    methods: list[str] = Field(default_factory=list)
    """The methods used, with their outcome ("email: delivered", "sms: refused (400)")."""
    delivered: bool
    next_rules: list[tuple[int, timedelta, str]] = Field(default_factory=list)
    """The person's later notification rules: (index, after the page, methods)."""
