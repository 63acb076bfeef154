"""Overrides from an iCalendar feed: each event puts one person on call for its length.

An event names its person by an ATTENDEE whose ``mailto:`` is one of their email
contact methods or, failing that, by a SUMMARY equal to their handle or their
name (case ignored). Recurring events (RRULE, RDATE, EXDATE, moved occurrences)
are expanded within a window by ``recurring-ical-events``; ``icalendar`` reads the
text. Pure: the text comes in, fetching a feed is the caller's I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from pydantic import ValidationError

from directory.models import ContactKind, Directory, Override
from directory.oncall import local_instant

MAX_EVENTS = 1000
"""Occurrences read from one feed within one window (a month of hourly shifts is 744);
a runaway RRULE stops here."""


class IcalError(ValueError):
    """Feed text that is not an iCalendar at all; the message names the source."""


@dataclass(frozen=True)
class IcalOverrides:
    """The overrides a feed gives within a window, and the events it could not use."""

    overrides: list[Override] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """One line per event left out, naming it and why ("no person named 'Zed'")."""


def _people_by_name(directory: Directory) -> tuple[dict[str, str], dict[str, str]]:
    """Handles by email address, and by handle or name; both case-folded."""
    emails: dict[str, str] = {}
    names: dict[str, str] = {}
    for handle, person in directory.people.items():
        for method in person.contact:
            if method.kind is ContactKind.EMAIL:
                emails.setdefault(method.address.strip().casefold(), handle)
        names.setdefault(person.name.strip().casefold(), handle)
    for handle in directory.people:
        names[handle.casefold()] = handle  # a handle is the more exact name
    return emails, names


def _attendees(event: icalendar.Event) -> list[str]:
    found = event.get("ATTENDEE")
    if found is None:
        return []
    items = found if isinstance(found, list) else [found]
    addresses = []
    for item in items:
        text = str(item).strip()
        if text.lower().startswith("mailto:"):
            text = text[len("mailto:") :]
        addresses.append(text.strip().casefold())
    return addresses


def _instant(value: date | datetime, zone: ZoneInfo) -> datetime:
    """An event time as an instant: a date is local midnight, a floating time is local."""
    if not isinstance(value, datetime):
        return local_instant(value, time(0), zone)
    if value.tzinfo is None or value.utcoffset() is None:
        return local_instant(value.date(), value.time(), zone)
    return value.astimezone(UTC)


def _undated(component: Any) -> bool:
    return bool(component.name == "VEVENT" and "DTSTART" not in component)


def _occurrences(
    calendar: icalendar.Calendar,
    window: tuple[datetime, datetime],
    zone: ZoneInfo,
    problems: list[str],
    source: str,
) -> list[Any]:
    """The occurrences starting before the window ends, in order of start, at most MAX_EVENTS.

    Read lazily (``after``, not ``between``): a rule that recurs every second
    costs MAX_EVENTS occurrences, not a month of them.
    """
    for event in calendar.subcomponents:
        if _undated(event):  # which recurring-ical-events cannot skip
            problems.append(f"{source}: event {_name(event)!r} has no DTSTART and is left out")
    calendar.subcomponents = [c for c in calendar.subcomponents if not _undated(c)]
    start, end = window
    for skip_bad_series in (False, True):
        found: list[Any] = []
        try:
            for event in recurring_ical_events.of(calendar, skip_bad_series=skip_bad_series).after(
                start
            ):
                if _instant(event.start, zone) >= end:
                    break
                if len(found) == MAX_EVENTS:
                    cut = _instant(event.start, zone)
                    problems.append(
                        f"{source}: more than {MAX_EVENTS} events in the window; "
                        f"those from {cut:%Y-%m-%d %H:%M} UTC on are left out"
                    )
                    break
                found.append(event)
        except ValueError as err:
            if skip_bad_series:
                raise IcalError(f"{source}: cannot read its events: {err!s}") from err
            # A broken series: read the rest, and say so.
            problems.append(f"{source}: some events cannot be read and are left out: {err!s}")
            continue
        return found
    raise AssertionError("unreachable: the second pass returns or raises")


def _name(event: Any) -> str:
    return str(event.get("SUMMARY", "")).strip() or str(event.get("UID", "?"))


def overrides_from_ical(
    text: str,
    directory: Directory,
    *,
    time_zone: str,
    start: datetime,
    end: datetime,
    source: str = "<ical>",
) -> IcalOverrides:
    """The overrides the events of ``text`` give between ``start`` and ``end`` (aware).

    ``time_zone`` (the schedule's) places all-day events and floating times.
    Events that name nobody in ``directory``, are cancelled or have no length
    are left out and listed in ``problems``. Raises IcalError when ``text`` is
    not an iCalendar.
    """
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except ValueError as err:
        raise IcalError(f"{source}: not an iCalendar: {err}") from err
    if not isinstance(calendar, icalendar.Calendar):
        raise IcalError(f"{source}: not an iCalendar: expected one VCALENDAR")
    zone = ZoneInfo(time_zone)
    emails, names = _people_by_name(directory)
    result = IcalOverrides()
    window = (start.astimezone(UTC), end.astimezone(UTC))
    events = _occurrences(calendar, window, zone, result.problems, source)
    for event in events:
        summary = str(event.get("SUMMARY", "")).strip()
        label = f"{source}: event {_name(event)!r}"
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        handle = next((emails[a] for a in _attendees(event) if a in emails), None)
        if handle is None:
            handle = names.get(summary.casefold())
        if handle is None:
            result.problems.append(f"{label}: names nobody in the directory")
            continue
        try:
            begins = _instant(event.start, zone)
            ends = _instant(event.end, zone) if event.end is not None else begins
        except (ValueError, TypeError) as err:  # icalendar's missing or broken DTSTART/DTEND
            result.problems.append(f"{label}: {err}")
            continue
        if ends <= begins:
            result.problems.append(f"{label} at {begins:%Y-%m-%d %H:%M} UTC has no length")
            continue
        try:
            result.overrides.append(
                Override(person=handle, start=begins, end=ends, note=f"iCal: {summary}"[:500])
            )
        except ValidationError as err:
            result.problems.append(f"{label}: {err.errors()[0]['msg']}")
    result.overrides.sort(key=lambda o: (o.start, o.end))
    return result


__all__ = ["MAX_EVENTS", "IcalError", "IcalOverrides", "overrides_from_ical"]
