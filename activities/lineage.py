"""An incident's predecessor: the last closed incident of the same alert group."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client

from incident.models import PreviousIncident
from incident.search_attributes import INCIDENT_ID


class LineageActivities:
    """Looks up earlier incidents of a workflow ID in Temporal's visibility store."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @activity.defn(name="incidents.last_closed")
    async def last_closed(self, workflow_id: str) -> PreviousIncident | None:
        """The most recently closed incident with this workflow ID, if any.

        Runs that continued as new belong to the incident still open, so they
        are not predecessors.
        """
        query = (
            f'WorkflowId = "{workflow_id}" AND ExecutionStatus != "Running" '
            f'AND ExecutionStatus != "ContinuedAsNew"'
        )
        latest: PreviousIncident | None = None
        async for execution in self._client.list_workflows(query, limit=20):
            human = execution.typed_search_attributes.get(INCIDENT_ID)
            closed = execution.close_time
            if human and closed and (latest is None or closed > latest.closed_at):
                latest = PreviousIncident(human_id=human, closed_at=closed)
        return latest
