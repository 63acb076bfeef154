"""An iCal feed's events become overrides: by attendee email, else by summary; RRULEs expanded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from directory.ical import MAX_EVENTS, IcalError, overrides_from_ical
from directory.load import parse_directory
from directory.models import Directory
from directory.oncall import merge_overrides, on_call

DIRECTORY = """
version: t
people:
  ann:
    name: Ann Arbor
    contact: [{kind: email, address: Ann.Arbor@example.com}]
  ben: {name: Ben Bay}
schedules:
  primary:
    time_zone: Europe/Berlin
    layers: [{name: w, rotation: weekly, start: 2026-01-05, members: [ben]}]
"""

FEED = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//warroom tests//EN
BEGIN:VEVENT
UID:weekend-cover@example.com
DTSTAMP:20260101T000000Z
DTSTART;TZID=Europe/Berlin:20260307T090000
DTEND;TZID=Europe/Berlin:20260308T090000
RRULE:FREQ=WEEKLY;BYDAY=SA;COUNT=6
EXDATE;TZID=Europe/Berlin:20260321T090000
SUMMARY:Weekend cover
ATTENDEE;CN=Ann:mailto:ann.arbor@EXAMPLE.com
END:VEVENT
BEGIN:VEVENT
UID:ben-day@example.com
DTSTAMP:20260101T000000Z
DTSTART;VALUE=DATE:20260311
DTEND;VALUE=DATE:20260312
SUMMARY:Ben Bay
END:VEVENT
BEGIN:VEVENT
UID:floating@example.com
DTSTAMP:20260101T000000Z
DTSTART:20260312T100000
DURATION:PT2H
SUMMARY:ann
END:VEVENT
BEGIN:VEVENT
UID:stranger@example.com
DTSTAMP:20260101T000000Z
DTSTART:20260313T100000Z
DTEND:20260313T120000Z
SUMMARY:Zed Zulu
ATTENDEE:mailto:zed@example.com
END:VEVENT
BEGIN:VEVENT
UID:cancelled@example.com
DTSTAMP:20260101T000000Z
DTSTART:20260314T100000Z
DTEND:20260314T120000Z
SUMMARY:ann
STATUS:CANCELLED
END:VEVENT
END:VCALENDAR
"""

MARCH = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))


@pytest.fixture
def directory() -> Directory:
    return parse_directory(DIRECTORY)


def test_a_recurring_event_becomes_one_override_per_occurrence_in_the_window(
    directory: Directory,
) -> None:
    found = overrides_from_ical(
        FEED, directory, time_zone="Europe/Berlin", start=MARCH[0], end=MARCH[1], source="cal"
    )
    weekends = [o for o in found.overrides if o.note == "iCal: Weekend cover"]
    # Saturdays 7, 14, (21 excluded), 28 March; 4 and 11 April are past the window.
    assert [(o.person, o.start, o.end) for o in weekends] == [
        ("ann", datetime(2026, 3, 7, 8, tzinfo=UTC), datetime(2026, 3, 8, 8, tzinfo=UTC)),
        ("ann", datetime(2026, 3, 14, 8, tzinfo=UTC), datetime(2026, 3, 15, 8, tzinfo=UTC)),
        # across the spring change: 09:00 CET to 09:00 CEST
        ("ann", datetime(2026, 3, 28, 8, tzinfo=UTC), datetime(2026, 3, 29, 7, tzinfo=UTC)),
    ]


def test_an_event_names_its_person_by_attendee_else_by_summary(directory: Directory) -> None:
    found = overrides_from_ical(
        FEED, directory, time_zone="Europe/Berlin", start=MARCH[0], end=MARCH[1], source="cal"
    )
    others = [
        (o.person, o.start, o.end) for o in found.overrides if o.note != "iCal: Weekend cover"
    ]
    assert others == [
        # an all-day event is local midnight to midnight; a floating time is local
        ("ben", datetime(2026, 3, 10, 23, tzinfo=UTC), datetime(2026, 3, 11, 23, tzinfo=UTC)),
        ("ann", datetime(2026, 3, 12, 9, tzinfo=UTC), datetime(2026, 3, 12, 11, tzinfo=UTC)),
    ]
    assert found.problems == ["cal: event 'Zed Zulu': names nobody in the directory"]


def test_feed_overrides_put_their_person_on_call(directory: Directory) -> None:
    found = overrides_from_ical(
        FEED, directory, time_zone="Europe/Berlin", start=MARCH[0], end=MARCH[1]
    )
    merged, problems = merge_overrides(directory, {"primary": found.overrides})
    assert problems == []
    saturday = datetime(2026, 3, 14, 12, tzinfo=UTC)
    assert on_call(merged.schedules["primary"], saturday) == "ann"
    assert on_call(merged.schedules["primary"], saturday + timedelta(days=1)) == "ben"


def test_text_that_is_not_a_calendar_is_refused_naming_the_source(
    directory: Directory,
) -> None:
    with pytest.raises(IcalError, match=r"^https://cal\.example/feed\.ics: not an iCalendar"):
        overrides_from_ical(
            "<html>sign in</html>",
            directory,
            time_zone="UTC",
            start=MARCH[0],
            end=MARCH[1],
            source="https://cal.example/feed.ics",
        )


def test_events_that_cannot_be_read_are_named_and_the_rest_kept(directory: Directory) -> None:
    broken = """BEGIN:VCALENDAR
BEGIN:VEVENT
UID:no-start
SUMMARY:ann
END:VEVENT
BEGIN:VEVENT
UID:instant
SUMMARY:ann
DTSTART:20260305T100000Z
END:VEVENT
BEGIN:VEVENT
UID:fine
SUMMARY:ben
DTSTART:20260306T100000Z
DTEND:20260306T110000Z
END:VEVENT
END:VCALENDAR
"""
    found = overrides_from_ical(
        broken, directory, time_zone="UTC", start=MARCH[0], end=MARCH[1], source="cal"
    )
    assert [o.person for o in found.overrides] == ["ben"]
    assert found.problems == [
        "cal: event 'ann' has no DTSTART and is left out",
        "cal: event 'ann' at 2026-03-05 10:00 UTC has no length",
    ]


def test_a_rule_without_end_is_read_up_to_the_window_and_a_runaway_one_is_cut(
    directory: Directory,
) -> None:
    rule = """BEGIN:VCALENDAR
BEGIN:VEVENT
UID:{uid}
SUMMARY:ben
DTSTART:20250301T000000Z
DTEND:20250301T000100Z
RRULE:FREQ={freq}
END:VEVENT
END:VCALENDAR
"""
    weekly = overrides_from_ical(
        rule.format(uid="w", freq="WEEKLY"),
        directory,
        time_zone="UTC",
        start=MARCH[0],
        end=MARCH[1],
    )
    assert [o.start.day for o in weekly.overrides] == [7, 14, 21, 28]  # Saturdays, as 1 March 2025
    every_second = overrides_from_ical(
        rule.format(uid="s", freq="SECONDLY").replace("20250301", "20260301"),
        directory,
        time_zone="UTC",
        start=MARCH[0],
        end=MARCH[1],
        source="cal",
    )
    assert len(every_second.overrides) == MAX_EVENTS
    assert every_second.problems == [
        "cal: more than 1000 events in the window; those from 2026-03-01 00:16 UTC on are left out"
    ]
