"""Open-incident capacity: many open incidents on one worker process, beside bare Temporal.

    python -m bench.capacity [--incidents 10000] [--sample 500] [--concurrency 32]

Starts its own Temporal dev server (SQLite file, WAL pragmas) and embedded
Postgres, then, one side after the other on the same server:

  Warroom: the real worker as its own process (``python -m worker``, its SDK
     metrics on a local port). ``--incidents`` incidents (``--severity``, P3 by
     default) are declared through the Python API
     (``starter.api.declare_incident``, ``--concurrency`` in flight) and the
     benchmark waits until every one is triaged (visibility count, as
     bench/ingest.py does). No timer should fall due while it runs (P3's
     earliest is the 2 h ack deadline); the report checks it.
  bare: a bare worker process (``python -m bench.bare``) holding the same
     number of ``BareOpen`` workflows (bench/bare.py: one update handler);
     they count as open once the worker has run as many workflow tasks.

For each side it samples the worker's RSS (``/proc/<pid>/status``) idle, while
opening (peak), after ``--settle`` seconds of quiet, and after the updates; then
it sends a harmless decision (Warroom ``AddNote`` through ``starter.api.decide``;
bare: the ``note`` update) to a random ``--sample`` of the open workflows,
``--update-concurrency`` at a time, twice: at 10,000 the first pass mostly
finds them evicted from the worker's workflow cache (1000 on both sides: the
SDK default, and the Warroom worker's ``WARROOM_CACHED_INCIDENTS`` default),
so the worker fetches and replays their history; the second pass finds the same ones
cached. It prints update p50/p99 per pass, the RSS figures (goal: Warroom
under 1 GiB) and the worker's sticky-cache counters (hits, misses, size,
forced evictions) during each pass. The Warroom worker is stopped before the
bare side starts. Writes bench/results/capacity.json.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from bench.bare import BareOpen
from bench.goals import Goal
from bench.ingest import drain
from bench.stack import bench_stack, finish, pool, rss_bytes, save, summary_ms
from dev.ports import free_port
from incident.models import AddNote, Declaration
from incident.severity import Severity
from starter.api import IncidentHandle, decide, declare_incident
from worker.settings import DEFAULT_CACHED_INCIDENTS
from workflows.incident import IncidentWorkflow

GOAL_RSS = 2**30
MIB = 2**20
CACHE = ("sticky_cache", "forced_eviction")
TASKS = "workflow_task_execution_latency_count"
SDK_CACHE: int = inspect.signature(Worker.__init__).parameters["max_cached_workflows"].default
"""The workflow cache size both workers run with (the bare worker does not set it)."""
assert SDK_CACHE == DEFAULT_CACHED_INCIDENTS, "the two sides would not cache alike"


async def scrape(url: str) -> dict[str, float]:
    """The worker's SDK metrics we report: sticky-cache figures and workflow tasks run."""
    async with httpx.AsyncClient(timeout=5) as http:
        text = (await http.get(url)).text
    totals: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if any(key in name for key in CACHE) or name.endswith(TASKS):
            totals[name] = totals.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return totals


def cache_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Counters as the change between two scrapes; the cache size as it stands afterwards."""
    out: dict[str, float] = {}
    for name, value in after.items():
        short = name.removeprefix("temporal_").removesuffix("_total")
        out[short] = value if "size" in name else value - before.get(name, 0.0)
    return out


@dataclass
class Side:
    """One worker process and how to open, wait for and update its workflows."""

    label: str
    pid: int
    metrics: str
    open_one: Callable[[str], Awaitable[Any]]
    wait_open: Callable[[int], Awaitable[None]]
    update_one: Callable[[str], Awaitable[Any]]


async def measure(
    side: Side, incidents: int, sample: int, concurrency: int, updates: int, settle: float
) -> dict[str, Any]:
    """Open ``incidents``, let them settle, then two passes of updates to a random sample."""
    figures: dict[str, Any] = {"rss_idle": rss_bytes(side.pid)}
    ids = [f"cap-{side.label}-{uuid.uuid4().hex[:16]}" for _ in range(incidents)]
    started = time.perf_counter()
    opened = await pool(ids, concurrency, side.open_one)
    figures["open_seconds"] = round(time.perf_counter() - started, 1)
    figures["open_call"] = summary_ms(opened)
    await side.wait_open(incidents)
    figures["all_open_seconds"] = round(time.perf_counter() - started, 1)
    figures["rss_peak_opening"] = rss_bytes(side.pid, peak=True)
    rss: list[int] = []
    for _ in range(max(1, int(settle))):
        await asyncio.sleep(1)
        rss.append(rss_bytes(side.pid))
    figures["rss_settled"] = rss[-1]
    figures["rss_settle_mib"] = [round(r / MIB) for r in rss]
    chosen = random.sample(ids, min(sample, incidents))
    for name in ("evicted", "cached"):  # the second pass finds the sampled ones in the cache
        before = await scrape(side.metrics)
        latencies = await pool(chosen, updates, side.update_one)
        after = await scrape(side.metrics)
        figures[name] = {**summary_ms(latencies), "cache": cache_delta(before, after)}
        figures[f"rss_after_{name}"] = rss_bytes(side.pid)
    figures["rss_peak"] = rss_bytes(side.pid, peak=True)
    figures["ids"] = ids[:1]
    return figures


async def wait_tasks(url: str, at_least: int, quiet: float = 2.0) -> None:
    """Until the worker has run ``at_least`` workflow tasks and then ``quiet`` s with none."""
    last, still = -1.0, time.perf_counter()
    while True:
        tasks = sum(v for k, v in (await scrape(url)).items() if k.endswith(TASKS))
        if tasks != last:
            last, still = tasks, time.perf_counter()
        elif tasks >= at_least and time.perf_counter() - still >= quiet:
            return
        await asyncio.sleep(0.5)


async def run(
    incidents: int,
    sample: int,
    concurrency: int,
    updates: int,
    settle: float,
    severity: Severity = Severity.P3,
) -> dict[str, Any]:
    """Run both sides on one fresh stack; returns the figures."""
    figures: dict[str, Any] = {}
    async with bench_stack() as stack:
        client = stack.client
        port = free_port()
        worker = await stack.spawn("worker", {"WARROOM_METRICS_ADDR": f"127.0.0.1:{port}"})
        await stack.polled(stack.task_queue)

        async def declare(workflow_id: str) -> None:
            declaration = Declaration(
                title="capacity", severity=severity, actor="bench", service="bench"
            )
            await declare_incident(
                client, declaration, task_queue=stack.task_queue, workflow_id=workflow_id
            )

        async def wait_triaged(expected: int) -> None:
            await drain(client, stack.task_queue, expected)

        async def note(workflow_id: str) -> None:
            handle: IncidentHandle = client.get_workflow_handle_for(
                IncidentWorkflow.run, workflow_id
            )
            await decide(handle, AddNote(actor="bench", text="capacity probe"))

        metrics = f"http://127.0.0.1:{port}/metrics"
        warroom = Side("warroom", worker.pid, metrics, declare, wait_triaged, note)
        figures["warroom"] = await measure(warroom, incidents, sample, concurrency, updates, settle)
        figures["warroom"]["first_timer_due_after_s"] = await _first_timer(
            client, figures["warroom"].pop("ids")[0]
        )
        await stack.stop(worker)

        bare_queue = f"{stack.task_queue}-bare"
        port = free_port()
        bare_worker = await stack.spawn(
            "bench.bare",
            {"WARROOM_TASK_QUEUE": bare_queue, "WARROOM_METRICS_ADDR": f"127.0.0.1:{port}"},
        )
        await stack.polled(bare_queue)
        metrics = f"http://127.0.0.1:{port}/metrics"

        async def bare_open(workflow_id: str) -> None:
            await client.start_workflow(BareOpen.run, id=workflow_id, task_queue=bare_queue)

        async def bare_wait(expected: int) -> None:
            await wait_tasks(metrics, expected)

        async def bare_note(workflow_id: str) -> None:
            await client.get_workflow_handle(workflow_id).execute_update(
                BareOpen.note, "capacity probe"
            )

        bare = Side("bare", bare_worker.pid, metrics, bare_open, bare_wait, bare_note)
        figures["bare"] = await measure(bare, incidents, sample, concurrency, updates, settle)
        figures["bare"].pop("ids")
    figures.update(
        incidents=incidents,
        sample=min(sample, incidents),
        concurrency=concurrency,
        update_concurrency=updates,
        settle_s=settle,
        severity=severity.value,
        max_cached_workflows=SDK_CACHE,
    )
    return figures


async def _first_timer(client: Client, workflow_id: str) -> float:
    """Seconds from now until the first-opened incident's soonest timer falls due."""
    handle: IncidentHandle = client.get_workflow_handle_for(IncidentWorkflow.run, workflow_id)
    timers = await handle.query(IncidentWorkflow.timers)
    soonest = min(t.due for t in timers)
    return round((soonest - datetime.now(UTC)).total_seconds(), 1)


def _sum(counters: dict[str, float], key: str) -> float:
    return sum(v for k, v in counters.items() if key in k)


def _mib(value: float) -> str:
    return f"{value / MIB:7.0f} MiB"


def report(figures: dict[str, Any]) -> str:
    """The figures as a table, with the goal."""
    w, b = figures["warroom"], figures["bare"]
    lines = [
        f"open-incident capacity: {figures['incidents']} open workflows per worker process, "
        f"updates to a random {figures['sample']} ({figures['update_concurrency']} in flight), "
        f"workflow cache {figures['max_cached_workflows']} (SDK default)",
        f"  {'':28s} {'Warroom':>12s} {'bare':>12s} {'ratio':>7s}",
    ]
    for label, key in (
        ("RSS idle", "rss_idle"),
        ("RSS peak while opening", "rss_peak_opening"),
        ("RSS all open, settled", "rss_settled"),
        ("RSS after the updates", "rss_after_cached"),
        ("RSS peak (VmHWM)", "rss_peak"),
    ):
        ratio = w[key] / max(1, b[key])
        lines.append(f"  {label:28s} {_mib(w[key]):>12s} {_mib(b[key]):>12s} {ratio:6.2f}x")
    for label, key in (("open (calls returned)", "open_seconds"), ("all open", "all_open_seconds")):
        lines.append(f"  {label:28s} {w[key]:10.1f} s {b[key]:10.1f} s")
    for name, label in (
        ("evicted", "update, 1st pass (random sample; a cache miss = evicted, history replayed)"),
        ("cached", "update, 2nd pass (the same sample again, now in the cache)"),
    ):
        lines.append(f"  {label}")
        for q in ("p50_ms", "p99_ms", "max_ms"):
            lines.append(
                f"    {q[:3]:26s} {w[name][q]:9.1f} ms {b[name][q]:9.1f} ms "
                f"{w[name][q] / max(0.1, b[name][q]):6.2f}x"
            )
        for side, f in (("Warroom", w), ("bare", b)):
            c = f[name]["cache"]
            lines.append(
                f"    {side} worker meanwhile: {_sum(c, TASKS):.0f} workflow tasks, "
                f"{_sum(c, 'sticky_cache_hit'):.0f} cache hits, "
                f"{_sum(c, 'sticky_cache_miss'):.0f} misses, "
                f"{_sum(c, 'forced_eviction'):.0f} forced evictions, "
                f"cache size {_sum(c, 'sticky_cache_size'):.0f}"
            )
    verdict = "met" if w["rss_settled"] < GOAL_RSS and w["rss_peak"] < GOAL_RSS else "missed"
    lines.append(
        f"  goal: Warroom worker RSS under 1 GiB with {figures['incidents']} open: {verdict} "
        f"(peak {w['rss_peak'] / MIB:.0f} MiB)"
    )
    for side, f in (("Warroom", w), ("bare", b)):
        per = kib_per_cached(f) * 1024
        lines.append(
            f"  {side}: ≈ {per / 1024:.0f} KiB of RSS per cached workflow (settled - idle, "
            f"{_cached(f):.0f} cached); caching all {figures['incidents']} would take "
            f"≈ {(f['rss_idle'] + per * figures['incidents']) / MIB:.0f} MiB (estimate)"
        )
    due = w["first_timer_due_after_s"]
    lines.append(
        f"  the first incident's soonest timer was still {due:.0f} s away after the updates"
        + ("" if due > 0 else " — TIMERS FIRED DURING THE RUN, figures include that load")
    )
    lines += [goal.line() for goal in goals(figures)]
    return "\n".join(lines)


def _cached(side: dict[str, Any]) -> float:
    """How many workflows the worker's cache held (its size after the first pass)."""
    return _sum(side["evicted"]["cache"], "sticky_cache_size")


def kib_per_cached(side: dict[str, Any]) -> float:
    """KiB of worker RSS per cached workflow: (settled - idle) / workflows cached."""
    return float(side["rss_settled"] - side["rss_idle"]) / max(1.0, _cached(side)) / 1024


def goals(figures: dict[str, Any]) -> list[Goal]:
    """Issue 17: worker memory per cached incident ≤ 1.5x bare."""
    sides = [figures.get(name) for name in ("warroom", "bare")]
    w, b = (kib_per_cached(side) if side else None for side in sides)
    why = tuple(
        f"{label}: RSS {side['rss_idle'] / MIB:.0f} MiB idle, {side['rss_settled'] / MIB:.0f} MiB "
        f"with {figures['incidents']} open and {_cached(side):.0f} cached: "
        f"{kib_per_cached(side):.0f} KiB per cached workflow"
        for label, side in zip(("Warroom", "bare"), sides, strict=True)
        if side
    )
    return [Goal("worker memory per cached incident", 1.5, w, b, "KiB", why=why)]


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--update-concurrency", type=int, default=1)
    parser.add_argument("--settle", type=float, default=20.0)
    parser.add_argument("--severity", type=Severity, default=Severity.P3)
    args = parser.parse_args()
    figures = asyncio.run(
        run(
            args.incidents,
            args.sample,
            args.concurrency,
            args.update_concurrency,
            args.settle,
            args.severity,
        )
    )
    print(report(figures), flush=True)
    save("capacity", figures)
    finish()


if __name__ == "__main__":
    main()
