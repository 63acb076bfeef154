"""Scale-out: incidents and duplicates per second as workers and hook processes are added.

    python -m bench.scaleout [--workers 1,2,3] [--hooks 1,2] [--incidents 300]
                             [--group-size 5] [--concurrency 32]

For every combination of worker processes (``--workers``) and hook processes
(``--hooks``) it starts a fresh stack of its own — a Temporal dev server
(SQLite file, WAL pragmas), embedded Postgres, that many ``python -m worker``
and that many ``python -m starter.hooks`` (one server process each, on its
own port: what a load balancer spreads over), and as many bare workers
(``python -m bench.bare``) — and an HTTP sink in this process that every
worker's one webhook channel points at. This process is the load generator:
it POSTs round-robin over the hook processes, ``--concurrency`` in flight.

  new incidents: ``--incidents`` Alertmanager notifications of ``--group-size``
     alerts, each a new group. *accepted/s*: the hooks answered 202 to all of
     them; *paged/s*: the first notice of every incident reached the sink (the
     worker declared it, recorded it and paged), counted from the first POST;
  duplicates: the same notifications again. *accepted/s* as above;
     *folded/s*: a sample of the incidents (every 20th, and the last ones sent)
     counts every firing of both deliveries;
  bare Temporal, on the same server with as many bare workers: signal-with-start
     of ``BarePage`` (one activity POSTing to the same sink; *accepted/s*
     and *paged/s* alike) and signals to open ``BareIncident`` workflows.

A few warm-up incidents on each side are not counted. During each phase the
CPU time of every process is read from ``/proc`` (bench/cpu.py): cores busy
for the dev server, the workers, the hooks, Postgres, this process, and
``others`` (processes outside the benchmark: the machine may be shared).
Writes bench/results/scaleout.json.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import time
import uuid
from collections.abc import Sequence
from typing import Any

import httpx
from temporalio.client import Client, WorkflowQueryFailedError

from bench.bare import BareIncident, BarePage
from bench.cpu import (
    DEPLOYED,
    GROUPS,
    CpuMeter,
    cpu_header,
    cpu_row,
    measure_phase,
    wait_idle,
)
from bench.ingest import notification
from bench.stack import BenchStack, bench_stack, finish, linked_workflow_id, pool, save
from incident.ids import incident_workflow_id
from starter.api import IncidentHandle
from starter.receiver import HttpReceiver, Received
from workflows.incident import IncidentWorkflow

WARM_UP = 3
"""Incidents per worker sent before the clock starts (first workflow tasks, connections)."""
WAIT = 600.0
"""Seconds a phase may take before the benchmark gives up on it."""


class Sink:
    """When the first notice of each incident (or bare page) reached the sink."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.notices = 0
        self.changed = asyncio.Event()

    def receive(self, request: Received) -> None:
        """``on_receive``: Warroom notices on /warroom, bare pages on /bare."""
        self.notices += 1
        body = request.json()
        key = body["incident"] if request.path.startswith("/bare") else linked_workflow_id(body)
        self.first.setdefault(key, time.perf_counter())
        self.changed.set()

    async def all_paged(self, keys: Sequence[str]) -> float:
        """Wait until every key has had a notice; the arrival time of the last of them."""
        deadline = time.perf_counter() + WAIT
        while missing := [k for k in keys if k not in self.first]:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{len(missing)} of {len(keys)} never paged")
            self.changed.clear()
            await asyncio.wait([asyncio.ensure_future(self.changed.wait())], timeout=1)
        return max(self.first[k] for k in keys)


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


async def _spread(
    http: httpx.AsyncClient, urls: list[str], bodies: list[bytes], concurrency: int
) -> tuple[float, float]:
    """POST every body, round-robin over ``urls``; (start, seconds until the last 202)."""
    targets = itertools.cycle(urls)
    plan = [(next(targets), body) for body in bodies]
    headers = {"Content-Type": "application/json"}

    async def post(item: tuple[str, bytes]) -> None:
        url, body = item
        response = await http.post(f"{url}/hooks/alertmanager", content=body, headers=headers)
        if response.status_code != 202:
            raise RuntimeError(f"hook answered {response.status_code}: {response.text[:200]}")

    started = time.perf_counter()
    await pool(plan, concurrency, post)
    return started, time.perf_counter() - started


async def _folded(client: Client, workflow_ids: Sequence[str], firings: int) -> None:
    """Wait until each incident of ``workflow_ids`` counts ``firings`` firings."""
    deadline = time.perf_counter() + WAIT
    for workflow_id in workflow_ids:
        handle: IncidentHandle = client.get_workflow_handle_for(IncidentWorkflow.run, workflow_id)
        while True:
            try:
                if (await handle.query(IncidentWorkflow.state)).firings >= firings:
                    break
            except WorkflowQueryFailedError:
                pass
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{workflow_id} never counted {firings} firings")
            await asyncio.sleep(0.1)


async def measure_one(
    workers: int, hooks: int, incidents: int, group_size: int, concurrency: int
) -> dict[str, Any]:
    """One combination on a fresh stack; its figures."""
    sink = Sink()
    async with bench_stack() as stack, HttpReceiver(on_receive=sink.receive) as receiver:
        channel = {"name": "sink", "kind": "webhook", "url": f"{receiver.url}/warroom"}
        bare_queue = f"{stack.task_queue}-bare"
        meter = stack.meter()
        for _ in range(workers):
            process = await stack.spawn("worker", {"WARROOM_CHANNELS": json.dumps([channel])})
            meter.add("workers", [process.pid])
            bare = await stack.spawn("bench.bare", {"WARROOM_TASK_QUEUE": bare_queue})
            meter.add("bare_workers", [bare.pid])
        urls = []
        for _ in range(hooks):
            urls.append(await stack.hooks(1))
            meter.add("hooks", [stack.processes[-1].pid])
        await stack.polled(stack.task_queue, bare_queue)
        async with httpx.AsyncClient(timeout=120, headers=stack.hook_headers) as http:
            return await _measure(
                stack, http, urls, sink, meter, receiver.url, incidents, group_size, concurrency
            ) | {"workers": workers, "hooks": hooks}


async def _measure(
    stack: BenchStack,
    http: httpx.AsyncClient,
    urls: list[str],
    sink: Sink,
    meter: CpuMeter,
    sink_url: str,
    incidents: int,
    group_size: int,
    concurrency: int,
) -> dict[str, Any]:
    client, workers = stack.client, len(meter.groups["workers"][0])

    def storm(count: int) -> tuple[list[bytes], list[str]]:
        groups = [f"Scale{uuid.uuid4().hex[:8]}x{i}" for i in range(count)]
        bodies = [json.dumps(notification(g, group_size)).encode() for g in groups]
        ids = [incident_workflow_id("alertmanager", f'{{}}:{{alertname="{g}"}}') for g in groups]
        return bodies, ids

    warm_bodies, warm_ids = storm(WARM_UP * workers)
    await _spread(http, urls, warm_bodies, concurrency)
    await sink.all_paged(warm_ids)
    bodies, ids = storm(incidents)

    async def new() -> dict[str, float]:
        started, accepted = await _spread(http, urls, bodies, concurrency)
        last = await sink.all_paged(ids)
        return {
            "accepted_per_s": _rate(incidents, accepted),
            "paged_per_s": _rate(incidents, last - started),
        }

    async def duplicates() -> dict[str, float]:
        started, accepted = await _spread(http, urls, bodies, concurrency)
        await _folded(client, [*ids[::20], *ids[-5:]], 2 * group_size)
        return {
            "accepted_per_s": _rate(incidents, accepted),
            "folded_per_s": _rate(incidents, time.perf_counter() - started),
        }

    figures: dict[str, Any] = {"new": await measure_phase(meter, incidents, new)}
    figures["duplicates"] = await measure_phase(meter, incidents, duplicates)
    figures["bare"] = await _bare(
        client, f"{stack.task_queue}-bare", sink, meter, sink_url, incidents, concurrency, workers
    )
    figures["sink_notices"] = sink.notices
    return figures


async def _bare(
    client: Client,
    task_queue: str,
    sink: Sink,
    meter: CpuMeter,
    sink_url: str,
    incidents: int,
    concurrency: int,
    workers: int,
) -> dict[str, Any]:
    """The baseline on the same server: signal-with-start of a one-page workflow, then signals."""

    async def page(workflow_id: str) -> None:
        await client.start_workflow(
            BarePage.run,
            args=[f"{sink_url}/bare", workflow_id],
            id=workflow_id,
            task_queue=task_queue,
            start_signal="fire",
            start_signal_args=[1],
        )

    warm = [f"bare-{uuid.uuid4().hex}" for _ in range(WARM_UP * workers)]
    await pool(warm, concurrency, page)
    await sink.all_paged(warm)
    ids = [f"bare-{uuid.uuid4().hex}" for _ in range(incidents)]

    async def new() -> dict[str, float]:
        started = time.perf_counter()
        await pool(ids, concurrency, page)
        accepted = time.perf_counter() - started
        last = await sink.all_paged(ids)
        return {
            "accepted_per_s": _rate(incidents, accepted),
            "paged_per_s": _rate(incidents, last - started),
        }

    open_ids = [f"bare-open-{uuid.uuid4().hex}" for _ in range(incidents)]

    async def start_open(workflow_id: str) -> None:
        await client.start_workflow(BareIncident.run, id=workflow_id, task_queue=task_queue)

    async def signal(workflow_id: str) -> None:
        await client.get_workflow_handle(workflow_id).signal(BareIncident.fire, 1)

    async def duplicates() -> dict[str, float]:
        started = time.perf_counter()
        await pool(open_ids, concurrency, signal)
        return {"accepted_per_s": _rate(incidents, time.perf_counter() - started)}

    figures: dict[str, Any] = {"new": await measure_phase(meter, incidents, new)}
    await pool(open_ids, concurrency, start_open)
    await wait_idle(meter)
    figures["duplicates"] = await measure_phase(meter, incidents, duplicates)
    return figures


async def run(
    workers: Sequence[int], hooks: Sequence[int], incidents: int, group_size: int, concurrency: int
) -> dict[str, Any]:
    """Every combination, one after another; the figures."""
    runs = []
    for w, h in itertools.product(workers, hooks):
        print(f"-- {w} worker(s), {h} hook process(es)", flush=True)
        runs.append(await measure_one(w, h, incidents, group_size, concurrency))
        print(_row(runs[-1]), flush=True)
    return {
        "incidents": incidents,
        "group_size": group_size,
        "concurrency": concurrency,
        "cpus": os.cpu_count(),
        "runs": runs,
    }


def _row(r: dict[str, Any]) -> str:
    new, dup, bare = r["new"], r["duplicates"], r["bare"]
    return (
        f"  {r['workers']:>7} {r['hooks']:>5}  {new['accepted_per_s']:8.1f} "
        f"{new['paged_per_s']:7.1f}  {dup['accepted_per_s']:8.1f} {dup['folded_per_s']:7.1f}  "
        f"{bare['new']['accepted_per_s']:8.1f} {bare['new']['paged_per_s']:7.1f} "
        f"{bare['duplicates']['accepted_per_s']:8.1f}"
    )


def quiet_ceiling(ms_per_item: dict[str, float], cpus: int, groups: Sequence[str]) -> float:
    """Items per second ``cpus`` cores could carry at this CPU cost per item, were nothing
    else running (an estimate: CPU time per item measured under contention, scaled)."""
    cost = sum(ms_per_item.get(g, 0.0) for g in groups)
    return round(cpus * 1000 / cost, 1) if cost > 0 else 0.0


CONTENDED = 0.2
"""Cores used outside the benchmark from which the report says it was measured under contention."""


def bound(cores: dict[str, float], cpus: int) -> str:
    """Which process group bounds a phase, judged from its cores busy."""
    ours = {g: cores.get(g, 0.0) for g in GROUPS if g not in ("machine", "others")}
    top = max(ours, key=lambda g: ours[g])
    machine = cores.get("machine", 0.0)
    state = "saturated" if machine >= 0.85 * cpus else "not saturated"
    return (
        f"machine {state} ({machine:.2f} of {cpus} cores busy, {cores.get('others', 0.0):.2f} "
        f"of them outside the benchmark); busiest of ours: the {top} ({ours[top]:.2f} cores)"
    )


def _shares(runs: list[dict[str, Any]]) -> list[str]:
    """Where the deployed processes' CPU goes per item (median over the combinations)."""
    lines = []
    for phase, unit in (("new", "new incident"), ("duplicates", "duplicate")):
        ms = {
            g: statistics.median(r[phase]["cpu_ms_per_item"].get(g, 0.0) for r in runs)
            for g in DEPLOYED
        }
        total = sum(ms.values()) or 1.0
        parts = ", ".join(f"{g} {ms[g]:.1f} ms ({ms[g] / total:.0%})" for g in DEPLOYED)
        lines.append(f"  CPU per {unit}: {parts}")
    return lines


def _phases(run: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("new", run["new"]),
        ("duplicates", run["duplicates"]),
        ("bare new", run["bare"]["new"]),
    ]


def report(figures: dict[str, Any]) -> str:
    """The figures as tables: rates per combination, CPU per phase, the ceiling."""
    runs, cpus = figures["runs"], figures.get("cpus") or 2
    others = [r[p]["cpu_cores"].get("others", 0.0) for r in runs for p in ("new", "duplicates")]
    lines = []
    if max(others) >= CONTENDED:
        lines += [
            f"MEASURED UNDER CONTENTION: processes outside the benchmark used "
            f"{min(others):.2f}-{max(others):.2f} of the {cpus} cores during the Warroom phases;",
            "  rates are low and noisy, CPU per item is the steadier figure; re-run on a quiet "
            "machine with python -m bench scaleout",
        ]
    lines += [
        f"scale-out: {figures['incidents']} new incidents (Alertmanager groups of "
        f"{figures['group_size']} alerts), then the same again as duplicates, "
        f"concurrency {figures['concurrency']}, POSTs round-robin over the hook processes;",
        "  a fresh dev server and Postgres per combination, bare Temporal on the same server "
        "with as many bare workers",
        "                   Warroom new      Warroom duplicates    bare Temporal",
        "  workers hooks  accepted/s paged/s  accepted/s folded/s  start/s paged/s signal/s",
        *(_row(r) for r in runs),
        "",
        "CPU, cores busy during each phase (bench = this process: load generator and sink; "
        "others = processes outside the benchmark)",
        cpu_header(),
    ]
    for r in runs:
        for name, phase in _phases(r):
            lines.append(cpu_row(f"{r['workers']}w {r['hooks']}h {name}", phase["cpu_cores"]))
    lines += ["", "CPU milliseconds per incident (new, bare new) or per duplicate", cpu_header()]
    for r in runs:
        for name, phase in _phases(r):
            row = phase["cpu_ms_per_item"]
            lines.append(cpu_row(f"{r['workers']}w {r['hooks']}h {name}", row, digits=1))
    best_new = max(runs, key=lambda r: r["new"]["paged_per_s"])
    best_dup = max(runs, key=lambda r: r["duplicates"]["accepted_per_s"])
    best_bare = max(runs, key=lambda r: r["bare"]["new"]["paged_per_s"])
    warroom_quiet = statistics.median(
        quiet_ceiling(r["new"]["cpu_ms_per_item"], cpus, DEPLOYED) for r in runs
    )
    bare_quiet = statistics.median(
        quiet_ceiling(r["bare"]["new"]["cpu_ms_per_item"], cpus, ("server", "bare_workers"))
        for r in runs
    )
    dup_quiet = statistics.median(
        quiet_ceiling(r["duplicates"]["cpu_ms_per_item"], cpus, DEPLOYED) for r in runs
    )
    lines += [
        "",
        f"ceiling on this {cpus}-CPU machine, as measured (processes outside the benchmark used "
        f"{min(others):.2f}-{max(others):.2f} cores during the Warroom phases):",
        f"  new incidents  {best_new['new']['paged_per_s']:.1f} paged/s with "
        f"{best_new['workers']} worker(s), {best_new['hooks']} hook process(es) "
        f"(bare Temporal's best {best_bare['bare']['new']['paged_per_s']:.1f}/s); "
        + bound(best_new["new"]["cpu_cores"], cpus),
        f"  duplicates     {best_dup['duplicates']['accepted_per_s']:.1f} accepted/s with "
        f"{best_dup['workers']} worker(s), {best_dup['hooks']} hook process(es); "
        + bound(best_dup["duplicates"]["cpu_cores"], cpus),
        *_shares(runs),
        f"estimated ceiling with the {cpus} CPUs to ourselves (CPU per item above, server + "
        "workers + hooks + Postgres; median over the combinations):",
        f"  new incidents  ≈ {warroom_quiet:.0f}/s (bare Temporal ≈ {bare_quiet:.0f}/s), "
        f"duplicates ≈ {dup_quiet:.0f}/s",
    ]
    return "\n".join(lines)


def _counts(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("expected positive counts separated by commas, e.g. 1,2,3")
    return values


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=_counts, default=[1, 2, 3])
    parser.add_argument("--hooks", type=_counts, default=[1, 2])
    parser.add_argument("--incidents", type=int, default=300)
    parser.add_argument("--group-size", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    figures = asyncio.run(
        run(args.workers, args.hooks, args.incidents, args.group_size, args.concurrency)
    )
    print(report(figures), flush=True)
    save("scaleout", figures)
    finish()


if __name__ == "__main__":
    main()
