"""The impact decision, and the fields status updates, escalations and briefs now carry."""

from __future__ import annotations

import pytest

from incident.lifecycle import DecisionRejected
from incident.models import (
    Acknowledge,
    DeclareMitigated,
    Escalate,
    PostStatusUpdate,
    SetImpact,
)
from incident.severity import Severity
from tests.incident.test_lifecycle import declare, minutes


def test_impact_updates_keep_what_was_not_said_and_confirmed_data_loss_escalates() -> None:
    incident = declare(Severity.P1)
    with pytest.raises(DecisionRejected, match="say what the impact is"):
        incident.check(SetImpact(actor="dana"), minutes(10))
    incident.apply(
        SetImpact(actor="dana", users_affected="1,200", revenue_impact="$4k/h"), minutes(2)
    )
    _, fx = incident.apply(
        SetImpact(actor="dana", traffic_percent=12.5, data_loss=True), minutes(3)
    )
    a = incident.state.impact_assessment
    assert a is not None
    assert (a.users_affected, a.traffic_percent, a.revenue_impact, a.data_loss) == (
        "1,200",
        12.5,
        "$4k/h",
        True,
    )
    assert [f.flag for f in incident.state.flags] == ["data_loss"]
    assert fx.notices  # the data-loss flag's escalations
    brief = incident.brief(minutes(4))
    assert (brief.users_affected, brief.traffic_percent, brief.data_loss) == ("1,200", 12.5, True)


def test_a_status_update_carries_actions_next_steps_and_eta_until_replaced() -> None:
    incident = declare(Severity.P2)
    incident.apply(
        PostStatusUpdate(
            actor="dana",
            message="rolling back",
            actions=["roll back v42 - dana"],
            next_steps=["watch error rate"],
            eta="16:00 UTC",
        ),
        minutes(5),
    )
    incident.apply(PostStatusUpdate(actor="dana", message="half way"), minutes(10))
    brief = incident.brief(minutes(11))
    assert brief.current_actions == ["roll back v42 - dana"]
    assert (brief.next_steps, brief.eta) == (["watch error rate"], "16:00 UTC")
    assert "roll back v42 - dana" in brief.tried


def test_an_escalation_carries_the_specific_ask() -> None:
    incident = declare(Severity.P0)
    incident.apply(Acknowledge(actor="dana"), minutes(1))
    _, fx = incident.apply(Escalate(actor="dana", ask="approve a failover to us-west"), minutes(2))
    assert fx.notices and all(n.incident.ask == "approve a failover to us-west" for n in fx.notices)


def test_impact_duration_ends_when_the_bleeding_stops() -> None:
    incident = declare(Severity.P2)
    incident.apply(DeclareMitigated(actor="dana", reason="traffic drained"), minutes(25))
    assert incident.brief(minutes(90)).impact_duration == minutes(25) - minutes(0)
