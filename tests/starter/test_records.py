"""The record read back: the postmortem draft and the reports, from Postgres."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import asyncpg

from incident.models import (
    Acknowledge,
    AddActionItem,
    AddNote,
    IncidentState,
    Phase,
    PostmortemStatus,
    RaiseFlag,
    Resolve,
    SubmitPostmortem,
)
from incident.severity import Severity
from starter.api import decide
from starter.records import postmortem_draft, report
from tests.support.checks import VOUCHED
from tests.support.harness import Harness

MIN = timedelta(minutes=1)


async def _resolved_incident(harness: Harness) -> IncidentState:
    incident = await harness.declare(Severity.P0, title="Payments failing", commander="dana")
    await harness.advance(incident, 7 * MIN)  # past the 5 min ack deadline
    await decide(incident, Acknowledge(actor="dana", reason="paged"))
    await decide(incident, RaiseFlag(actor="dana", flag="data_loss", reason="orders lost"))
    await decide(incident, AddNote(actor="scribe", text="queue | backlog at 40k"))
    await decide(
        incident, Resolve(actor="dana", root_cause="expired TLS certificate", verified=VOUCHED)
    )
    await decide(
        incident,
        AddActionItem(
            actor="dana", description="Alert 14 days before expiry", owner="sre", priority="P1"
        ),
    )
    await harness.advance(incident, 61 * MIN)
    await harness.until(incident, lambda s: s.phase is Phase.POST_INCIDENT)
    await decide(
        incident,
        SubmitPostmortem(
            actor="dana",
            status=PostmortemStatus.DRAFT,
            summary="Payments failed for an hour",
            contributing_factors=["No expiry alert", "Manual renewal"],
        ),
    )
    return await harness.until(incident, lambda s: s.recorded_seq == s.timeline_seq)


async def test_postmortem_draft_follows_the_runbook_structure(harness: Harness) -> None:
    state = await _resolved_incident(harness)
    draft = await postmortem_draft(harness.database_url, state.human_id)
    for heading in (
        "# Post-Mortem: Payments failing",
        "## Summary",
        "## Impact",
        "## Timeline (All times UTC)",
        "## Root Cause",
        "## Contributing Factors",
        "## Resolution",
        "## Lessons Learned",
        "## Action Items",
    ):
        assert heading in draft
    assert f"**Incident ID:** {state.human_id}" in draft
    assert "expired TLS certificate" in draft
    assert "1. No expiry alert" in draft and "2. Manual renewal" in draft
    assert "**Data loss:** Yes" in draft
    rows = [line for line in draft.splitlines() if line.startswith("| 20")]
    assert len(rows) == len(state.timeline)  # every stored event, in order, one row each
    assert "queue / backlog at 40k (scribe)" in draft  # table-safe
    due = state.action_items[0].due
    assert due is not None
    assert f"| 1 | Alert 14 days before expiry | @sre | {due:%Y-%m-%d} | P1 |" in draft
    # The worker's store keeps the draft beside the record; reading it writes nothing.
    conn = await asyncpg.connect(harness.database_url)
    saved = await conn.fetchval(
        "SELECT draft FROM postmortem_drafts WHERE human_id = $1", state.human_id
    )
    assert saved == draft
    await conn.execute("DELETE FROM postmortem_drafts WHERE human_id = $1", state.human_id)
    assert await postmortem_draft(harness.database_url, state.human_id) == draft
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM postmortem_drafts WHERE human_id = $1", state.human_id
        )
        == 0
    )
    await conn.close()


async def test_reports_from_the_record(harness: Harness) -> None:
    state = await _resolved_incident(harness)
    now = datetime.now(UTC) + timedelta(days=1)  # the incident's clock ran ahead
    rows = await report(
        harness.database_url, since=state.declared_at - MIN, until=now, by="severity"
    )
    p0 = next(r for r in rows if r.group == "P0")
    assert p0.incidents >= 1
    assert p0.response_breaches >= 1  # acknowledged after the 5 min deadline
    assert p0.mtta is not None and p0.mttr is not None

    text = await harness.ok("report", "--since", "400d", "--by", "service")
    assert "MTTA" in text and "agents" in text
    data = json.loads(await harness.ok("--json", "report", "--since", "400d"))
    assert any(row["group"] == "P0" and row["mtta"] > 0 for row in data)
    draft = json.loads(await harness.ok("--json", "postmortem", "show", state.human_id))["draft"]
    assert "## Action Items" in draft
