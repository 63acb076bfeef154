"""What the CLI prints stays readable whatever an alert put in a field."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from incident.lifecycle import Incident
from incident.models import Alert, TimelineEvent
from incident.policy import load_policy
from starter.cli.render import MAX_CELL, incident, table, timeline


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


def test_show_names_the_room_bridge_and_runbook_of_the_incident() -> None:
    at = datetime(2026, 12, 3, 3, 14, tzinfo=UTC)
    inc, _ = Incident.open(
        human_id="INC-7K3QX-D2MPA",
        source="alertmanager",
        dedup_key="g",
        declaration=None,
        alerts=[
            Alert(
                fingerprint="f",
                name="AgentsDown",
                labels={"severity": "critical", "service": "agents"},
                annotations={"runbook_url": "https://runbooks/agents-down"},
            )
        ],
        policy=load_policy(),
        now=at,
    )
    inc.state.bridge_url = "https://meet/war-room"
    lines = [click.unstyle(line).strip() for line in incident(inc.state, []).splitlines()]
    assert "bridge https://meet/war-room" in lines
    assert "runbook https://runbooks/agents-down" in lines
