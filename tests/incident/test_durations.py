"""Durations read the way a person writes them, in the policy and on every screen."""

from __future__ import annotations

from datetime import timedelta

import pytest

from incident.durations import format_duration, parse_duration, spoken_duration


@pytest.mark.parametrize(
    ("elapsed", "shown"),
    [
        (timedelta(seconds=30.685497), "31s"),  # was "30.685497s": acknowledged after ...
        (timedelta(minutes=1, seconds=0.013852), "1m"),  # was "1m 0.013852s"
        (timedelta(minutes=1, seconds=52.404124), "1m 52s"),
        (timedelta(hours=2, minutes=5, seconds=59), "2h 5m"),
        (timedelta(days=3, hours=4, minutes=1), "3d 4h"),
        (timedelta(seconds=0.25), "0.25s"),  # a compressed demonstration policy's 15s
        (timedelta(0), "0m"),
    ],
)
def test_elapsed_times_print_for_people(elapsed: timedelta, shown: str) -> None:
    assert format_duration(elapsed) == shown


def test_policy_durations_still_read_and_round_trip() -> None:
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert format_duration(parse_duration("15m")) == "15m"


@pytest.mark.parametrize(
    ("elapsed", "said"),
    [
        (timedelta(minutes=12), "12 min"),
        (timedelta(seconds=30.685497), "31 s"),
        (timedelta(hours=1, minutes=5, seconds=59), "1 h 5 min"),
        (timedelta(days=2, hours=3), "2 d 3 h"),
        (timedelta(weeks=1, days=2), "1 wk 2 d"),
        (timedelta(seconds=0.25), "under a second"),  # a compressed demonstration policy
        (timedelta(0), "0 s"),
    ],
)
def test_elapsed_times_in_sentences_read_as_a_person_writes_them(
    elapsed: timedelta, said: str
) -> None:
    assert spoken_duration(elapsed) == said
