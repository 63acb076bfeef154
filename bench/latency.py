"""Alert-to-page latency through the real HTTP hook, beside bare Temporal in the same run.

    python -m bench.latency [--incidents 200] [--concurrency 4] [--sequential 50]

Starts its own Temporal dev server (SQLite file, WAL pragmas), embedded
Postgres, the Warroom worker and hook service as their own processes, and an
HTTP sink in this process that the worker's one webhook channel points at.

Each incident is an Alertmanager v4 notification with a new ``groupKey``,
POSTed to /hooks/alertmanager; its latency runs from the start of the POST to
the arrival at the sink of the first notice of that incident (matched by the
workflow ID in the notice's link). ``concurrency`` incidents are in flight at
a time (closed loop: the next POST goes out when a page arrives): first
``--sequential`` incidents one at a time, then ``--incidents`` at
``--concurrency``.

Baseline, on the same server and sink, measured first: the bench process
signal-with-starts ``BarePage`` (bench/bare.py), which runs one activity that
POSTs to the sink; time from the start call to arrival. Its worker is its own
process (``python -m bench.bare``) with default worker options, like the
Warroom worker. A few warm-up incidents on each side are not counted.

Afterwards it reads one incident's history on each side: the activities
scheduled before the first page (Warroom ``notify.deliver``, bare ``bare.page``)
and in how many round trips (workflow tasks that scheduled them). Prints
p50/p99/max for both, checks the goals (issue 17: Warroom p99 ≤ 1.5x bare;
and p99 < 1 s on the dev server), and writes bench/results/latency.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench.bare import BarePage
from bench.goals import NOT_MEASURED, Goal, dig, plural
from bench.ingest import notification
from bench.stack import bench_stack, finish, linked_workflow_id, pool, save, summary_ms
from incident.ids import incident_workflow_id
from starter.receiver import HttpReceiver, Received

WARM_UP = 5
PAGE_WAIT = 30.0
"""Seconds an incident may take to page before it counts as missed."""
GOAL_P99_S = 1.0
PAGE_ACTIVITY = {"warroom": "notify.deliver", "bare": "bare.page"}
"""The activity that delivers a page, on each side."""


class Pages:
    """The sink's side: when the first notice of each awaited incident arrived."""

    def __init__(self) -> None:
        self.waiting: dict[str, asyncio.Future[float]] = {}
        self.notices = 0

    def expect(self, key: str) -> asyncio.Future[float]:
        """A future resolved with the arrival time (perf_counter) of ``key``'s first notice."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[key] = future
        return future

    def receive(self, request: Received) -> None:
        """``on_receive`` of the sink: Warroom notices on /warroom, bare pages on /bare."""
        arrived = time.perf_counter()
        self.notices += 1
        body = request.json()
        key = body["incident"] if request.path.startswith("/bare") else linked_workflow_id(body)
        future = self.waiting.get(key)
        if future is not None and not future.done():
            future.set_result(arrived)


async def measure(
    keys: list[str],
    concurrency: int,
    pages: Pages,
    send: Callable[[str], Awaitable[None]],
) -> tuple[list[float], int]:
    """Send each incident with ``concurrency`` in flight; latencies (s) and how many missed."""
    latencies: list[float] = []
    missed = 0

    async def one(key: str) -> None:
        nonlocal missed
        future = pages.expect(key)
        started = time.perf_counter()
        await send(key)
        try:
            latencies.append(await asyncio.wait_for(future, PAGE_WAIT) - started)
        except TimeoutError:
            missed += 1

    await pool(keys, concurrency, one)
    return latencies, missed


async def run(incidents: int, concurrency: int, sequential: int) -> dict[str, Any]:
    """Run the whole benchmark; returns the figures."""
    pages = Pages()
    async with bench_stack() as stack, HttpReceiver(on_receive=pages.receive) as sink:
        channel = {"name": "sink", "kind": "webhook", "url": f"{sink.url}/warroom"}
        await stack.spawn("worker", {"WARROOM_CHANNELS": json.dumps([channel])})
        bare_queue = f"{stack.task_queue}-bare"
        await stack.spawn("bench.bare", {"WARROOM_TASK_QUEUE": bare_queue})
        hooks = await stack.hooks()
        await stack.polled(stack.task_queue, bare_queue)
        async with httpx.AsyncClient(timeout=60, headers=stack.hook_headers) as http:
            senders: dict[str, WarroomSender | BareSender] = {
                "bare": BareSender(stack.client, bare_queue, f"{sink.url}/bare"),
                "warroom": WarroomSender(http, hooks),
            }
            figures: dict[str, Any] = {}
            trips: dict[str, Any] = {}
            for name, send in senders.items():  # the baseline first, on a quiet server
                await measure(send.new(WARM_UP), 1, pages, send)
                keys = send.new(sequential)
                seq, seq_missed = await measure(keys, 1, pages, send)
                conc, conc_missed = await measure(send.new(incidents), concurrency, pages, send)
                figures[name] = {
                    "sequential": {**summary_ms(seq), "missed": seq_missed},
                    "concurrent": {**summary_ms(conc), "missed": conc_missed},
                }
                trips[name] = await before_first_page(stack.client, keys[-1], PAGE_ACTIVITY[name])
    figures.update(incidents=incidents, concurrency=concurrency, sequential=sequential)
    figures["notices_received"] = pages.notices
    figures["before_first_page"] = trips
    phases = figures["warroom"].values()
    figures["goal_p99_ms"] = GOAL_P99_S * 1000
    figures["goal_met"] = all(f["p99_ms"] < GOAL_P99_S * 1000 and f["missed"] == 0 for f in phases)
    return figures


async def before_first_page(client: Client, workflow_id: str, page: str) -> dict[str, Any]:
    """What one workflow ran before its first ``page`` activity: the activities of earlier
    workflow tasks (those scheduled by the same task run side by side: one round trip each
    task), and how many workflow tasks it took, the page's own included."""
    scheduled: list[tuple[str, int]] = []
    workflow_tasks = 0
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            workflow_tasks += 1
        if event.event_type != EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            continue
        attributes = event.activity_task_scheduled_event_attributes
        task = attributes.workflow_task_completed_event_id
        if attributes.activity_type.name == page:
            earlier = [(name, t) for name, t in scheduled if t != task]
            return {
                "activities": [name for name, _ in earlier],
                "round_trips": len({t for _, t in earlier}),
                "workflow_tasks": workflow_tasks,
            }
        scheduled.append((attributes.activity_type.name, task))
    raise RuntimeError(f"{workflow_id} never ran {page}")


class WarroomSender:
    """New incidents for the hook: one-alert notifications, each of a new group."""

    def __init__(self, http: httpx.AsyncClient, hooks: str) -> None:
        self._http = http
        self._url = f"{hooks}/hooks/alertmanager"
        self._bodies: dict[str, bytes] = {}

    def new(self, count: int) -> list[str]:
        """``count`` new incidents, named by the workflow ID their notices link to."""
        keys = []
        for _ in range(count):
            body = notification(f"Page{uuid.uuid4().hex[:12]}", 1)
            key = incident_workflow_id("alertmanager", body["groupKey"])
            self._bodies[key] = json.dumps(body).encode()
            keys.append(key)
        return keys

    async def __call__(self, key: str) -> None:
        headers = {"Content-Type": "application/json"}
        response = await self._http.post(self._url, content=self._bodies.pop(key), headers=headers)
        if response.status_code != 202:
            raise RuntimeError(f"hook answered {response.status_code}: {response.text[:200]}")


class BareSender:
    """New bare incidents: signal-with-start of ``BarePage`` from this process."""

    def __init__(self, client: Client, task_queue: str, sink: str) -> None:
        self._client = client
        self._task_queue = task_queue
        self._sink = sink

    def new(self, count: int) -> list[str]:
        """``count`` new workflow IDs."""
        return [f"bare-page-{uuid.uuid4().hex}" for _ in range(count)]

    async def __call__(self, workflow_id: str) -> None:
        await self._client.start_workflow(
            BarePage.run,
            args=[self._sink, workflow_id],
            id=workflow_id,
            task_queue=self._task_queue,
            start_signal="fire",
            start_signal_args=[1],
        )


def report(figures: dict[str, Any]) -> str:
    """The figures as a table, with the goal."""
    lines = [
        f"alert-to-page latency: {figures['sequential']} incidents one at a time, then "
        f"{figures['incidents']} with {figures['concurrency']} in flight",
    ]
    for phase in ("sequential", "concurrent"):
        for name, label in (("warroom", "Warroom (hook → notice)"), ("bare", "bare Temporal")):
            f = figures[name][phase]
            lines.append(
                f"  {phase:10s}  {label:24s}  p50 {f['p50_ms']:7.1f} ms  p99 {f['p99_ms']:7.1f} ms"
                f"  max {f['max_ms']:7.1f} ms  ({f['count']} paged, {f['missed']} missed)"
            )
    w, b = figures["warroom"]["concurrent"], figures["bare"]["concurrent"]
    if b["p50_ms"] > 0:
        lines.append(
            f"  Warroom ÷ bare at concurrency {figures['concurrency']}: "
            f"p50 x{w['p50_ms'] / b['p50_ms']:.1f}, p99 x{w['p99_ms'] / max(b['p99_ms'], 0.1):.1f}"
        )
    verdict = "met" if figures["goal_met"] else "missed"
    lines.append(
        f"  goal p99 < {figures['goal_p99_ms'] / 1000:.0f} s, none missed, both phases: {verdict}"
    )
    lines += [f"  {line}" for line in _trips(figures)]
    lines += [goal.line() for goal in goals(figures)]
    return "\n".join(lines)


def goals(figures: dict[str, Any]) -> list[Goal]:
    """Issue 17: alert-to-page p99 ≤ 1.5x bare, at ``--concurrency`` in flight, none missed."""
    w, b = dig(figures, "warroom", "concurrent"), dig(figures, "bare", "concurrent")
    if w is None or b is None:
        return [Goal("alert-to-page p99", 1.5, None, None, "ms", requires="none missed")]
    phases = {"sequential": "one at a time", "concurrent": f"{figures['concurrency']} in flight"}
    why = [
        f"{label}, Warroom vs bare: "
        + ", ".join(
            f"{q[:3]} {figures['warroom'][phase][q]:.0f} vs {figures['bare'][phase][q]:.0f} ms"
            for q in ("p50_ms", "p99_ms")
        )
        for phase, label in phases.items()
    ]
    return [
        Goal(
            f"alert-to-page p99 ({figures['concurrency']} in flight)",
            1.5,
            w["p99_ms"],
            b["p99_ms"],
            "ms",
            requires="none missed",
            conditions=((f"{w['missed']} missed", w["missed"] == 0),),
            why=(*_trips(figures), *why),
        )
    ]


def _trips(figures: dict[str, Any]) -> list[str]:
    """What each side ran before its first page, from one incident's history."""
    lines = []
    for name, label in (("warroom", "Warroom"), ("bare", "bare")):
        trips = dig(figures, "before_first_page", name)
        if trips is None:
            lines.append(f"{label} before the first page: {NOT_MEASURED}")
            continue
        names = ", ".join(trips["activities"]) or "no activity"
        lines.append(
            f"{label} before the first page: {plural(trips['round_trips'], 'activity round trip')}"
            f" ({names}), {plural(trips['workflow_tasks'], 'workflow task')} (the page's own "
            "included)"
        )
    return lines


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--incidents", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--sequential", type=int, default=50)
    args = parser.parse_args()
    figures = asyncio.run(run(args.incidents, args.concurrency, args.sequential))
    print(report(figures), flush=True)
    save("latency", figures)
    finish()


if __name__ == "__main__":
    main()
