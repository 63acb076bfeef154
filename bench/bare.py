"""The bare-Temporal baseline: minimal workflows with no product on top.

``BareIncident`` counts signals (the ingest baseline).
``BarePage`` and ``BareLadder`` post to an HTTP sink through the ``bare.page``
activity (the latency and timer baselines); ``BareOpen`` stays open and takes
one update (the capacity baseline). They run on their own worker process, as
the Warroom worker does, with the SDK's default worker settings (the same
workflow cache size as the Warroom worker):

    TEMPORAL_ADDRESS=... WARROOM_TASK_QUEUE=... [WARROOM_METRICS_ADDR=host:port] \\
        python -m bench.bare

``WARROOM_METRICS_ADDR`` serves the SDK's Prometheus metrics, as it does for
the Warroom worker.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    import httpx

PAGE_TIMEOUT = timedelta(seconds=10)


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


@workflow.defn(name="BarePage")
class BarePage:
    """Pages once when the first alert arrives: alert-to-page with no product on top."""

    def __init__(self) -> None:
        self.firings = 0

    @workflow.run
    async def run(self, sink: str, incident: str) -> None:
        """Wait for the first firing, then post one page to ``sink``."""
        await workflow.wait_condition(lambda: self.firings > 0)
        await workflow.execute_activity(
            "bare.page", args=[sink, {"incident": incident}], start_to_close_timeout=PAGE_TIMEOUT
        )

    @workflow.signal
    def fire(self, count: int) -> None:
        """One delivery (the start signal)."""
        self.firings += count


@workflow.defn(name="BareLadder")
class BareLadder:
    """Sleeps to each offset (seconds after start) and posts one page per step to ``sink``."""

    @workflow.run
    async def run(self, sink: str, incident: str, offsets: list[float]) -> None:
        """Walk the ladder; each page says when it was due and when it was sent."""
        opened = workflow.now()
        for step, offset in enumerate(offsets):
            due = opened + timedelta(seconds=offset)
            delay = due - workflow.now()
            if delay > timedelta(0):
                await workflow.sleep(delay)
            page = {
                "incident": incident,
                "step": step,
                "due": due.timestamp(),
                "at": workflow.now().timestamp(),
            }
            await workflow.execute_activity(
                "bare.page", args=[sink, page], start_to_close_timeout=PAGE_TIMEOUT
            )


@workflow.defn(name="BareOpen")
class BareOpen:
    """Stays open forever; each ``note`` update appends a line and returns how many there are."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    @workflow.run
    async def run(self) -> int:
        """Wait forever; the benchmark leaves it running."""
        await workflow.wait_condition(lambda: False)
        return len(self.notes)

    @workflow.update
    def note(self, text: str) -> int:
        """A harmless decision: one line kept in the workflow's state."""
        self.notes.append(text)
        return len(self.notes)


class Pager:
    """The one activity the bare workflows run: POST a JSON body."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    @activity.defn(name="bare.page")
    async def page(self, sink: str, body: dict[str, Any]) -> None:
        """Post ``body`` to ``sink``; a non-2xx answer fails the attempt."""
        response = await self._http.post(sink, json=body)
        response.raise_for_status()


async def serve() -> None:
    """Run a worker for the bare workflows on ``WARROOM_TASK_QUEUE`` until SIGINT/SIGTERM."""
    from temporalio.worker import Worker

    from settings import TemporalSettings, connect

    metrics = os.environ.get("WARROOM_METRICS_ADDR", "").strip() or None
    client = await connect(TemporalSettings.from_env(), metrics_addr=metrics)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with httpx.AsyncClient() as http:
        worker = Worker(
            client,
            task_queue=os.environ["WARROOM_TASK_QUEUE"],
            workflows=[BareIncident, BarePage, BareLadder, BareOpen],
            activities=[Pager(http).page],
        )
        async with worker:
            await stop.wait()


if __name__ == "__main__":
    asyncio.run(serve())
    sys.stdout.flush()
    os._exit(0)  # the SDK's core threads can abort a normal interpreter shutdown
