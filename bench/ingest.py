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

It prints alerts/s, incidents/s, webhook p50/p99 and the ratios to the
baseline, checks that no incident was lost or doubled, and writes the
figures to bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from typing import Any

import httpx
from temporalio.client import Client, WorkflowQueryFailedError

from bench.bare import BareIncident
from bench.stack import bench_stack, finish, pct, pool, save
from incident.ids import incident_workflow_id
from starter.api import IncidentHandle
from workflows.incident import IncidentWorkflow


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
        await stack.spawn("worker")
        await stack.spawn("bench.bare", {"WARROOM_TASK_QUEUE": f"{stack.task_queue}-bare"})
        url = await stack.hooks(hook_processes)
        await stack.polled(stack.task_queue, f"{stack.task_queue}-bare")
        async with httpx.AsyncClient(timeout=60, headers=stack.hook_headers) as http:
            return await _measure(
                stack.client, http, url, bodies, groups, group_size, concurrency, stack.task_queue
            )


async def _measure(
    client: Client,
    http: httpx.AsyncClient,
    url: str,
    bodies: list[dict[str, Any]],
    groups: list[str],
    group_size: int,
    concurrency: int,
    task_queue: str,
) -> dict[str, Any]:
    encoded = [json.dumps(b).encode() for b in bodies]
    headers = {"Content-Type": "application/json"}

    async def post(body: bytes) -> None:
        response = await http.post(f"{url}/hooks/alertmanager", content=body, headers=headers)
        if response.status_code != 202:
            raise RuntimeError(f"hook answered {response.status_code}: {response.text[:200]}")

    started = time.perf_counter()
    new_latency = await pool(encoded, concurrency, post)
    new_seconds = time.perf_counter() - started
    drained = await drain(client, task_queue, len(bodies))
    started = time.perf_counter()
    dup_latency = await pool(encoded, concurrency, post)
    dup_seconds = time.perf_counter() - started
    lost, doubled = await _count_check(client, groups, group_size, task_queue)

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

    started = time.perf_counter()
    await pool(bare_ids, concurrency, bare_start)
    bare_start_seconds = time.perf_counter() - started
    started = time.perf_counter()
    await pool(bare_ids, concurrency, bare_signal)
    bare_signal_seconds = time.perf_counter() - started

    n = len(bodies)
    total_alerts = n * group_size
    figures: dict[str, Any] = {
        "notifications": n,
        "alerts_per_phase": total_alerts,
        "group_size": group_size,
        "concurrency": concurrency,
        "new": {
            "seconds": new_seconds,
            "alerts_per_s": total_alerts / new_seconds,
            "incidents_per_s": n / new_seconds,
            "p50_ms": pct(new_latency, 0.5) * 1000,
            "p99_ms": pct(new_latency, 0.99) * 1000,
            "mean_ms": statistics.mean(new_latency) * 1000,
        },
        "duplicates": {
            "seconds": dup_seconds,
            "alerts_per_s": total_alerts / dup_seconds,
            "notifications_per_s": n / dup_seconds,
            "p50_ms": pct(dup_latency, 0.5) * 1000,
            "p99_ms": pct(dup_latency, 0.99) * 1000,
        },
        "bare": {
            "signal_with_start_per_s": n / bare_start_seconds,
            "signal_per_s": n / bare_signal_seconds,
        },
        "lost": lost,
        "doubled": doubled,
        "worker_caught_up_after_s": drained,
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
    """The figures as a table, with the goals."""
    new, dup, bare = figures["new"], figures["duplicates"], figures["bare"]
    r_new = figures["ratio_new_vs_bare_signal_with_start"]
    r_dup = figures["ratio_duplicates_vs_bare_signal"]
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
            f"  new ÷ bare signal-with-start  {r_new:5.2f}  (goal ≥ 0.80: "
            f"{'met' if r_new >= 0.8 else 'missed'})",
            f"  duplicates ÷ bare signals     {r_dup:5.2f}  (goal ≥ 1.00: "
            f"{'met' if r_dup >= 1.0 else 'missed'})",
            f"  lost {figures['lost']}, doubled {figures['doubled']}; every incident declared "
            f"{figures['worker_caught_up_after_s']:.1f} s after the last new-incident POST",
        ]
    )


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
