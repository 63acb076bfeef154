"""`warroom oncall`, `warroom override` and `warroom directory`: who is on call, and the file.

The directory file is ``WARROOM_DIRECTORY``, else the one `warroom up` pages
in this folder. Who is on call is read from it with its iCal feeds and the
overrides stored in Postgres (when a database is set up; without one, from the
file and its feeds alone, and the CLI says so). Times
are given as ISO 8601 (``2026-03-04T09:00``, local unless an offset is given),
``now``, or an offset from now (``+2h``, ``-30m``, ``+1d12h``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import click

from activities.directory import LiveDirectory
from activities.overrides import StoredOverride, add_override, list_overrides, remove_override
from directory.load import DirectoryError, load_directory, unfilled_positions
from directory.models import Directory, Person, Schedule, Service, Target
from directory.oncall import Handoff, handoffs, on_call, resolve
from incident.durations import format_duration, parse_duration
from incident.policy import PolicyError, load_policy
from starter.cli import render
from starter.cli.base import (
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    Context,
    database_errors,
    fail,
    pass_context,
    run_async,
)

HANDOFFS_SHOWN = 3
"""Handoffs `warroom oncall` shows per schedule."""
_OFFSET = re.compile(r"^([+-])\s*(\d.*)$")
_A_MINUTE = timedelta(minutes=1)


# --- times ------------------------------------------------------------------------


def parse_time(text: str, now: datetime) -> datetime:
    """``now``, ``+2h``/``-30m`` from ``now``, or ISO 8601 (local time when it has no offset)."""
    value = text.strip()
    if value.lower() == "now":
        return now
    offset = _OFFSET.match(value)
    if offset:
        try:
            delta = parse_duration(offset.group(2))
        except ValueError:
            raise ValueError(
                f"{text!r} is not an offset; write a sign, a number and a unit, e.g. +2h or -30m"
            ) from None
        return now + delta if offset.group(1) == "+" else now - delta
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time; use ISO 8601 (2026-03-04T09:00, 2026-03-04T09:00+01:00), "
            "'now' or an offset such as +2h"
        ) from None
    return moment.astimezone() if moment.tzinfo is None else moment


def when(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """A click callback: a time on the command line (ISO 8601, ``now`` or ``+2h``)."""
    if value is None:
        return None
    try:
        return parse_time(value, datetime.now(UTC))
    except ValueError as err:
        raise click.BadParameter(str(err), ctx=ctx, param=param) from None


def relative(delta: timedelta) -> str:
    """``in 3 h 20 min``, ``in 2 d 4 h``, ``5 min ago``, ``now``: how far off, at a glance."""
    seconds = int(delta.total_seconds())
    minutes = abs(seconds) // 60
    if minutes == 0:
        return "now"
    if minutes < 60:
        text = f"{minutes} min"
    elif minutes < 24 * 60:
        hours, rest = divmod(minutes, 60)
        text = f"{hours} h" + (f" {rest} min" if rest else "")
    else:
        days, rest = divmod(minutes, 24 * 60)
        text = f"{days} d" + (f" {rest // 60} h" if rest >= 60 else "")
    return f"in {text}" if seconds > 0 else f"{text} ago"


def local_time(moment: datetime, zone: str, *, now: datetime) -> str:
    """``Mon 07 Dec 09:00 GMT`` in ``zone`` (the year too when it is not this one)."""
    local = moment.astimezone(ZoneInfo(zone))
    year = "" if local.year == now.astimezone(ZoneInfo(zone)).year else f" {local.year}"
    return f"{local:%a %d %b}{year} {local:%H:%M %Z}"


# --- the directory ------------------------------------------------------------------


def directory_file(ctx: Context, given: str | None = None) -> Path:
    """The directory file: ``given``, WARROOM_DIRECTORY or `warroom up`'s; else a usage error."""
    if given:
        return Path(given).expanduser()
    found = ctx.directory_path()
    if found is not None:
        return found
    fail(
        EXIT_USAGE,
        "no directory: set WARROOM_DIRECTORY to your directory file "
        "(starter/sample_directory.yaml shows one) or run `warroom up` in this directory",
    )


def read_directory(ctx: Context, given: str | None = None) -> Directory:
    """The directory file as it is, refused (exit 2) naming file, field and reason."""
    try:
        return load_directory(directory_file(ctx, given))
    except DirectoryError as err:
        fail(EXIT_USAGE, str(err))


def stored_overrides_database(ctx: Context) -> str | None:
    """The database with the stored overrides, when one is set up (DATABASE_URL, `warroom up`)."""
    if ctx.settings.database_url or (ctx.settings.home / "database_url").exists():
        return ctx.database_url()
    return None


async def current_directory(ctx: Context, at: datetime) -> Directory:
    """The directory with its feeds and stored overrides merged; what could not be, on stderr."""
    url = stored_overrides_database(ctx)
    directories = LiveDirectory(directory_file(ctx), database_url=url)
    try:
        merged = await directories.current(at)
    except DirectoryError as err:
        fail(EXIT_USAGE, str(err))
    finally:
        await directories.close()
    notes = list(directories.problems)
    if url is None:
        notes.append(
            "no database set up (DATABASE_URL): overrides stored with `warroom override` "
            "are not included"
        )
    for note in notes:
        click.echo(click.style("note: ", fg="yellow") + note, err=True)
    return merged


def _who(directory: Directory, handle: str | None) -> str:
    if handle is None:
        return click.style("nobody", fg="red", bold=True)
    person = directory.person(handle)
    return f"{person.name} ({handle})" if person else handle


def _target_name(target: Target) -> str:
    if target.schedule is not None:
        return f"schedule {target.schedule}"
    if target.person is not None:
        return f"person {target.person}"
    return f"team {target.team} (all on call)"


# --- warroom oncall -----------------------------------------------------------------


def _schedules_of(directory: Directory, service: Service) -> list[str]:
    """The owning team's schedules, then any other its escalation policy pages."""
    names = list(directory.teams[service.team].schedules)
    for level in directory.escalation_policies[service.escalation_policy].levels:
        for target in level.targets:
            if target.schedule is not None:
                names.append(target.schedule)
            if target.team is not None:
                names += directory.teams[target.team].schedules
    return list(dict.fromkeys(names))


def _schedule_view(
    directory: Directory, name: str, at: datetime
) -> tuple[dict[str, Any], list[str]]:
    """Who is on call on ``name`` at ``at`` and the handoffs after it, how far off from ``at``."""
    schedule = directory.schedules[name]
    holder = on_call(schedule, at)
    upcoming = handoffs(schedule, at, HANDOFFS_SHOWN)
    rotation = ", ".join(layer.rotation for layer in schedule.layers) or "overrides only"
    lines = [click.style(name, bold=True) + f"  ({rotation}, {schedule.time_zone})"]
    until = (
        f"  until {local_time(upcoming[0].at, schedule.time_zone, now=at)}"
        f" ({relative(upcoming[0].at - at)})"
        if upcoming
        else ""
    )
    lines.append(f"  on call   {_who(directory, holder)}{until}")
    for handoff in upcoming:
        lines.append(
            f"  {local_time(handoff.at, schedule.time_zone, now=at):<22} "
            f"{relative(handoff.at - at):<14} {handoff.from_handle or 'nobody'} → "
            f"{handoff.to_handle or 'nobody'}"
        )
    data = {
        "schedule": name,
        "time_zone": schedule.time_zone,
        "on_call": holder,
        "handoffs": [_handoff_json(h, schedule, at) for h in upcoming],
    }
    return data, lines


def _handoff_json(handoff: Handoff, schedule: Schedule, now: datetime) -> dict[str, Any]:
    return {
        "at": handoff.at.isoformat(),
        "local": handoff.at.astimezone(ZoneInfo(schedule.time_zone)).isoformat(),
        "from": handoff.from_handle,
        "to": handoff.to_handle,
        "in_seconds": int((handoff.at - now).total_seconds()),
    }


def _escalation_view(
    directory: Directory, service: Service, at: datetime
) -> tuple[dict[str, Any], list[str]]:
    policy = directory.escalation_policies[service.escalation_policy]
    repeats = {0: "no repeat", 1: "repeated once"}.get(policy.repeat, f"{policy.repeat} repeats")
    lines = [click.style(f"escalation {service.escalation_policy}", bold=True) + f"  ({repeats})"]
    levels = []
    for number, level in enumerate(policy.levels, start=1):
        targets = []
        for target in level.targets:
            reached = resolve(directory, target, at)
            targets.append({**target.model_dump(exclude_none=True), "reaches": reached})
            who = ", ".join(_who(directory, h) for h in reached) or _who(directory, None)
            lines.append(f"  level {number}  {_target_name(target):<28} → {who}")
        last = number == len(policy.levels)
        then = (
            ("then from level 1 again" if policy.repeat else "then no one more")
            if last
            else f"then level {number + 1}"
        )
        lines.append(f"           unacknowledged after {format_duration(level.delay)}: {then}")
        levels.append({"level": number, "delay": format_duration(level.delay), "targets": targets})
    data = {"policy": service.escalation_policy, "repeat": policy.repeat, "levels": levels}
    return data, lines


@click.command("oncall")
@click.argument("service", required=False)
@click.option(
    "--at", metavar="TIME", callback=when, default="now", show_default=True, help="When to look."
)
@pass_context
@run_async
async def oncall(ctx: Context, service: str | None, at: datetime) -> None:
    """Who is on call for SERVICE (or on every schedule), who each level pages, and the next
    handoffs.

    Times are the schedule's own, with how far off they are (from --at, now by default).
    """
    now, at = datetime.now(UTC), at.astimezone(UTC)
    directory = await current_directory(ctx, at)
    found: Service | None = None
    if service is not None:
        found = directory.services.get(service)
        if found is None:
            fail(
                EXIT_USAGE,
                f"no service {service!r} in the directory; services: "
                f"{', '.join(sorted(directory.services)) or 'none'}",
            )
        names = _schedules_of(directory, found)
        lines = [
            click.style(service, bold=True)
            + f"  team {found.team}, escalation {found.escalation_policy}"
            + (f", channel {found.channel}" if found.channel else ""),
        ]
    else:
        names = list(directory.schedules)
        lines = []
    lines.append(
        f"at {render.when(at)}" + ("" if abs(at - now) < _A_MINUTE else f" ({relative(at - now)})")
    )
    schedules = []
    for name in names:
        data, shown = _schedule_view(directory, name, at)
        schedules.append(data)
        lines += ["", *shown]
    if not names:
        lines.append("no schedules in the directory")
    escalation = None
    if found is not None:
        escalation, shown = _escalation_view(directory, found, at)
        lines += ["", *shown]
    ctx.out(
        {
            "at": at.isoformat(),
            "service": service,
            "schedules": schedules,
            "escalation": escalation,
        },
        "\n".join(lines),
    )


# --- warroom override ------------------------------------------------------------------


class _AddByDefault(click.Group):
    """`warroom override SCHEDULE PERSON ...` adds; `list` and `remove` are named."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["add", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_AddByDefault)
def override() -> None:
    """Put someone on call instead: `warroom override SCHEDULE PERSON --from T --to T`.

    Stored in Postgres; it wins over the directory file and its iCal feeds.
    `warroom override list [SCHEDULE]` shows them, `warroom override remove ID`
    takes one back.
    """


def _zone_of(directory: Directory | None, schedule: str) -> str:
    if directory is not None and schedule in directory.schedules:
        return directory.schedules[schedule].time_zone
    return "UTC"


def _stored_line(stored: StoredOverride, zone: str, now: datetime) -> list[str]:
    return [
        f"#{stored.id}",
        stored.schedule,
        stored.person,
        local_time(stored.starts_at, zone, now=now),
        local_time(stored.ends_at, zone, now=now),
        stored.created_by,
        stored.note or "-",
    ]


@override.command("add")
@click.argument("schedule")
@click.argument("person")
@click.option("--from", "starts", metavar="TIME", callback=when, default="now", show_default=True)
@click.option("--to", "ends", metavar="TIME", callback=when, required=True, help="e.g. +8h")
@click.option("--note", default="", help="Why; shown beside the override.")
@pass_context
@run_async
async def override_add(
    ctx: Context, schedule: str, person: str, starts: datetime, ends: datetime, note: str
) -> None:
    """Put PERSON on call on SCHEDULE from --from to --to."""
    actor = ctx.actor
    directory = read_directory(ctx)
    if schedule not in directory.schedules:
        fail(
            EXIT_USAGE,
            f"no schedule {schedule!r} in the directory; schedules: "
            f"{', '.join(sorted(directory.schedules)) or 'none'}",
        )
    if person not in directory.people:
        fail(EXIT_USAGE, f"{person!r} is not a person in the directory (give their handle)")
    if ends <= starts:
        fail(EXIT_USAGE, "--to must be after --from")
    url = ctx.database_url()
    with database_errors(url):
        conn = await asyncpg.connect(url)
        try:
            stored = await add_override(
                conn,
                schedule=schedule,
                person=person,
                starts_at=starts,
                ends_at=ends,
                created_by=actor,
                note=note,
            )
        finally:
            await conn.close()
    zone = directory.schedules[schedule].time_zone
    now = datetime.now(UTC)
    ctx.out(
        stored.as_json(),
        f"override #{stored.id}: {_who(directory, person)} on call for {schedule} "
        f"from {local_time(starts, zone, now=now)} ({relative(starts - now)}) "
        f"to {local_time(ends, zone, now=now)}" + (f" — {note}" if note else ""),
    )


@override.command("list")
@click.argument("schedule", required=False)
@click.option("--all", "everything", is_flag=True, help="Past overrides too.")
@pass_context
@run_async
async def override_list(ctx: Context, schedule: str | None, everything: bool) -> None:
    """Stored overrides that are current or to come (of SCHEDULE only, if given)."""
    url = ctx.database_url()
    now = datetime.now(UTC)
    with database_errors(url):
        conn = await asyncpg.connect(url)
        try:
            found = await list_overrides(
                conn, schedule=schedule, ending_after=None if everything else now
            )
        finally:
            await conn.close()
    directory = _directory_if_any(ctx)
    text = (
        render.table(
            ["ID", "SCHEDULE", "PERSON", "FROM", "TO", "BY", "NOTE"],
            [_stored_line(o, _zone_of(directory, o.schedule), now) for o in found],
        )
        if found
        else "no overrides"
    )
    ctx.out([o.as_json() for o in found], text)


def _directory_if_any(ctx: Context) -> Directory | None:
    """The directory file for showing local times, if there is a valid one."""
    path = ctx.directory_path()
    if path is None:
        return None
    try:
        return load_directory(path)
    except DirectoryError:
        return None


@override.command("remove")
@click.argument("override_id", metavar="ID", type=int)
@pass_context
@run_async
async def override_remove(ctx: Context, override_id: int) -> None:
    """Take back override ID."""
    url = ctx.database_url()
    with database_errors(url):
        conn = await asyncpg.connect(url)
        try:
            removed = await remove_override(conn, override_id)
        finally:
            await conn.close()
    if removed is None:
        fail(EXIT_NOT_FOUND, f"no override #{override_id}")
    ctx.out(
        removed.as_json(),
        f"removed override #{removed.id}: {removed.person} on {removed.schedule}",
    )


# --- warroom directory --------------------------------------------------------------------


@click.group("directory")
def directory_group() -> None:
    """Check the directory file, or look up a person or a service in it."""


def _names(items: Sequence[str]) -> str:
    return ", ".join(items) if items else "none"


@directory_group.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@pass_context
def directory_check(ctx: Context, file: str | None) -> None:
    """Validate FILE (default: WARROOM_DIRECTORY, or `warroom up`'s) and summarise it."""
    path = directory_file(ctx, file)
    directory = read_directory(ctx, str(path))
    try:
        unfilled = unfilled_positions(directory, load_policy(ctx.settings.policy_path))
    except PolicyError as err:
        fail(EXIT_USAGE, str(err))
    services = [
        f"{name}{' (default)' if name == directory.default_service else ''}"
        for name in directory.services
    ]
    lines = [
        f"ok: {path} (version {directory.version})",
        f"  people      {len(directory.people)}: {_names(list(directory.people))}",
        f"  teams       {len(directory.teams)}: "
        + _names(
            [
                f"{k} ({len(t.members)} members, schedules {_names(t.schedules)})"
                for k, t in directory.teams.items()
            ]
        ),
        f"  services    {len(directory.services)}: {_names(services)}",
        f"  schedules   {len(directory.schedules)}: "
        + _names([f"{k} ({s.time_zone})" for k, s in directory.schedules.items()]),
        f"  escalation  {len(directory.escalation_policies)}: "
        + _names(
            [f"{k} ({len(p.levels)} levels)" for k, p in directory.escalation_policies.items()]
        ),
        f"  positions   {len(directory.positions)}: {_names(list(directory.positions))}",
    ]
    if unfilled:
        lines.append(f"note: the policy names positions nobody holds here: {_names(unfilled)}")
    ctx.out(
        {
            "file": str(path),
            "version": directory.version,
            "people": list(directory.people),
            "teams": list(directory.teams),
            "services": list(directory.services),
            "default_service": directory.default_service,
            "schedules": list(directory.schedules),
            "escalation_policies": list(directory.escalation_policies),
            "positions": list(directory.positions),
            "unfilled_positions": unfilled,
        },
        "\n".join(lines),
    )


def _person_lines(directory: Directory, handle: str, person: Person) -> list[str]:
    contact = "; ".join(f"{c.name} {c.address}" for c in person.contact) or "none"
    notify = "; ".join(
        f"{'at once' if not after else f'after {format_duration(after)}'}: "
        f"{', '.join(m.name for m in methods) or 'nothing'}"
        for after, methods in person.methods_due()
    )
    teams = [k for k, t in directory.teams.items() if handle in t.members]
    schedules = [
        k for k, s in directory.schedules.items() if any(handle in lay.members for lay in s.layers)
    ]
    positions = [k for k, holders in directory.positions.items() if handle in holders]
    return [
        click.style(f"{person.name} ({handle})", bold=True) + f"  {person.time_zone}",
        f"  contact    {contact}",
        f"  notify     {notify or 'no contact method: cannot be reached'}",
        f"  teams      {_names(teams)}",
        f"  schedules  {_names(schedules)}",
        f"  positions  {_names(positions)}",
    ]


def _service_lines(directory: Directory, name: str, service: Service) -> list[str]:
    team = directory.teams[service.team]
    policy = directory.escalation_policies[service.escalation_policy]
    default = "  (the default service)" if name == directory.default_service else ""
    lines = [
        click.style(name, bold=True) + default,
        f"  team        {service.team} ({team.name}): {_names(team.members)}",
        f"  channel     {service.channel or 'none'}",
        f"  escalation  {service.escalation_policy}, repeat {policy.repeat}",
    ]
    for number, level in enumerate(policy.levels, start=1):
        lines.append(
            f"    level {number}  {_names([_target_name(t) for t in level.targets])}"
            f", next after {format_duration(level.delay)}"
        )
    return lines


@directory_group.command("show")
@click.argument("name")
@pass_context
def directory_show(ctx: Context, name: str) -> None:
    """A person (by handle), a service or a position, as the directory has them."""
    directory = read_directory(ctx)
    data: dict[str, Any] = {}
    lines: list[str] = []
    if name in directory.people:
        data["person"] = {"handle": name, **directory.people[name].model_dump(mode="json")}
        lines += _person_lines(directory, name, directory.people[name])
    if name in directory.services:
        data["service"] = {"name": name, **directory.services[name].model_dump(mode="json")}
        lines += ([""] if lines else []) + _service_lines(directory, name, directory.services[name])
    if name in directory.positions:
        holders = directory.positions[name]
        data["position"] = {"name": name, "holders": holders}
        lines += ([""] if lines else []) + [
            click.style(name, bold=True) + f"  {', '.join(_who(directory, h) for h in holders)}"
        ]
    if not data:
        fail(EXIT_NOT_FOUND, f"no person, service or position {name!r} in the directory")
    ctx.out(data, "\n".join(lines))


__all__ = [
    "directory_group",
    "local_time",
    "oncall",
    "override",
    "parse_time",
    "relative",
    "when",
]
