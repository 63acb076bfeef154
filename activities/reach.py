"""Who a notice is for, looked up in the directory when it goes out.

The workflow knows levels and audiences, never people: a page names a level
of the service's escalation policy, and this module finds who is on call for
it *now*, so a handoff between two levels pages the new person.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio import activity

from directory.models import ContactMethod, Directory, Person, Target
from directory.oncall import (
    NoSuchService,
    all_on_call,
    escalation_policy,
    position_holders,
    resolve,
    service_named,
)
from incident.escalation import Audience, PagingLevel, PagingPlan, PlanAnswer
from incident.notices import Notice
from incident.rules.reach import ALL_ON_CALL

SEVERITY_LADDER_LEVELS = {"Primary on-call": 0, "Secondary on-call": 1}
"""The policy's paging-step names that mean a level of the service's escalation policy."""

DirectorySource = Callable[[], Awaitable[Directory | None]]
"""The directory in force, overrides merged (re-read as it changes), or None when none is
configured."""


async def no_directory() -> Directory | None:
    """No directory is configured: pages follow the severity's ladder, to channels."""
    return None


@dataclass
class Recipient:
    """One person a notice goes to, through which methods, and why them."""

    handle: str
    person: Person
    why: str
    methods: list[ContactMethod]
    later: list[tuple[int, timedelta, list[ContactMethod]]] = field(default_factory=list)
    """The person's later notification rules: (index, after the page, methods)."""


def describe_targets(targets: list[Target]) -> str:
    """A level's targets as people read them: ``schedule primary, person dana``."""
    return ", ".join(
        f"schedule {t.schedule}"
        if t.schedule
        else f"team {t.team}"
        if t.team
        else f"person {t.person}"
        for t in targets
    )


def paging_plan(directory: Directory | None, service: str | None) -> PlanAnswer:
    """The service's escalation policy as the incident plans its pages."""
    if directory is None:
        return PlanAnswer()
    try:
        name, found = service_named(directory, service)
    except NoSuchService as err:
        return PlanAnswer(problem=f"{err} (directory {directory.version})")
    policy = directory.escalation_policies[found.escalation_policy]
    return PlanAnswer(
        plan=PagingPlan(
            directory_version=directory.version,
            service=name,
            policy=found.escalation_policy,
            levels=[
                PagingLevel(targets=describe_targets(level.targets), delay=level.delay)
                for level in policy.levels
            ],
            repeat=policy.repeat,
        )
    )


def recipients(directory: Directory, notice: Notice, at: datetime) -> list[Recipient]:
    """Everyone ``notice`` goes to, each once, with the methods to use now."""
    if notice.person is not None:  # a follow-up: one person, through one of their rules
        person = directory.person(notice.person)
        if person is None:
            return []
        due = person.methods_due()
        rule = notice.rule or 0
        methods = due[rule][1] if rule < len(due) else []
        return [Recipient(notice.person, person, "not acknowledged yet", methods)]
    found: dict[str, str] = {}
    if notice.to is Audience.ON_CALL:
        found = _on_call(directory, notice, at)
    elif notice.to in (Audience.PEOPLE, Audience.EXECUTIVES):
        found = _named(directory, notice.audience)
    people = []
    for handle, why in found.items():
        person = directory.person(handle)
        if person is None:
            continue
        due = person.methods_due()
        first = due[0][1] if due else []
        later = [(i, after, methods) for i, (after, methods) in enumerate(due) if i > 0]
        people.append(Recipient(handle, person, why, first, later))
    return people


def _on_call(directory: Directory, notice: Notice, at: datetime) -> dict[str, str]:
    """Who is paged: the level's targets (or the whole team's on-call for "All on-call").

    Nobody, when the directory knows neither the incident's service nor a default one:
    the page then goes to the channels serving on-call pages, and the timeline says so."""
    service = notice.incident.service
    level = notice.level
    if level is None:  # the severity's own ladder: a name for a level, or a position
        level = SEVERITY_LADDER_LEVELS.get(notice.audience)
        if level is None and notice.audience != ALL_ON_CALL:
            return _named(directory, notice.audience)
    found: dict[str, str] = {}
    try:
        if notice.audience == ALL_ON_CALL:
            for handle, schedule in all_on_call(directory, service, at):
                found.setdefault(handle, f"on call for {schedule}")
        levels = escalation_policy(directory, service).levels
    except NoSuchService:
        return found
    if level is not None and level < len(levels):
        for target in levels[level].targets:
            why = f"level {level + 1}: " + describe_targets([target])
            for handle in resolve(directory, target, at):
                found.setdefault(handle, why)
    return found


def _named(directory: Directory, name: str) -> dict[str, str]:
    """A position's holders, or the person a handle or a name names."""
    holders = position_holders(directory, name)
    if holders:
        return dict.fromkeys(holders, name)
    if directory.person(name) is not None:
        return {name: ""}
    for handle, person in directory.people.items():
        if person.name == name:
            return {handle: ""}
    return {}


class ReachActivities:
    """Looks the directory up for the incident."""

    def __init__(self, directory: DirectorySource, compression: int = 1) -> None:
        self._directory = directory
        self._compression = compression

    @activity.defn(name="reach.paging_plan")
    async def paging_plan(self, service: str | None) -> PlanAnswer:
        """The escalation policy of ``service`` (or the directory's default service); its
        delays compressed like the worker's policy, for demonstrations."""
        answer = paging_plan(await self._directory(), service)
        if answer.plan is not None and self._compression != 1:
            answer.plan = answer.plan.compressed(self._compression)
        return answer
