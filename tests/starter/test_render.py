"""What the CLI prints stays readable whatever an alert put in a field."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from incident.models import TimelineEvent
from starter.cli.render import MAX_CELL, table, timeline


def test_a_huge_label_does_not_push_the_table_off_the_screen() -> None:
    service = "checkout-api-" + "x" * 3000  # an Alertmanager label, cut only at 1 KiB
    text = table(
        ["ID", "SERVICE", "AGE"],
        [["INC-8S7Z8-E255B", service, "2m"], ["INC-GHVRF-B7A78", click.style("x", fg="red"), "1m"]],
    )
    lines = text.splitlines()
    assert all(len(click.unstyle(line)) <= 15 + 2 + MAX_CELL + 2 + 3 for line in lines)
    assert "checkout-api-xxx" in lines[1] and "…" in lines[1]
    assert lines[1].endswith("2m")


def test_a_decision_sent_straight_to_temporal_is_labelled_admin() -> None:
    at = datetime(2026, 12, 3, 3, 14, tzinfo=UTC)
    events = [
        TimelineEvent(seq=1, at=at, kind="acknowledged", actor="dana", text="Ack", via="link"),
        TimelineEvent(
            seq=2, at=at, kind="resolution_declared", actor="eve", text="RC", via="admin"
        ),
        TimelineEvent(seq=3, at=at, kind="escalated", actor="warroom", text="Paging level 2"),
    ]
    lines = [click.unstyle(line) for line in timeline(events)]
    assert "dana " in lines[0] and "(admin)" not in lines[0]
    assert "eve (admin)" in lines[1]
    assert "warroom " in lines[2] and "(admin)" not in lines[2]
