"""Alert-storm ingestion through the real HTTP hook, beside bare Temporal in the same run.

    python -m bench.ingest [--alerts 10000] [--group-size 20] [--concurrency 32]

Starts its own Temporal dev server (SQLite file, WAL pragmas), embedded
Postgres, and the Warroom worker and hook service as their own processes
(``--hook-processes`` uvicorn processes) on loopback. Then:

  A. new incidents: ``alerts / group-size`` Alertmanager notifications, each a
     new group (a new incident), POSTed to /hooks/alertmanager;
  B. duplicates: the same notifications again (each lands on its incident);
  baseline: on the same server and client, bare signal-with-start of a
     minimal workflow (new IDs) and bare signals to those workflows, on a bare
     worker process (``python -m bench.bare``).

Each phase lasts until the processes under test are idle again (the worker
done with the incidents), and its CPU time is read from ``/proc`` per process
(bench/cpu.py: dev server, worker, hooks, Postgres, bare worker, this process
as the load generator, and ``others`` outside the benchmark), given as CPU
milliseconds per item.

It prints alerts/s, incidents/s, webhook p50/p99, CPU per item and the ratios
to the baseline against issue 17's goals, checks that no incident was lost or
doubled, and writes the figures to bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import httpx
from temporalio.client import Client, WorkflowQueryFailedError

from bench.bare import BareIncident
from bench.cpu import CpuMeter, cpu_header, cpu_row, measure_phase
from bench.goals import NOT_MEASURED, Goal, dig, side_by_side
from bench.stack import bench_stack, finish, pct, pool, save
from incident.ids import incident_workflow_id
from starter.api import IncidentHandle
from workflows.incident import IncidentWorkflow

T = TypeVar("T")
PROCESSES = {
    "server": "Temporal server",
    "worker": "worker",
    "hooks": "hooks",
    "postgres": "Postgres",
    "bench": "load generator",
}
"""The processes whose CPU per item the goals' explanation names (key: CPU group)."""
PHASES = {
    "new": "new incidents",
    "duplicates": "duplicates",
    "bare_new": "bare signal-with-start",
    "bare_signal": "bare signals",
}
"""The phases in ``cpu_ms_per_item``, as the report names them."""


def notification(group: str, size: int) -> dict[str, Any]:
    """An Alertmanager v4 group notification with ``size`` firing alerts."""
    alerts = [
        {
            "status": "firing",
            "labels": {
                "alertname": group,
                "severity": "warning",
                "service": "bench",
                "instance": f"i-{i}",
            },
            "annotations": {"summary": f"{group} on i-{i}"},
            "startsAt": "2026-11-24T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus/graph",
            "fingerprint": f"{group}-{i}",
        }
        for i in range(size)
    ]
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{group}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "warroom",
        "groupLabels": {"alertname": group},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://am",
        "alerts": alerts,
    }


async def run(
    alerts: int, group_size: int, concurrency: int, hook_processes: int
) -> dict[str, Any]:
    """Run the whole benchmark; returns the figures."""
    groups = [f"Storm{uuid.uuid4().hex[:8]}x{i}" for i in range(alerts // group_size)]
    bodies = [notification(g, group_size) for g in groups]
    async with bench_stack() as stack:
        # The worker and the hook service run as their own processes, as in production;
        # this process only sends HTTP and drives the baseline.
        meter = stack.meter()
        meter.add("workers", [(await stack.spawn("worker")).pid])
        bare = await stack.spawn("bench.bare", {"WARROOM_TASK_QUEUE": f"{stack.task_queue}-bare"})
        meter.add("bare_workers", [bare.pid])
        url = await stack.hooks(hook_processes)
        meter.add("hooks", [stack.processes[-1].pid])
        await stack.polled(stack.task_queue, f"{stack.task_queue}-bare")
        async with httpx.AsyncClient(timeout=60, headers=stack.hook_headers) as http:
            figures = await _measure(
                stack.client, http, url, meter, bodies, concurrency, stack.task_queue
            )
            lost, doubled = await _count_check(stack.client, groups, group_size, stack.task_queue)
    n = len(bodies)
    return figures | {
        "notifications": n,
        "alerts_per_phase": n * group_size,
        "group_size": group_size,
        "concurrency": concurrency,
        "lost": lost,
        "doubled": doubled,
    }


async def _timed(
    items: Sequence[T], concurrency: int, work: Callable[[T], Awaitable[Any]]
) -> dict[str, Any]:
    """:func:`pool`'s latencies, and the seconds until the last item was done."""
    started = time.perf_counter()
    latencies = await pool(items, concurrency, work)
    return {"latencies": latencies, "sent_s": time.perf_counter() - started}


async def _measure(
    client: Client,
    http: httpx.AsyncClient,
    url: str,
    meter: CpuMeter,
    bodies: list[dict[str, Any]],
    concurrency: int,
    task_queue: str,
) -> dict[str, Any]:
    """The four phases, each with its CPU per item; the rates and the webhook latencies."""
    encoded = [json.dumps(b).encode() for b in bodies]
    headers = {"Content-Type": "application/json"}
    n = len(bodies)

    async def post(body: bytes) -> None:
        response = await http.post(f"{url}/hooks/alertmanager", content=body, headers=headers)
        if response.status_code != 202:
            raise RuntimeError(f"hook answered {response.status_code}: {response.text[:200]}")

    async def new() -> dict[str, Any]:
        sent = await _timed(encoded, concurrency, post)
        return sent | {"drained_s": await drain(client, task_queue, n)}

    bare_ids = [f"bare-{uuid.uuid4().hex}" for _ in bodies]

    async def bare_start(workflow_id: str) -> None:
        await client.start_workflow(
            BareIncident.run,
            id=workflow_id,
            task_queue=f"{task_queue}-bare",
            start_signal="fire",
            start_signal_args=[1],
        )

    async def bare_signal(workflow_id: str) -> None:
        await client.get_workflow_handle(workflow_id).signal(BareIncident.fire, 1)

    phases = {
        "new": await measure_phase(meter, n, new),
        "duplicates": await measure_phase(meter, n, lambda: _timed(encoded, concurrency, post)),
        "bare_new": await measure_phase(
            meter, n, lambda: _timed(bare_ids, concurrency, bare_start)
        ),
        "bare_signal": await measure_phase(
            meter, n, lambda: _timed(bare_ids, concurrency, bare_signal)
        ),
    }
    return _figures(phases, n, n * len(bodies[0]["alerts"]))


def _figures(phases: dict[str, dict[str, Any]], n: int, alerts: int) -> dict[str, Any]:
    """The saved figures from the four phases' measurements."""
    new, dup = phases["new"], phases["duplicates"]
    figures: dict[str, Any] = {
        "new": {
            "seconds": new["sent_s"],
            "alerts_per_s": alerts / new["sent_s"],
            "incidents_per_s": n / new["sent_s"],
            "p50_ms": pct(new["latencies"], 0.5) * 1000,
            "p99_ms": pct(new["latencies"], 0.99) * 1000,
            "mean_ms": statistics.mean(new["latencies"]) * 1000,
        },
        "duplicates": {
            "seconds": dup["sent_s"],
            "alerts_per_s": alerts / dup["sent_s"],
            "notifications_per_s": n / dup["sent_s"],
            "p50_ms": pct(dup["latencies"], 0.5) * 1000,
            "p99_ms": pct(dup["latencies"], 0.99) * 1000,
        },
        "bare": {
            "signal_with_start_per_s": n / phases["bare_new"]["sent_s"],
            "signal_per_s": n / phases["bare_signal"]["sent_s"],
        },
        "worker_caught_up_after_s": new["drained_s"],
        "cpu_ms_per_item": {name: phase["cpu_ms_per_item"] for name, phase in phases.items()},
    }
    figures["ratio_new_vs_bare_signal_with_start"] = (
        figures["new"]["incidents_per_s"] / figures["bare"]["signal_with_start_per_s"]
    )
    figures["ratio_duplicates_vs_bare_signal"] = (
        figures["duplicates"]["notifications_per_s"] / figures["bare"]["signal_per_s"]
    )
    return figures


async def drain(client: Client, task_queue: str, expected: int) -> float:
    """Wait until the worker has declared every incident (each phase starts from a quiet
    server, as the baseline does); returns how long that took."""
    started = time.perf_counter()
    query = (
        f'TaskQueue = "{task_queue}" AND WorkflowType = "IncidentWorkflow"'
        ' AND IncidentPhase = "triaged"'
    )
    while (await client.count_workflows(query)).count < expected:
        await asyncio.sleep(0.2)
    await asyncio.sleep(2)  # notices and records of the last ones
    return time.perf_counter() - started


async def _count_check(
    client: Client, groups: list[str], group_size: int, task_queue: str
) -> tuple[int, int]:
    """Every group is one incident holding every firing of both deliveries."""
    query = f'TaskQueue = "{task_queue}" AND WorkflowType = "IncidentWorkflow"'
    for _ in range(100):
        count = (await client.count_workflows(query)).count
        if count >= len(groups):
            break
        await asyncio.sleep(0.2)
    lost = len(groups) - count
    doubled = max(0, count - len(groups))
    for group in groups[:: max(1, len(groups) // 50)]:  # a sample of 50 incidents
        handle: IncidentHandle = client.get_workflow_handle_for(
            IncidentWorkflow.run,
            incident_workflow_id("alertmanager", f'{{}}:{{alertname="{group}"}}'),
        )
        firings = 0
        for _ in range(600):  # the worker may still be working through the storm
            try:
                firings = (await handle.query(IncidentWorkflow.state)).firings
            except WorkflowQueryFailedError:
                firings = 0  # not declared yet
            if firings >= 2 * group_size:
                break
            await asyncio.sleep(0.1)
        if firings != 2 * group_size:
            lost += 1
    return lost, doubled


def report(figures: dict[str, Any]) -> str:
    """The figures as a table, CPU per item by process, and the goals."""
    new, dup, bare = figures["new"], figures["duplicates"], figures["bare"]
    return "\n".join(
        [
            f"alert storm: {figures['alerts_per_phase']} alerts in {figures['notifications']} "
            f"notifications of {figures['group_size']}, concurrency {figures['concurrency']}",
            f"  new incidents   {new['alerts_per_s']:9.0f} alerts/s  {new['incidents_per_s']:7.1f} "
            f"incidents/s  webhook p50 {new['p50_ms']:6.1f} ms  p99 {new['p99_ms']:6.1f} ms",
            f"  duplicates      {dup['alerts_per_s']:9.0f} alerts/s  "
            f"{dup['notifications_per_s']:7.1f} notifications/s  "
            f"webhook p50 {dup['p50_ms']:6.1f} ms  p99 {dup['p99_ms']:6.1f} ms",
            f"  bare Temporal   {bare['signal_with_start_per_s']:7.1f} signal-with-start/s  "
            f"{bare['signal_per_s']:7.1f} signals/s",
            f"  lost {figures['lost']}, doubled {figures['doubled']}; every incident declared "
            f"{figures['worker_caught_up_after_s']:.1f} s after the last new-incident POST",
            *_cpu_table(figures),
            *(goal.line() for goal in goals(figures)),
        ]
    )


def _cpu_table(figures: dict[str, Any]) -> list[str]:
    """CPU milliseconds per item of each phase, by process (none in older results)."""
    cpu = figures.get("cpu_ms_per_item")
    if not cpu:
        return [f"  CPU per item by process: {NOT_MEASURED}"]
    return [
        "  CPU milliseconds per item, from each phase's start until the processes went idle "
        "(bench = this process, the load generator)",
        cpu_header(),
        *(cpu_row(label, cpu[name], digits=1) for name, label in PHASES.items() if name in cpu),
    ]


def goals(figures: dict[str, Any]) -> list[Goal]:
    """Issue 17: new incidents ≥ 0.9x bare signal-with-start, duplicates ≥ 0.8x bare
    signals, none lost or doubled."""
    lost, doubled = figures.get("lost"), figures.get("doubled")
    kept = () if lost is None else ((f"{lost} lost, {doubled} doubled", not lost and not doubled),)
    return [
        Goal(
            "new-incident ingestion",
            0.9,
            dig(figures, "new", "incidents_per_s"),
            dig(figures, "bare", "signal_with_start_per_s"),
            "incidents/s",
            at_most=False,
            baseline="bare signal-with-start",
            requires="0 lost, 0 doubled",
            conditions=kept,
            bare_unit="starts/s",
            why=(
                _cpu_why(figures, "new", "bare_new", "new incident"),
                f"the worker had declared every incident "
                f"{figures['worker_caught_up_after_s']:.1f} s after the last POST",
            )
            if "worker_caught_up_after_s" in figures
            else (),
        ),
        Goal(
            "duplicate ingestion",
            0.8,
            dig(figures, "duplicates", "notifications_per_s"),
            dig(figures, "bare", "signal_per_s"),
            "notifications/s",
            at_most=False,
            baseline="bare signals",
            requires="0 lost, 0 doubled",
            conditions=kept,
            bare_unit="signals/s",
            why=(_cpu_why(figures, "duplicates", "bare_signal", "duplicate"),),
        ),
    ]


def _cpu_why(figures: dict[str, Any], phase: str, bare_phase: str, unit: str) -> str:
    """CPU ms per item of one phase by process, Warroom beside its bare phase."""
    cpu = figures.get("cpu_ms_per_item") or {}
    if phase not in cpu or bare_phase not in cpu:
        return f"CPU per {unit} by process: {NOT_MEASURED}"
    w, b = _by_process(cpu[phase]), _by_process(cpu[bare_phase])
    return (
        f"CPU ms per {unit} by process, Warroom vs bare: {side_by_side(w, b, PROCESSES, 'ms')}"
        f" (outside the benchmark meanwhile: {w['others']:.1f} vs {b['others']:.1f} ms)"
    )


def _by_process(ms: dict[str, float]) -> dict[str, float]:
    """CPU ms per item with the Warroom and bare workers as one ``worker`` (the other idles)."""
    return {**ms, "worker": ms.get("workers", 0.0) + ms.get("bare_workers", 0.0)}


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--group-size", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--hook-processes", type=int, default=2)
    args = parser.parse_args()
    figures = asyncio.run(run(args.alerts, args.group_size, args.concurrency, args.hook_processes))
    figures["hook_processes"] = args.hook_processes
    print(report(figures), flush=True)
    save("ingest", figures)
    finish()


if __name__ == "__main__":
    main()
