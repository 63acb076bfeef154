"""Who is on call when: the arithmetic of schedules, and who an escalation level pages.

Pure: every function takes the instant it answers for. Instants are aware
datetimes; answers come back in UTC. Local times are read in the schedule's
time zone, so daylight saving moves no handoff: a weekly rotation handing off
at 09:00 Europe/Berlin hands off at 09:00 on both sides of a change.

A local wall-clock time means the first instant the clock reads it or later:
on an autumn night the first of the two 02:30s, and on a spring night a
02:30 the clock skips is the instant it jumps past it.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from directory.models import (
    WEEKDAYS,
    Directory,
    EscalationPolicy,
    Layer,
    Override,
    Restriction,
    Schedule,
    Service,
    Target,
)

HANDOFF_HORIZON = timedelta(days=366)
"""How far ahead ``handoffs`` looks for changes before it stops."""
_ONE_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Handoff:
    """At ``at`` (UTC), on call changes from ``from_handle`` to ``to_handle`` (None: nobody)."""

    at: datetime
    from_handle: str | None
    to_handle: str | None


class NoSuchService(LookupError):
    """The directory has no such service and no default service to page instead."""


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at!r} has no time zone: pass an aware datetime")
    return at.astimezone(UTC)


def local_instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) at which the clock in ``zone`` reads ``wall`` on ``day`` or later.

    An ambiguous time (the clock goes back) is its first occurrence; a time the
    clock skips (it goes forward) is the instant it jumps past it.
    """
    naive = datetime.combine(day, wall.replace(tzinfo=None))
    later = naive.replace(tzinfo=zone).astimezone(UTC)
    if later.astimezone(zone).replace(tzinfo=None) == naive:
        return later
    # Skipped: the clock reads before ``naive`` at ``earlier`` and after it at ``later``;
    # the jump is the first instant in between whose reading is at least ``naive``.
    earlier = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    while later - earlier > _ONE_MICROSECOND:
        middle = earlier + (later - earlier) // 2
        if middle.astimezone(zone).replace(tzinfo=None) >= naive:
            later = middle
        else:
            earlier = middle
    return later


# --- layers ---------------------------------------------------------------------


def _turn_days(layer: Layer) -> int | None:
    return {"daily": 1, "weekly": 7}.get(layer.rotation)


def turn_start(layer: Layer, zone: ZoneInfo, index: int) -> datetime:
    """When turn ``index`` of ``layer`` begins (turn 0 is the first member's first)."""
    days = _turn_days(layer)
    if days is None:
        assert layer.turn is not None  # a custom rotation has one (Layer checks)
        return local_instant(layer.start, layer.handoff, zone) + index * layer.turn
    return local_instant(layer.start + timedelta(days=index * days), layer.handoff, zone)


def turn_at(layer: Layer, zone: ZoneInfo, at: datetime) -> int | None:
    """The index of ``layer``'s turn at ``at``; None before its first handoff."""
    at = _utc(at)
    first = turn_start(layer, zone, 0)
    if at < first:
        return None
    days = _turn_days(layer)
    if days is None:
        assert layer.turn is not None
        return (at - first) // layer.turn
    index = max((at.astimezone(zone).date() - layer.start).days // days, 0)
    # The local date is a guess off by at most one turn around the handoff time.
    while index > 0 and at < turn_start(layer, zone, index):
        index -= 1
    while at >= turn_start(layer, zone, index + 1):
        index += 1
    return index


def _window(restriction: Restriction, zone: ZoneInfo, day: date) -> tuple[datetime, datetime]:
    """The instants the window opening on local ``day`` opens and closes."""
    closes_on = day + timedelta(days=1) if restriction.end <= restriction.start else day
    return (
        local_instant(day, restriction.start, zone),
        local_instant(closes_on, restriction.end, zone),
    )


def _within(restriction: Restriction, zone: ZoneInfo, at: datetime) -> bool:
    today = at.astimezone(zone).date()
    for day in (today - timedelta(days=1), today):  # a window is at most a day (and an hour)
        if WEEKDAYS[day.weekday()] in restriction.days:
            opens, closes = _window(restriction, zone, day)
            if opens <= at < closes:
                return True
    return False


def layer_on_call(layer: Layer, zone: ZoneInfo, at: datetime) -> str | None:
    """Who ``layer`` names at ``at``: None before its first handoff or outside its restrictions."""
    at = _utc(at)
    if layer.restrictions and not any(_within(r, zone, at) for r in layer.restrictions):
        return None
    index = turn_at(layer, zone, at)
    return None if index is None else layer.members[index % len(layer.members)]


# --- schedules ------------------------------------------------------------------


def on_call(schedule: Schedule, at: datetime) -> str | None:
    """The handle on call on ``schedule`` at ``at`` (aware), or None when nobody is.

    An override covering ``at`` wins (the one listed last, if several do); then
    the highest layer (listed last) in force at ``at``; then the layers below it.
    """
    at = _utc(at)
    for override in reversed(schedule.overrides):
        if override.start <= at < override.end:
            return override.person
    zone = ZoneInfo(schedule.time_zone)
    for layer in reversed(schedule.layers):
        holder = layer_on_call(layer, zone, at)
        if holder is not None:
            return holder
    return None


def _turn_starts(layer: Layer, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    current = turn_at(layer, zone, after)
    index = 0 if current is None else current + 1
    while True:
        yield turn_start(layer, zone, index)
        index += 1


def _window_edges(restriction: Restriction, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    # In order: a local time maps to its instant without ever going back.
    day = after.astimezone(zone).date() - timedelta(days=1)
    while True:
        if WEEKDAYS[day.weekday()] in restriction.days:
            yield from _window(restriction, zone, day)
        day += timedelta(days=1)


def boundaries(schedule: Schedule, after: datetime) -> Iterator[datetime]:
    """Every instant after ``after`` at which who is on call may change, in order.

    Turn starts, restriction windows opening and closing, overrides starting
    and ending: between two of these, ``on_call`` gives one answer.
    """
    after = _utc(after)
    zone = ZoneInfo(schedule.time_zone)
    streams: list[Iterable[datetime]] = [
        sorted(_utc(t) for o in schedule.overrides for t in (o.start, o.end))
    ]
    for layer in schedule.layers:
        streams.append(_turn_starts(layer, zone, after))
        streams += [_window_edges(r, zone, after) for r in layer.restrictions]
    last: datetime | None = None
    for instant in heapq.merge(*streams):
        if instant > after and instant != last:
            last = instant
            yield instant


def handoffs(
    schedule: Schedule, after: datetime, count: int, *, within: timedelta = HANDOFF_HORIZON
) -> list[Handoff]:
    """The next ``count`` changes of who is on call after ``after``, looking ``within`` ahead.

    Overrides and restrictions count: a handoff may be to or from nobody (None).
    """
    after = _utc(after)
    until = after + within
    found: list[Handoff] = []
    holder = on_call(schedule, after)
    if count <= 0:
        return found
    for instant in boundaries(schedule, after):
        if instant > until:
            break
        now = on_call(schedule, instant)
        if now != holder:
            found.append(Handoff(instant, holder, now))
            holder = now
            if len(found) == count:
                break
    return found


def merge_overrides(
    directory: Directory, extra: Mapping[str, Iterable[Override]]
) -> tuple[Directory, list[str]]:
    """``directory`` with ``extra`` overrides (by schedule) after each schedule's own.

    Listed after, they win where they overlap. An override for a schedule or a
    person the directory no longer has is left out and named in the problems
    returned beside the directory.
    """
    problems: list[str] = []
    schedules = dict(directory.schedules)
    for name, overrides in extra.items():
        kept = []
        for override in overrides:
            if name not in schedules:
                problems.append(f"override for {override.person}: no schedule {name!r}")
            elif override.person not in directory.people:
                problems.append(f"override on {name}: {override.person!r} is not a person")
            else:
                kept.append(override)
        if kept:
            schedule = schedules[name]
            schedules[name] = schedule.model_copy(
                update={"overrides": [*schedule.overrides, *kept]}
            )
    return directory.model_copy(update={"schedules": schedules}), problems


# --- who a page reaches -----------------------------------------------------------


def _unique(handles: Iterable[str | None]) -> list[str]:
    return [h for h in dict.fromkeys(handles) if h is not None]


def resolve(directory: Directory, target: Target, at: datetime) -> list[str]:
    """The handles ``target`` reaches at ``at``.

    A schedule: whoever is on call on it (nobody: empty). A person: that
    person. A team: whoever is on call on each of its schedules, each once, in
    the order of the team's schedules.
    """
    if target.person is not None:
        return [target.person]
    if target.schedule is not None:
        return _unique([on_call(directory.schedules[target.schedule], at)])
    assert target.team is not None  # a target names exactly one (Target checks)
    team = directory.teams[target.team]
    return _unique(on_call(directory.schedules[name], at) for name in team.schedules)


def service_named(directory: Directory, name: str | None) -> tuple[str, Service]:
    """The service ``name`` with its name, or the default service when there is no such one.

    Raises NoSuchService when neither exists.
    """
    if name is not None and name in directory.services:
        return name, directory.services[name]
    if directory.default_service is not None:
        return directory.default_service, directory.services[directory.default_service]
    raise NoSuchService(
        f"the directory has no service {name!r} and no default_service"
        if name is not None
        else "no service named and the directory has no default_service"
    )


def escalation_policy(directory: Directory, service: str | None) -> EscalationPolicy:
    """The escalation policy that pages for ``service`` (or the default service)."""
    _, found = service_named(directory, service)
    return directory.escalation_policies[found.escalation_policy]


def page_targets(
    directory: Directory, service: str | None, level_index: int, at: datetime
) -> list[str]:
    """Who level ``level_index`` (0 is the first) of ``service``'s escalation policy pages
    at ``at``.

    Each handle once, in the order of the level's targets. A level past the
    last raises IndexError: the caller counts the policy's ``repeat``.
    """
    level = escalation_policy(directory, service).levels[level_index]
    return _unique(h for target in level.targets for h in resolve(directory, target, at))


def all_on_call(directory: Directory, service: str | None, at: datetime) -> list[tuple[str, str]]:
    """Everyone on call at ``at`` on a schedule of the team owning ``service`` ("All on-call").

    Each as ``(handle, schedule)``, once, with the first of the team's schedules
    they are on call for.
    """
    _, found = service_named(directory, service)
    seen: dict[str, str] = {}
    for name in directory.teams[found.team].schedules:
        holder = on_call(directory.schedules[name], at)
        if holder is not None:
            seen.setdefault(holder, name)
    return list(seen.items())


def position_holders(directory: Directory, position: str) -> list[str]:
    """Who holds ``position`` ("VP Engineering"); the name is matched ignoring case."""
    if position in directory.positions:
        return list(directory.positions[position])
    wanted = position.strip().casefold()
    for name, holders in directory.positions.items():
        if name.casefold() == wanted:
            return list(holders)
    return []


__all__ = [
    "HANDOFF_HORIZON",
    "Handoff",
    "NoSuchService",
    "all_on_call",
    "boundaries",
    "escalation_policy",
    "handoffs",
    "layer_on_call",
    "local_instant",
    "merge_overrides",
    "on_call",
    "page_targets",
    "position_holders",
    "resolve",
    "service_named",
    "turn_at",
    "turn_start",
]
