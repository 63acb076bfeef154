"""Which writes to the store go at once and which wait for a later one (``can_wait``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from incident.lifecycle import Incident
from incident.models import (
    Acknowledge,
    AddNote,
    Declaration,
    IncidentState,
    PostCustomerUpdate,
    Resolve,
)
from incident.policy import load_policy
from incident.records import (
    WAIT_EVENTS_AT_MOST,
    IncidentRow,
    RecordBatch,
    can_wait,
    pending_batch,
    seen_live,
    unrecorded_since,
)
from incident.severity import Severity
from tests.support.checks import VOUCHED

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
EVERY = 30 * MIN
"""A P1's status-update interval in the shipped policy."""


def _written() -> tuple[Incident, IncidentRow]:
    """A P1 whose declaration the store has taken."""
    incident, _ = Incident.open(
        human_id="INC-RECORD",
        source="manual",
        dedup_key=None,
        declaration=Declaration(title="Checkout down", severity=Severity.P1, actor="bob"),
        alerts=[],
        policy=load_policy(),
        now=T0,
    )
    first = _batch(incident)
    incident.mark_recorded(first, T0)
    return incident, first.row


def _batch(incident: Incident) -> RecordBatch:
    batch = pending_batch(
        incident.state, "wf", incident.postmortem_deadlines(), incident.customer_impact()
    )
    assert batch is not None
    return batch


def _since(state: IncidentState) -> datetime:
    since = unrecorded_since(state)
    assert since is not None
    return since


def test_what_nobody_reads_live_waits_for_a_later_write() -> None:
    incident, written = _written()
    incident.apply(Acknowledge(actor="bob"), T0 + 5 * MIN)
    incident.apply(AddNote(actor="bob", text="replica lag"), T0 + 6 * MIN)
    batch = _batch(incident)
    assert can_wait(batch, written, _since(incident.state), T0 + 6 * MIN, EVERY)
    # ... for one status-update interval only, and not at all for a severity without one.
    assert not can_wait(batch, written, _since(incident.state), T0 + 5 * MIN + EVERY, EVERY)
    assert not can_wait(batch, written, _since(incident.state), T0 + 6 * MIN, None)


def test_the_first_write_of_a_run_goes_at_once() -> None:
    incident, _ = _written()
    incident.apply(AddNote(actor="bob", text="replica lag"), T0 + MIN)
    assert not can_wait(_batch(incident), None, T0 + MIN, T0 + MIN, EVERY)


def test_what_the_status_page_shows_goes_at_once() -> None:
    incident, written = _written()
    incident.apply(PostCustomerUpdate(actor="bob"), T0 + MIN)
    batch = _batch(incident)
    assert batch.customer_updates
    assert seen_live(batch.row) == seen_live(written)  # the update alone makes it go
    assert not can_wait(batch, written, T0 + MIN, T0 + MIN, EVERY)


def test_once_resolution_is_declared_and_recovered_everything_goes_at_once() -> None:
    incident, written = _written()
    incident.apply(Resolve(actor="bob", root_cause="disk full", verified=VOUCHED), T0 + MIN)
    batch = _batch(incident)
    assert batch.row.resolved_at is None  # monitoring: not resolved yet, so it may wait
    assert can_wait(batch, written, T0 + MIN, T0 + MIN, EVERY)
    resolved = batch.row.model_copy(update={"resolved_at": T0 + 2 * MIN})
    assert not can_wait(
        batch.model_copy(update={"row": resolved}), written, T0 + MIN, T0 + 2 * MIN, EVERY
    )


def test_a_long_burst_goes_at_once() -> None:
    incident, written = _written()
    for i in range(WAIT_EVENTS_AT_MOST):
        incident.apply(AddNote(actor="bot", text=f"note {i}"), T0 + MIN)
    assert not can_wait(_batch(incident), written, T0 + MIN, T0 + MIN, EVERY)
