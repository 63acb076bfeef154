"""Seed 001's rollback procedure end to end: the control plane confirms the rollback, and
15 minutes later the probes check that a new run succeeded and the success rate recovered;
a rollback that did not bring recovery pages the commander and reopens the incident."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from incident.containment import ActionKind, ActionState
from incident.models import (
    Acknowledge,
    ApproveContainment,
    AssignRole,
    Phase,
    ProposeContainment,
    Resolve,
    Role,
    Status,
)
from incident.policy import Policy
from incident.severity import Severity
from starter.api import decide
from tests.support.checks import VOUCHED
from tests.support.controlplane import ControlPlane
from tests.support.harness import Harness
from tests.support.receiver import Received, RecordingReceiver
from tests.support.wait import eventually
from tests.support.workers import running_worker

MIN = timedelta(minutes=1)


def vector(value: str) -> dict[str, Any]:
    sample = {"metric": {}, "value": [1732459800.0, value]}
    return {"status": "success", "data": {"resultType": "vector", "result": [sample]}}


def prometheus_after_a_rollback_that_did_not_help(request: Received) -> tuple[int, bytes]:
    """New runs succeed (12 since the rollback), but only 61 % of them."""
    query = parse_qs(urlsplit(request.path).query)["query"][0]
    value = "12" if "increase(" in query else "0.61"
    return 200, json.dumps(vector(value)).encode()


async def test_a_rollback_that_did_not_bring_recovery_reopens_and_pages_the_commander(
    bare_harness: Harness, policy: Policy, control_plane: ControlPlane
) -> None:
    harness, plane = bare_harness, control_plane
    async with (
        RecordingReceiver(respond=prometheus_after_a_rollback_that_did_not_help) as prometheus,
        running_worker(harness, policy, control_plane_url=plane.url, prometheus_url=prometheus.url),
    ):
        incident = await harness.declare(Severity.P1)
        await decide(incident, Acknowledge(actor="dana"))
        await decide(
            incident, AssignRole(actor="dana", role=Role.INCIDENT_COMMANDER, person="dana")
        )
        await decide(
            incident,
            ProposeContainment(
                actor="erin", kind=ActionKind.ROLLBACK_DEPLOYMENT, target=plane.deployment
            ),
        )
        await decide(incident, ApproveContainment(actor="dana", action_id=1))
        state = await harness.until(
            incident, lambda s: any(e.kind == "rollback_confirmed" for e in s.timeline)
        )
        assert state.containment[0].state is ActionState.IN_FORCE
        confirmed = next(e for e in state.timeline if e.kind == "rollback_confirmed")
        assert "rolled back v42 → v41" in confirmed.text  # the status transition
        check = next(t for t in await harness.timers(incident) if t.key == "rollback_check:1")
        assert check.due == confirmed.at + 15 * MIN

        await decide(
            incident, Resolve(actor="dana", root_cause="v42 retry storm", verified=VOUCHED)
        )
        assert (await harness.state(incident)).status is Status.MONITORING
        await harness.advance(incident, 16 * MIN)
        state = await harness.until(incident, lambda s: s.reopened == 1)
        assert (state.phase, state.status) == (Phase.RESPONDING, Status.INVESTIGATING)
        assert state.containment[0].verified is False
        failed = next(e for e in state.timeline if e.kind == "rollback_check_failed")
        assert "agent run success rate after the rollback 0.61 < required >= 0.9" in failed.text
        await eventually(lambda: "dana" in harness.paged())

    sent = [parse_qs(urlsplit(r.path).query)["query"][0] for r in prometheus.received]
    assert sent and all(f'deployment="{plane.deployment}"' in q for q in sent)
