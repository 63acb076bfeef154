"""What a run hands to the next one when it ends without closing for good.

A run continues as new in two ways: the same incident goes on in a fresh
history, carrying its state and what was in flight; or, when alerts fired while
the incident was closing, the alert group's next incident opens, linked to it.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from incident.bounds import CARRIED_STATE_BYTES, payload_bytes
    from incident.lifecycle import Incident
    from incident.models import AlertBatch, CarriedIncident, IncidentStart, PreviousIncident


def same_incident(
    incident: Incident, carried: CarriedIncident, after_close: list[AlertBatch]
) -> IncidentStart:
    """The input that carries the incident on; its state fitted so the input stays in bounds."""
    beside_state = payload_bytes(carried) - payload_bytes(incident.state)
    incident.fit(CARRIED_STATE_BYTES - beside_state)  # over the limit, the run would end
    return IncidentStart(
        source=incident.state.source,
        dedup_key=incident.state.dedup_key,
        carried=carried,
        alerts=after_close,
    )


def next_incident(incident: Incident, alerts: list[AlertBatch], now: datetime) -> IncidentStart:
    """The input that opens the group's next incident from the alerts held since close."""
    state = incident.state
    return IncidentStart(
        source=state.source,
        dedup_key=state.dedup_key,
        alerts=alerts,
        follows=PreviousIncident(human_id=state.human_id, closed_at=state.closed_at or now),
    )
