"""Properties of schedule arithmetic, against an oracle written the simple way.

The oracle counts local days since a layer's start and compares local wall-clock
readings, as a person with a calendar would; ``directory.oncall`` works in
instants. They must agree at every instant, across daylight-saving changes in
both directions (Europe/Berlin, America/New_York), at restriction edges and under
overrides. The generated handoff and restriction times stay out of the small
hours the clocks change in, where "the wall-clock time" is not one instant; the
example tests in test_oncall.py pin those down.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from directory.models import WEEKDAYS, Layer, Override, Restriction, Schedule
from directory.oncall import handoffs, on_call

ZONES = ("Europe/Berlin", "America/New_York")
PEOPLE = ("ann", "ben", "cat", "dan", "eve")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


# --- the oracle: local days and wall-clock readings ----------------------------------


def oracle_layer(layer: Layer, zone: ZoneInfo, at: datetime) -> str | None:
    local = at.astimezone(zone)
    if layer.restrictions and not any(oracle_within(r, local) for r in layer.restrictions):
        return None
    if layer.rotation == "custom":
        assert layer.turn is not None
        first = datetime.combine(layer.start, layer.handoff, tzinfo=zone)
        if at < first:
            return None
        turn = (at - first.astimezone(UTC)) // layer.turn
    else:
        # Handoffs passed since the start: local days, less today's if it is still to come.
        days = (local.date() - layer.start).days - (local.time() < layer.handoff)
        if days < 0:
            return None
        turn = days // (1 if layer.rotation == "daily" else 7)
    return layer.members[turn % len(layer.members)]


def oracle_within(restriction: Restriction, local: datetime) -> bool:
    today = WEEKDAYS[local.weekday()]
    yesterday = WEEKDAYS[(local.weekday() - 1) % 7]
    reading = local.time().replace(tzinfo=None)
    if restriction.start < restriction.end:
        return today in restriction.days and restriction.start <= reading < restriction.end
    return (today in restriction.days and reading >= restriction.start) or (
        yesterday in restriction.days and reading < restriction.end
    )


def oracle(schedule: Schedule, at: datetime) -> str | None:
    covering = [o for o in schedule.overrides if o.start <= at < o.end]
    if covering:
        return covering[-1].person
    zone = ZoneInfo(schedule.time_zone)
    for layer in reversed(schedule.layers):
        holder = oracle_layer(layer, zone, at)
        if holder is not None:
            return holder
    return None


# --- what is generated -----------------------------------------------------------------


@cache
def transitions(zone_name: str) -> list[datetime]:
    """The instants the clocks change in 2026 and 2027."""
    zone = ZoneInfo(zone_name)
    found = []
    hour = EPOCH
    while hour < EPOCH + timedelta(days=730):
        if (hour + timedelta(hours=1)).astimezone(zone).utcoffset() != hour.astimezone(
            zone
        ).utcoffset():
            found.append(hour + timedelta(hours=1))
        hour += timedelta(hours=1)
    assert len(found) == 4
    return found


# Clear of the small hours in which the clocks change (02:00-03:00 in both zones).
wall_times = st.one_of(
    st.just(time(0, 0)),
    st.builds(time, st.integers(4, 23), st.sampled_from([0, 15, 30, 45])),
)
restrictions = st.builds(
    Restriction,
    days=st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True),
    start=wall_times,
    end=wall_times,
)


@st.composite
def layers(draw: st.DrawFn) -> Layer:
    rotation = draw(st.sampled_from(["daily", "weekly", "custom"]))
    return Layer(
        name="layer",
        rotation=rotation,
        turn=timedelta(hours=draw(st.integers(1, 80))) if rotation == "custom" else None,
        handoff=draw(wall_times),
        start=draw(st.dates(date(2025, 10, 1), date(2027, 3, 1))),
        members=draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=4)),
        restrictions=draw(st.lists(restrictions, max_size=2)),
    )


@st.composite
def instants(draw: st.DrawFn, zone: str) -> datetime:
    """Near a change of the clocks more often than not."""
    if draw(st.booleans()):
        base = draw(st.sampled_from(transitions(zone)))
        return base + timedelta(minutes=draw(st.integers(-4 * 1440, 4 * 1440)))
    return EPOCH + timedelta(minutes=draw(st.integers(0, 2 * 365 * 1440)))


@st.composite
def overrides(draw: st.DrawFn, near: datetime) -> Override:
    start = near + timedelta(minutes=draw(st.integers(-3 * 1440, 3 * 1440)))
    return Override(
        person=draw(st.sampled_from(PEOPLE)),
        start=start,
        end=start + timedelta(minutes=draw(st.integers(1, 2 * 1440))),
    )


@st.composite
def schedules_and_instants(draw: st.DrawFn) -> tuple[Schedule, datetime]:
    zone = draw(st.sampled_from(ZONES))
    at = draw(instants(zone))
    schedule = Schedule(
        time_zone=zone,
        layers=draw(st.lists(layers(), min_size=1, max_size=3)),
        overrides=draw(st.lists(overrides(at), max_size=3)),
    )
    return schedule, at


# --- the properties ------------------------------------------------------------------


@settings(max_examples=600, deadline=None, database=None)
@given(schedules_and_instants())
def test_on_call_names_whom_the_oracle_names(case: tuple[Schedule, datetime]) -> None:
    schedule, at = case
    assert on_call(schedule, at) == oracle(schedule, at)


@settings(max_examples=300, deadline=None, database=None)
@given(schedules_and_instants())
def test_each_handoff_changes_who_is_on_call_at_its_instant(
    case: tuple[Schedule, datetime],
) -> None:
    schedule, after = case
    found = handoffs(schedule, after, 6)
    holder = on_call(schedule, after)
    previous = after
    for handoff in found:
        assert handoff.at > previous
        assert handoff.from_handle == holder != handoff.to_handle
        assert on_call(schedule, handoff.at - timedelta(microseconds=1)) == handoff.from_handle
        assert on_call(schedule, handoff.at) == handoff.to_handle == oracle(schedule, handoff.at)
        holder, previous = handoff.to_handle, handoff.at


GRID = timedelta(minutes=15)
WINDOW = timedelta(days=4)


@settings(max_examples=150, deadline=None, database=None)
@given(schedules_and_instants())
def test_handoffs_never_skip_a_change(case: tuple[Schedule, datetime]) -> None:
    """On a 15-minute grid over four days, who is on call is whom the last handoff named."""
    schedule, after = case
    found = handoffs(schedule, after, 10_000, within=WINDOW)
    holder, upcoming = on_call(schedule, after), iter(found)
    following = next(upcoming, None)
    point = after
    while point <= after + WINDOW:
        while following is not None and following.at <= point:
            holder, following = following.to_handle, next(upcoming, None)
        assert on_call(schedule, point) == holder == oracle(schedule, point), point
        point += GRID
