"""The bare-Temporal baseline: a minimal workflow that counts signals, and nothing else."""

from __future__ import annotations

from temporalio import workflow


@workflow.defn(name="BareIncident")
class BareIncident:
    """Counts firings until cancelled: what signal-with-start costs with no product on top."""

    def __init__(self) -> None:
        self.firings = 0

    @workflow.run
    async def run(self) -> int:
        """Wait forever; the benchmark leaves it running."""
        await workflow.wait_condition(lambda: False)
        return self.firings

    @workflow.signal
    def fire(self, count: int) -> None:
        """One delivery."""
        self.firings += count
