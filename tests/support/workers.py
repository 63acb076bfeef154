"""Workers for tests: the real worker build, pointed at a test receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from temporalio.worker import Worker

from activities.channels import Channel
from activities.store import StoreActivities
from incident.policy import Policy
from tests.support.harness import Harness
from worker.run import People, build_worker


@asynccontextmanager
async def running_worker(
    harness: Harness,
    policy: Policy,
    *,
    prometheus_url: str | None = None,
    channel_names: tuple[str, ...] = ("hook",),
    control_plane_url: str | None = None,
    people: People | None = None,
    audiences: dict[str, list[str]] | None = None,
) -> AsyncIterator[Worker]:
    """Run a worker for ``harness``'s task queue until the block ends (a restart is two blocks).

    Each name in ``channel_names`` becomes a webhook channel posting to
    ``<receiver>/<name>``, serving the audiences ``audiences`` gives it (by default the
    incident channel's).
    """
    served = audiences or {}
    channels = [
        Channel.model_validate(
            {"name": name, "kind": "webhook", "url": f"{harness.receiver.url}/{name}"}
            | ({"audiences": served[name]} if name in served else {})
        )
        for name in channel_names
    ]
    store = StoreActivities(harness.database_url)
    await store.open()
    try:
        async with httpx.AsyncClient() as http:
            worker = build_worker(
                harness.client,
                task_queue=harness.task_queue,
                policy=policy,
                channels=channels,
                http=http,
                prometheus_url=prometheus_url,
                ui_url="http://localhost:8233",
                store=store,
                control_plane_url=control_plane_url,
                people=people,
            )
            async with worker:
                yield worker
    finally:
        # Also when the test fails: a pool left to the garbage collector warns in a later test.
        await store.close()
