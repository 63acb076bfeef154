"""The incident's typed search attributes: one place for the names the workflow sets, the
Web UI and `warroom list` filter on, and the activities read."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, TypedSearchAttributes

INCIDENT_ID = SearchAttributeKey.for_keyword("IncidentId")
INCIDENT_SEVERITY = SearchAttributeKey.for_keyword("IncidentSeverity")
INCIDENT_PHASE = SearchAttributeKey.for_keyword("IncidentPhase")
INCIDENT_STATUS = SearchAttributeKey.for_keyword("IncidentStatus")
INCIDENT_SERVICE = SearchAttributeKey.for_keyword("IncidentService")
INCIDENT_COMMANDER = SearchAttributeKey.for_keyword("IncidentCommander")

ALL: tuple[SearchAttributeKey[str], ...] = (
    INCIDENT_ID,
    INCIDENT_SEVERITY,
    INCIDENT_PHASE,
    INCIDENT_STATUS,
    INCIDENT_SERVICE,
    INCIDENT_COMMANDER,
)
"""Every key the workflow sets; the worker registers them in its namespace."""

BY_NAME: dict[str, SearchAttributeKey[str]] = {key.name: key for key in ALL}


def values_in(attributes: TypedSearchAttributes) -> dict[str, str]:
    """The incident's keys among ``attributes``, by name (what a run already shows)."""
    return {key.name: value for key in ALL if (value := attributes.get(key)) is not None}
