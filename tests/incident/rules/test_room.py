"""The incident's room: which severities get one, and what notices say of it and the bridge."""

from __future__ import annotations

from datetime import timedelta

import pytest

from incident.models import IncidentState, Room
from incident.policy import CommunicationRule
from incident.severity import Severity
from tests.incident.test_lifecycle import POLICY, T0, declare

ROOM = Room(
    channel_id="C0ROOM",
    name="inc-test22-agents-failing",
    url="https://app.slack.com/client/T0TEAM/C0ROOM",
)


@pytest.mark.parametrize("severity", [Severity.P0, Severity.P1])
def test_p0_and_p1_get_a_room_named_after_the_incident(severity: Severity) -> None:
    request = declare(severity).room_wanted()
    assert request is not None
    assert (request.human_id, request.title) == ("INC-TEST22", "Agents failing")


@pytest.mark.parametrize("severity", [Severity.P2, Severity.P3, Severity.P4])
def test_lower_severities_get_no_room(severity: Severity) -> None:
    assert declare(severity).room_wanted() is None


def test_an_opened_room_is_on_the_timeline_and_in_every_brief() -> None:
    incident = declare()
    incident.room_opened(ROOM, T0 + timedelta(seconds=2))
    assert incident.room_wanted() is None
    assert incident.state.timeline[-1].text == (
        "Room #inc-test22-agents-failing opened: https://app.slack.com/client/T0TEAM/C0ROOM"
    )
    brief = incident.brief(T0 + timedelta(minutes=1))
    assert (brief.room_channel, brief.room_url) == ("C0ROOM", ROOM.url)


def test_a_room_not_opened_says_why_and_the_incident_goes_on() -> None:
    incident = declare()
    incident.room_not_opened("Slack conversations.create: missing_scope", T0)
    assert incident.state.timeline[-1].text == (
        "Room not opened: Slack conversations.create: missing_scope"
    )
    assert incident.brief(T0).room_url is None


def test_the_bridge_from_the_policy_is_in_every_brief() -> None:
    assert declare().brief(T0).bridge_url is None
    communication = POLICY.communication.model_copy(
        update={"bridge_url": "https://meet.example.com/bridge"}
    )
    policy = POLICY.model_copy(update={"communication": communication})
    incident = declare()
    incident.policy = policy
    assert incident.brief(T0).bridge_url == "https://meet.example.com/bridge"


def test_policies_and_states_from_before_rooms_still_load() -> None:
    rule = CommunicationRule.model_validate({"reminder_before": "5m"})
    assert rule.rooms_for == [Severity.P0, Severity.P1] and rule.bridge_url is None
    state = declare().state.model_dump(mode="json", exclude={"room"})
    assert IncidentState.model_validate(state).room is None
