"""Every timer kind and every decision has exactly one rule that takes it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

import pytest

from incident import models
from incident.lifecycle import Incident
from incident.models import Decision, Declaration, PendingTimer, TimerKind
from incident.policy import load_policy
from incident.rules.decisions import RULES
from incident.rules.timers import HANDLERS
from incident.severity import Severity


def test_every_timer_kind_has_a_handler() -> None:
    assert set(HANDLERS) == set(TimerKind)


def test_every_decision_has_a_rule() -> None:
    kinds = {
        value
        for value in vars(models).values()
        if isinstance(value, type) and issubclass(value, Decision) and value is not Decision
    }
    assert set(RULES) == kinds


def test_a_timer_of_no_known_kind_fails_instead_of_firing_again() -> None:
    incident, _ = Incident.open(
        human_id="INC-TEST2-22222",
        source="manual",
        dedup_key=None,
        declaration=Declaration(title="t", severity=Severity.P2, actor="a"),
        alerts=[],
        policy=load_policy(),
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )
    stray = PendingTimer.model_construct(
        key="stray",
        kind=cast(TimerKind, "no_such_kind"),
        due=datetime(2026, 1, 1, tzinfo=UTC),
        summary="",
    )
    with pytest.raises(ValueError, match="no handler for timers of kind 'no_such_kind'"):
        incident.timer_due(stray, datetime(2026, 1, 1, tzinfo=UTC))
