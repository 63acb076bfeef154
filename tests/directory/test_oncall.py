"""Who is on call, in the cases a person checks by hand: DST nights, overrides, gaps, pages."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from directory.load import parse_directory
from directory.models import Directory, Layer, Override, Restriction, Schedule, Target
from directory.oncall import (
    Handoff,
    NoSuchService,
    all_on_call,
    escalation_policy,
    handoffs,
    local_instant,
    merge_overrides,
    on_call,
    page_targets,
    position_holders,
    resolve,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def _at(
    zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def weekly_berlin() -> Schedule:
    return Schedule(
        time_zone="Europe/Berlin",
        layers=[
            Layer(
                name="weekly",
                rotation="weekly",
                handoff=time(9, 0),
                start=date(2026, 3, 16),  # a Monday
                members=["ann", "ben", "cat"],
            )
        ],
    )


def test_a_weekly_berlin_rotation_hands_off_at_0900_local_on_both_sides_of_each_change() -> None:
    found = handoffs(weekly_berlin(), _at(BERLIN, 2026, 3, 17), 34)
    local = [h.at.astimezone(BERLIN) for h in found]
    assert all((t.weekday(), t.time()) == (0, time(9, 0)) for t in local)
    # Spring forward on 29 March, fall back on 25 October: the UTC instants move, 09:00 does not.
    assert found[0].at == datetime(2026, 3, 23, 8, 0, tzinfo=UTC)  # CET, +01:00
    assert found[1].at == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # CEST, +02:00
    autumn = next(h for h in found if h.at.astimezone(BERLIN).date() == date(2026, 10, 26))
    assert autumn.at == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)  # CET again
    assert [h.to_handle for h in found[:4]] == ["ben", "cat", "ann", "ben"]


def test_the_week_around_the_spring_change_is_one_hour_short_and_still_one_turn() -> None:
    schedule = weekly_berlin()
    assert on_call(schedule, _at(BERLIN, 2026, 3, 30, 8, 59)) == "ben"
    assert on_call(schedule, _at(BERLIN, 2026, 3, 30, 9, 0)) == "cat"
    assert on_call(schedule, _at(BERLIN, 2026, 3, 29, 2, 30).astimezone(UTC)) == "ben"


def test_a_new_york_daily_handoff_in_the_hour_the_clocks_repeat_or_skip() -> None:
    schedule = Schedule(
        time_zone="America/New_York",
        layers=[
            Layer(
                name="nights",
                rotation="daily",
                handoff=time(1, 30),
                start=date(2026, 10, 30),
                members=["ann", "ben"],
            ),
            Layer(
                name="spring",
                rotation="daily",
                handoff=time(2, 30),
                start=date(2027, 3, 13),
                members=["cat", "dan"],
            ),
        ],
    )
    # 1 November 2026: 01:30 happens twice; the handoff is the first (EDT, 05:30 UTC).
    autumn = handoffs(schedule, datetime(2026, 11, 1, 0, 0, tzinfo=UTC), 1)[0]
    assert autumn.at == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    # 14 March 2027: 02:30 never happens; the handoff is when the clock jumps to 03:00 EDT.
    spring = handoffs(schedule, datetime(2027, 3, 14, 0, 0, tzinfo=UTC), 1)[0]
    assert spring.at == datetime(2027, 3, 14, 7, 0, tzinfo=UTC)
    assert spring.at.astimezone(NEW_YORK).time() == time(3, 0)
    assert (spring.from_handle, spring.to_handle) == ("cat", "dan")


def test_a_local_time_the_clock_skips_is_the_instant_it_jumps_past_it() -> None:
    jump = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 02:00 CET becomes 03:00 CEST
    assert local_instant(date(2026, 3, 29), time(2, 0), BERLIN) == jump
    assert local_instant(date(2026, 3, 29), time(2, 59), BERLIN) == jump
    assert local_instant(date(2026, 3, 29), time(3, 0), BERLIN) == jump
    assert local_instant(date(2026, 3, 29), time(3, 1), BERLIN) == jump + timedelta(minutes=1)
    # A repeated time is its first occurrence.
    assert local_instant(date(2026, 10, 25), time(2, 30), BERLIN) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )


def test_a_custom_rotation_turns_in_absolute_hours_across_a_change() -> None:
    schedule = Schedule(
        time_zone="Europe/Berlin",
        layers=[
            Layer(
                name="12h",
                rotation="custom",
                turn=timedelta(hours=12),
                handoff=time(8, 0),
                start=date(2026, 3, 28),
                members=["ann", "ben"],
            )
        ],
    )
    found = handoffs(schedule, _at(BERLIN, 2026, 3, 28, 7, 0), 4)
    assert [h.at.astimezone(BERLIN).strftime("%d %H:%M") for h in found] == [
        "28 08:00",
        "28 20:00",
        "29 09:00",  # twelve hours after 20:00 CET is 09:00 CEST
        "29 21:00",
    ]


def test_an_override_beats_a_higher_layer_which_beats_a_lower_one() -> None:
    schedule = Schedule(
        time_zone="Europe/Berlin",
        layers=[
            Layer(name="24/7", rotation="weekly", start=date(2026, 1, 5), members=["ann"]),
            Layer(
                name="office hours",
                rotation="daily",
                start=date(2026, 1, 5),
                members=["ben"],
                restrictions=[Restriction(start=time(9, 0), end=time(17, 0))],
            ),
        ],
        overrides=[
            Override(
                person="cat",
                start=_at(BERLIN, 2026, 2, 4, 12, 0),
                end=_at(BERLIN, 2026, 2, 4, 14, 0),
            ),
            Override(
                person="dan",
                start=_at(BERLIN, 2026, 2, 4, 13, 0),
                end=_at(BERLIN, 2026, 2, 4, 13, 30),
            ),
        ],
    )
    assert on_call(schedule, _at(BERLIN, 2026, 2, 4, 8, 59)) == "ann"  # before office hours
    assert on_call(schedule, _at(BERLIN, 2026, 2, 4, 10, 0)) == "ben"  # the higher layer
    assert on_call(schedule, _at(BERLIN, 2026, 2, 4, 12, 30)) == "cat"  # an override
    assert on_call(schedule, _at(BERLIN, 2026, 2, 4, 13, 10)) == "dan"  # the later one listed
    assert on_call(schedule, _at(BERLIN, 2026, 2, 7, 10, 0)) == "ann"  # Saturday: no office
    changes = handoffs(schedule, _at(BERLIN, 2026, 2, 4, 8, 0), 7)
    assert [(h.at.astimezone(BERLIN).strftime("%H:%M"), h.to_handle) for h in changes] == [
        ("09:00", "ben"),
        ("12:00", "cat"),
        ("13:00", "dan"),
        ("13:30", "cat"),
        ("14:00", "ben"),
        ("17:00", "ann"),
        ("09:00", "ben"),
    ]


def test_a_gap_in_cover_is_a_handoff_to_nobody() -> None:
    schedule = Schedule(
        time_zone="UTC",
        layers=[
            Layer(
                name="nights",
                rotation="daily",
                start=date(2026, 1, 5),
                members=["ann"],
                restrictions=[Restriction(days=["mon"], start=time(22, 0), end=time(6, 0))],
            )
        ],
    )
    assert on_call(schedule, datetime(2026, 1, 5, 12, tzinfo=UTC)) is None
    assert handoffs(schedule, datetime(2026, 1, 5, 12, tzinfo=UTC), 2) == [
        Handoff(datetime(2026, 1, 5, 22, tzinfo=UTC), None, "ann"),
        Handoff(datetime(2026, 1, 6, 6, tzinfo=UTC), "ann", None),
    ]


def test_before_its_first_handoff_a_layer_is_not_in_force() -> None:
    schedule = weekly_berlin()
    assert on_call(schedule, _at(BERLIN, 2026, 3, 16, 8, 59)) is None
    assert on_call(schedule, _at(BERLIN, 2026, 3, 16, 9, 0)) == "ann"


def test_one_person_forever_has_no_handoffs_and_a_naive_instant_is_refused() -> None:
    schedule = Schedule(
        layers=[Layer(name="solo", rotation="daily", start=date(2026, 1, 1), members=["ann"])]
    )
    assert handoffs(schedule, datetime(2026, 6, 1, tzinfo=UTC), 3) == []
    with pytest.raises(ValueError, match="no time zone"):
        on_call(schedule, datetime(2026, 6, 1))


DIRECTORY = """
version: t
people:
  ann: {name: Ann}
  ben: {name: Ben}
  cat: {name: Cat}
  dan: {name: Dan}
teams:
  platform: {name: Platform, schedules: [primary, secondary, shadow]}
schedules:
  primary:
    layers: [{name: w, rotation: weekly, start: 2026-01-05, members: [ann, ben]}]
  secondary:
    layers: [{name: d, rotation: daily, start: 2026-01-05, members: [ben, cat]}]
  shadow:
    layers: [{name: d, rotation: daily, start: 2027-01-05, members: [dan]}]
escalation_policies:
  default:
    levels:
      - targets: [{schedule: primary}, {schedule: secondary}]
      - targets: [{team: platform}, {person: dan}]
services:
  checkout: {team: platform, escalation_policy: default}
positions:
  VP Engineering: [dan]
"""


@pytest.fixture
def directory() -> Directory:
    return parse_directory(DIRECTORY)


MONDAY_NOON = datetime(2026, 1, 5, 12, tzinfo=UTC)


def test_a_target_resolves_to_handles(directory: Directory) -> None:
    assert resolve(directory, Target(schedule="primary"), MONDAY_NOON) == ["ann"]
    assert resolve(directory, Target(person="cat"), MONDAY_NOON) == ["cat"]
    assert resolve(directory, Target(schedule="shadow"), MONDAY_NOON) == []
    # Tuesday: primary is still ann, secondary has turned to cat.
    tuesday = MONDAY_NOON + timedelta(days=1)
    assert resolve(directory, Target(team="platform"), tuesday) == ["ann", "cat"]
    # A week later both are ben, named once.
    assert resolve(directory, Target(team="platform"), tuesday + timedelta(days=7)) == ["ben"]


def test_a_level_pages_each_person_once(directory: Directory) -> None:
    assert page_targets(directory, "checkout", 0, MONDAY_NOON) == ["ann", "ben"]
    assert page_targets(directory, "checkout", 1, MONDAY_NOON) == ["ann", "ben", "dan"]
    with pytest.raises(IndexError):
        page_targets(directory, "checkout", 2, MONDAY_NOON)
    assert all_on_call(directory, "checkout", MONDAY_NOON) == [
        ("ann", "primary"),
        ("ben", "secondary"),
    ]
    assert all_on_call(directory, "checkout", MONDAY_NOON + timedelta(days=8)) == [
        ("ben", "primary")  # on call for both: named once, for the first
    ]
    assert len(escalation_policy(directory, "checkout").levels) == 2


def test_an_unknown_service_pages_the_default_or_says_there_is_none(
    directory: Directory,
) -> None:
    with pytest.raises(NoSuchService, match="no service 'search' and no default_service"):
        page_targets(directory, "search", 0, MONDAY_NOON)
    with_default = directory.model_copy(update={"default_service": "checkout"})
    assert page_targets(with_default, "search", 0, MONDAY_NOON) == ["ann", "ben"]
    assert page_targets(with_default, None, 0, MONDAY_NOON) == ["ann", "ben"]


def test_position_holders_by_name(directory: Directory) -> None:
    assert position_holders(directory, "VP Engineering") == ["dan"]
    assert position_holders(directory, "vp engineering") == ["dan"]
    assert position_holders(directory, "CEO") == []


def test_merged_overrides_win_and_what_no_longer_resolves_is_named(
    directory: Directory,
) -> None:
    cover = Override(person="dan", start=MONDAY_NOON, end=MONDAY_NOON + timedelta(hours=2))
    merged, problems = merge_overrides(
        directory,
        {
            "primary": [cover, cover.model_copy(update={"person": "zed"})],
            "gone": [cover],
        },
    )
    assert on_call(merged.schedules["primary"], MONDAY_NOON) == "dan"
    assert on_call(directory.schedules["primary"], MONDAY_NOON) == "ann"  # unchanged
    assert problems == [
        "override on primary: 'zed' is not a person",
        "override for dan: no schedule 'gone'",
    ]
