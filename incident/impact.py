"""How an incident looks from outside: a service's state on the status page, and which of
the customer templates an update follows."""

from __future__ import annotations

from enum import StrEnum


class ComponentImpact(StrEnum):
    """How a service looks to its customers while an incident is open (Atlassian
    Statuspage's component statuses, so the connector sends them as they are)."""

    OPERATIONAL = "operational"
    DEGRADED = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"

    @property
    def words(self) -> str:
        """``partial outage`` rather than ``partial_outage``."""
        if self is ComponentImpact.DEGRADED:
            return "degraded performance"
        return self.value.replace("_", " ")

    @property
    def rank(self) -> int:
        """Worse is higher: a component shows its worst open incident."""
        return list(ComponentImpact).index(self)


class CustomerStage(StrEnum):
    """Which of the runbooks' customer templates an update follows."""

    INITIAL = "initial"
    PROGRESS = "progress"
    RESOLUTION = "resolution"
