"""The policy the worker was started with, handed to new incidents."""

from __future__ import annotations

from temporalio import activity

from incident.policy import Policy


class PolicyActivities:
    """Serves the worker's loaded policy; an incident records it at declaration."""

    def __init__(self, policy: Policy) -> None:
        self._policy = policy

    @activity.defn(name="policy.current")
    async def current(self) -> Policy:
        """The policy in force on this worker."""
        return self._policy
