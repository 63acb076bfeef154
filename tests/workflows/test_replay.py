"""Determinism guard: saved incident histories must replay on the current workflow code.

Histories of the main lifecycle paths live in ``tests/histories/``. A change
to ``IncidentWorkflow`` that would break incidents already running fails
here. After an intended change guarded by ``workflow.patched``, keep the
old recordings under a new name (``<scenario>.before-<change>.json``) and
re-record with ``WARROOM_RECORD_HISTORIES=1 pytest tests/workflows/test_replay.py``.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from incident.models import (
    Acknowledge,
    AddActionItem,
    AddNote,
    Alert,
    AlertStatus,
    AssignRole,
    ChangeSeverity,
    DeclareMitigated,
    PostmortemStatus,
    PostStatusUpdate,
    RaiseFlag,
    Resolve,
    Role,
    SubmitPostmortem,
)
from incident.severity import Severity
from starter.api import IncidentHandle, decide
from tests.support.harness import Harness
from workflows.incident import IncidentWorkflow

HISTORIES = Path(__file__).parents[1] / "histories"
MIN = timedelta(minutes=1)
ALERT = Alert(
    fingerprint="f1",
    name="DroviAgentRunSuccessRateLow",
    labels={"severity": "high", "service": "agents", "org": "acme"},
)


async def p0_full_lifecycle(h: Harness) -> IncidentHandle:
    incident = await h.declare(Severity.P0, title="Platform down")
    await h.advance(incident, 6 * MIN)
    await decide(incident, Acknowledge(actor="bob"))
    await decide(incident, AssignRole(actor="bob", role=Role.INCIDENT_COMMANDER, person="bob"))
    await decide(incident, PostStatusUpdate(actor="bob", message="DB failover in progress"))
    await decide(incident, RaiseFlag(actor="bob", flag="customer_sla_at_risk", reason="acme"))
    await decide(incident, AddNote(actor="bob", text="replica lag 40s"))
    await h.advance(incident, 20 * MIN)
    await decide(incident, DeclareMitigated(actor="bob", reason="failover done"))
    await decide(incident, Resolve(actor="bob", root_cause="primary disk full"))
    await h.advance(incident, 61 * MIN)
    await h.until(incident, lambda s: s.resolved_at is not None)
    await decide(
        incident, AddActionItem(actor="bob", description="disk alerts", owner="ops", priority="P1")
    )
    await h.advance(incident, timedelta(hours=25))
    await decide(incident, SubmitPostmortem(actor="bob", status=PostmortemStatus.FINAL))
    await incident.result()
    return incident


async def alert_reopen_and_regrade(h: Harness) -> IncidentHandle:
    incident = await h.fire("replay-group", ALERT)
    await decide(incident, Acknowledge(actor="bob"))
    await decide(incident, ChangeSeverity(actor="bob", severity=Severity.P0, reason="all orgs"))
    await h.fire("replay-group", ALERT.model_copy(update={"status": AlertStatus.RESOLVED}))
    await h.until(incident, lambda s: s.status == "monitoring")
    await h.advance(incident, 10 * MIN)
    await h.fire("replay-group", ALERT)
    await h.until(incident, lambda s: s.reopened == 1)
    await h.advance(incident, 40 * MIN)
    await h.settle(incident)
    return incident


SCENARIOS: dict[str, Callable[[Harness], Awaitable[IncidentHandle]]] = {
    "p0_full_lifecycle": p0_full_lifecycle,
    "alert_reopen_and_regrade": alert_reopen_and_regrade,
}


def _replayer() -> Replayer:
    return Replayer(workflows=[IncidentWorkflow], data_converter=pydantic_data_converter)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_scenario_history_replays(harness: Harness, name: str) -> None:
    """Run the scenario now and replay its history: catches non-determinism in new code."""
    incident = await SCENARIOS[name](harness)
    history = await incident.fetch_history()
    await _replayer().replay_workflow(history)
    if os.environ.get("WARROOM_RECORD_HISTORIES"):
        HISTORIES.mkdir(exist_ok=True)
        (HISTORIES / f"{name}.json").write_text(history.to_json())


SAVED = sorted(HISTORIES.glob("*.json"))


def test_histories_are_saved() -> None:
    assert {p.stem for p in SAVED} >= set(SCENARIOS), "record the histories (see module doc)"


@pytest.mark.parametrize("path", SAVED, ids=[p.stem for p in SAVED])
async def test_saved_history_replays(path: Path) -> None:
    """Incidents recorded on earlier code must replay on this code."""
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    await _replayer().replay_workflow(history)
