"""Alert-storm ingestion through the real HTTP hook, beside bare Temporal on the same server.

Run it from the repository root::

    python -m bench.ingest [--alerts 10000] [--group-size 20] [--concurrency 32]

What it starts, all on loopback and all in this process except the servers:
a fresh Temporal dev server (``starter.devserver.DevServer``: a new SQLite
file with the WAL pragmas, free ports, Warroom's search attributes), the
embedded Postgres the worker records incidents in, the real Warroom worker
(``worker.run.build_worker``, shipped policy, no channels), a worker for the
bare baseline workflow (``bench.bare.BareIncident``), and the real hook
service (``starter.hooks.app.create_app``, open auth) under uvicorn.

What it measures, with one Temporal client and one concurrency throughout:

A. new incidents: ``alerts / group-size`` Alertmanager v4 group notifications,
   each with a new ``groupKey`` (so each opens an incident), POSTed to
   ``/hooks/alertmanager``: alerts/s, notifications/s (= new incidents/s) and
   webhook latency p50/p99. Then it waits until the worker has recorded
   every incident, so the next phase starts on a quiet server.
B. duplicates: the same notifications delivered again; each lands on its
   incident as a signal. Same figures; then it waits until every incident
   has counted every firing.
Baseline: bare signal-with-start of ``BareIncident`` with as many new workflow
   IDs, then a plain signal to each of them.

It prints the ratios against the goals (new incidents/s ÷ bare
signal-with-start/s ≥ 0.8; duplicate notifications/s ÷ bare signals/s ≥ 1.0),
checks that every groupKey is exactly one running incident (a visibility
count) whose ``state`` query counts exactly twice group-size firings ("lost"
and "doubled"), and writes the figures, the machine and the date to
``bench/results/ingest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.store import StoreActivities
from bench._hooks import running_hooks
from bench.bare import BareIncident
from incident.ids import incident_workflow_id
from incident.policy import load_policy
from starter.api import IncidentHandle
from starter.connection import TemporalSettings, connect
from starter.devserver import DevServer
from starter.hooks.settings import HookSettings
from starter.postgres import EmbeddedPostgres, upgrade
from worker.run import build_worker
from workflows.incident import IncidentWorkflow

RESULTS = Path(__file__).parent / "results" / "ingest.json"
GOAL_NEW = 0.8
"""Warroom new incidents/s ÷ bare signal-with-start/s."""
GOAL_DUPLICATES = 1.0
"""Warroom duplicate notifications/s ÷ bare signals/s."""
FIRING_ENDS_AT = "0001-01-01T00:00:00Z"
MAX_ATTEMPTS = 10
"""Deliveries of one notification before the benchmark gives up (Alertmanager retries 5xx)."""
CATCH_UP_TIMEOUT = 600.0
"""Seconds the worker gets to work through a phase's backlog before the check reports it."""

T = TypeVar("T")


# --- payloads -----------------------------------------------------------------------------


def group_key(group: str) -> str:
    """The ``groupKey`` Alertmanager gives a route grouped by alertname."""
    return f'{{}}/{{severity="critical"}}:{{alertname="{group}"}}'


def am_alert(group: str, index: int) -> dict[str, Any]:
    """One firing alert of ``group``, as Alertmanager sends it."""
    return {
        "status": "firing",
        "labels": {
            "alertname": group,
            "severity": "critical",
            "service": "bench",
            "instance": f"node-{index:03d}",
        },
        "annotations": {"summary": f"{group} on node-{index:03d}"},
        "startsAt": "2026-11-24T10:00:00Z",
        "endsAt": FIRING_ENDS_AT,
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
        "fingerprint": f"{group}-{index:03d}",
    }


def am_notification(group: str, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    """An Alertmanager v4 group notification."""
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return {
        "version": "4",
        "groupKey": group_key(group),
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "warroom",
        "groupLabels": {"alertname": group},
        "commonLabels": {"severity": "critical", "service": "bench"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": alerts,
    }


def resolved_probe(group: str) -> dict[str, Any]:
    """A resolved-only notification for a group with no incident: the hook's whole path
    (parse, map, one Temporal call) that opens nothing. Used to warm the service up."""
    alert = {**am_alert(group, 0), "status": "resolved", "endsAt": "2026-11-24T10:30:00Z"}
    return am_notification(group, [alert])


# --- measuring ----------------------------------------------------------------------------


@dataclass
class Phase:
    """One measured phase: how many operations, how long, and each operation's latency."""

    name: str
    operations: int
    alerts: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    retries: int = 0

    @property
    def per_s(self) -> float:
        """Operations (notifications, workflow calls) per second."""
        return self.operations / self.seconds

    def figures(self) -> dict[str, float | int]:
        """The phase as JSON-ready numbers."""
        out: dict[str, float | int] = {
            "operations": self.operations,
            "seconds": round(self.seconds, 3),
            "per_s": round(self.per_s, 2),
            "p50_ms": round(percentile(self.latencies, 50), 1),
            "p99_ms": round(percentile(self.latencies, 99), 1),
            "max_ms": round(max(self.latencies) * 1000, 1),
            "retries": self.retries,
        }
        if self.alerts:
            out["alerts"] = self.alerts
            out["alerts_per_s"] = round(self.alerts / self.seconds, 1)
        return out


def percentile(latencies: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile, in milliseconds."""
    ordered = sorted(latencies)
    rank = max(1, round(pct / 100 * len(ordered)))
    return ordered[rank - 1] * 1000


async def measure(
    phase: Phase, items: Sequence[T], concurrency: int, work: Callable[[T], Awaitable[int]]
) -> Phase:
    """Run ``work`` over ``items`` with ``concurrency`` in flight; ``work`` returns its retries."""
    queue = iter(items)

    async def lane() -> None:
        for item in queue:
            started = time.perf_counter()
            phase.retries += await work(item)
            phase.latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    phase.seconds = time.perf_counter() - started
    return phase


def poster(http: httpx.AsyncClient) -> Callable[[bytes], Awaitable[int]]:
    """POST one notification until it is accepted, as Alertmanager would; returns the retries."""
    headers = {"Content-Type": "application/json"}

    async def post(body: bytes) -> int:
        for attempt in range(MAX_ATTEMPTS):
            try:
                response = await http.post("/hooks/alertmanager", content=body, headers=headers)
            except httpx.TransportError:
                await asyncio.sleep(0.5)
                continue
            if response.status_code == 202:
                return attempt
            if response.status_code < 500:  # Alertmanager drops a 4xx: so does the benchmark
                raise RuntimeError(f"the hook refused a notification: {response.text[:300]}")
            await asyncio.sleep(float(response.headers.get("retry-after", "1")))
        raise RuntimeError(f"a notification was not accepted after {MAX_ATTEMPTS} attempts")

    return post


def bare_start(client: Client, task_queue: str) -> Callable[[str], Awaitable[int]]:
    """Signal-with-start of a new BareIncident."""

    async def start(workflow_id: str) -> int:
        await client.start_workflow(
            BareIncident.run,
            id=workflow_id,
            task_queue=task_queue,
            start_signal="fire",
            start_signal_args=[1],
        )
        return 0

    return start


def bare_signal(client: Client) -> Callable[[str], Awaitable[int]]:
    """A plain signal to a running BareIncident."""

    async def signal(workflow_id: str) -> int:
        await client.get_workflow_handle(workflow_id).signal(BareIncident.fire, 1)
        return 0

    return signal


# --- waiting for the worker and checking --------------------------------------------------


async def wait_recorded(database_url: str, expected: int) -> float:
    """Wait until Postgres holds ``expected`` incidents (the worker has declared and recorded
    every one); returns how long that took."""
    started = time.perf_counter()
    conn = await asyncpg.connect(database_url)
    try:
        while time.perf_counter() - started < CATCH_UP_TIMEOUT:
            if await conn.fetchval("SELECT count(*) FROM incidents") >= expected:
                break
            await asyncio.sleep(0.25)
    finally:
        await conn.close()
    return time.perf_counter() - started


async def count_incidents(client: Client, task_queue: str, expected: int) -> int:
    """The running incidents on ``task_queue`` by a visibility count, once it stops moving."""
    query = (
        f'WorkflowType="IncidentWorkflow" AND TaskQueue="{task_queue}" '
        'AND ExecutionStatus="Running"'
    )
    last, stable = -1, 0
    deadline = time.perf_counter() + 120
    while time.perf_counter() < deadline:
        count = (await client.count_workflows(query)).count
        stable = stable + 1 if count == last else 0
        if stable >= (2 if count == expected else 10):
            return count
        last = count
        await asyncio.sleep(0.5)
    return last


async def firings_of(
    client: Client, groups: Sequence[str], concurrency: int
) -> dict[str, int | None]:
    """Each group's incident's counted firings (None: no incident answers)."""
    found: dict[str, int | None] = {}

    async def one(group: str) -> int:
        handle: IncidentHandle = client.get_workflow_handle_for(
            IncidentWorkflow.run, incident_workflow_id("alertmanager", group_key(group))
        )
        try:
            found[group] = (await handle.query(IncidentWorkflow.state)).firings
        except (WorkflowQueryFailedError, RPCError):
            found[group] = None
        return 0

    await measure(Phase("query", len(groups)), groups, concurrency, one)
    return found


async def wait_firings(
    client: Client, groups: Sequence[str], expected: int, concurrency: int
) -> tuple[float, dict[str, int | None]]:
    """Query every incident until each counts ``expected`` firings or nothing moves for a
    while; returns how long that took and the last answers."""
    started = time.perf_counter()
    found: dict[str, int | None] = {}
    pending = list(groups)
    last_progress = time.perf_counter()
    while pending and time.perf_counter() - started < CATCH_UP_TIMEOUT:
        answers = await firings_of(client, pending, concurrency)
        found.update(answers)
        still = [g for g in pending if answers[g] != expected]
        if len(still) < len(pending):
            last_progress = time.perf_counter()
        elif time.perf_counter() - last_progress > 30:
            break  # no incident moved in 30 s: what is missing stays missing
        pending = still
        if pending:
            await asyncio.sleep(0.5)
    return time.perf_counter() - started, found


# --- the run ------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def servers(tmp: Path) -> AsyncIterator[tuple[DevServer, Client, str]]:
    """The dev server and Postgres; yields the server, a client and the database URL."""
    server = await DevServer.start(tmp / "temporal", port=free_port(), ui_port=free_port())
    postgres = EmbeddedPostgres(tmp / "postgres")
    try:
        database_url = postgres.start()
        await upgrade(database_url)
        client = await connect(TemporalSettings(address=server.address))
        yield server, client, database_url
    finally:
        postgres.stop()
        server.stop()


async def run(alerts: int, group_size: int, concurrency: int) -> dict[str, Any]:
    """Run the whole benchmark; returns the figures."""
    n = alerts // group_size
    if n < 1:
        raise SystemExit("--alerts must be at least --group-size")
    tag = uuid.uuid4().hex[:6]
    groups = [f"Storm{tag}N{i:05d}" for i in range(n)]
    bodies = [
        json.dumps(am_notification(g, [am_alert(g, i) for i in range(group_size)])).encode()
        for g in groups
    ]
    warm = [json.dumps(resolved_probe(f"Warm{tag}N{i}")).encode() for i in range(2 * concurrency)]
    task_queue, bare_queue = f"bench-{tag}", f"bench-{tag}-bare"
    tmp = Path(tempfile.mkdtemp(prefix="warroom-bench-"))
    started = time.perf_counter()
    try:
        async with servers(tmp) as (server, client, database_url), AsyncExitStack() as inner:
            store = StoreActivities(database_url)
            await store.open()
            inner.push_async_callback(store.close)
            worker_http = await inner.enter_async_context(httpx.AsyncClient())
            worker = build_worker(
                client,
                task_queue=task_queue,
                policy=load_policy(),
                channels=[],
                http=worker_http,
                prometheus_url=None,
                ui_url=None,
                store=store,
            )
            await inner.enter_async_context(worker)
            await inner.enter_async_context(
                Worker(client, task_queue=bare_queue, workflows=[BareIncident])
            )
            url = await inner.enter_async_context(
                running_hooks(HookSettings(task_queue=task_queue), client)
            )
            http = await inner.enter_async_context(
                httpx.AsyncClient(
                    base_url=url,
                    timeout=120,
                    limits=httpx.Limits(
                        max_connections=concurrency, max_keepalive_connections=concurrency
                    ),
                )
            )
            post = poster(http)
            print(
                f"stack up in {time.perf_counter() - started:.1f} s (Temporal {server.address}, "
                f"hooks {url}); storm of {n * group_size} alerts in {n} notifications",
                flush=True,
            )

            # Warm-up, not measured: the hook's whole path, and bare Temporal.
            await measure(Phase("warm-up", len(warm)), warm, concurrency, post)
            warm_ids = [f"warm-{tag}-{i}" for i in range(2 * concurrency)]
            await measure(
                Phase("warm-up", len(warm_ids)),
                warm_ids,
                concurrency,
                bare_start(client, bare_queue),
            )

            new = await measure(
                Phase("new incidents", n, n * group_size), bodies, concurrency, post
            )
            print(f"  A new incidents: {new.per_s:.1f}/s; waiting for the worker", flush=True)
            declared_after = await wait_recorded(database_url, n)

            dup = await measure(Phase("duplicates", n, n * group_size), bodies, concurrency, post)
            print(f"  B duplicates: {dup.per_s:.1f}/s; waiting for the worker", flush=True)
            counted_after, firings = await wait_firings(client, groups, 2 * group_size, concurrency)
            incidents = await count_incidents(client, task_queue, n)

            bare_ids = [f"bare-{tag}-{i:05d}" for i in range(n)]
            sws = await measure(
                Phase("bare signal-with-start", n),
                bare_ids,
                concurrency,
                bare_start(client, bare_queue),
            )
            sig = await measure(Phase("bare signal", n), bare_ids, concurrency, bare_signal(client))
            print("  baseline done; stopping", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    expected = 2 * group_size
    answered = [f for f in firings.values() if f is not None]
    unanswered = sum(1 for f in firings.values() if f is None)
    short = [f for f in answered if f < expected]
    over = [f for f in answered if f > expected]
    return {
        "alerts": n * group_size,
        "group_size": group_size,
        "notifications": n,
        "concurrency": concurrency,
        "new_incidents": new.figures(),
        "duplicates": dup.figures(),
        "bare_signal_with_start": sws.figures(),
        "bare_signal": sig.figures(),
        "ratio_new_vs_bare_signal_with_start": round(new.per_s / sws.per_s, 3),
        "ratio_duplicates_vs_bare_signal": round(dup.per_s / sig.per_s, 3),
        "goal_new": GOAL_NEW,
        "goal_duplicates": GOAL_DUPLICATES,
        "worker_recorded_all_after_s": round(declared_after, 1),
        "worker_counted_all_after_s": round(counted_after, 1),
        "check": {
            "group_keys": n,
            "incidents_counted": incidents,
            "incidents_queried": len(firings),
            "unanswered": unanswered,
            "firings_expected_each": expected,
            "firings_short": sum(expected - f for f in short),
            "firings_extra": sum(f - expected for f in over),
            "lost": max(0, n - incidents) + unanswered + len(short),
            "doubled": max(0, incidents - n) + len(over),
        },
        "total_seconds": round(time.perf_counter() - started, 1),
    }


# --- reporting ----------------------------------------------------------------------------


def verdict(ratio: float, goal: float) -> str:
    """``met``, or ``MISSED`` and by how much."""
    if ratio >= goal:
        return "met"
    return f"MISSED by {goal - ratio:.2f} ({(1 - ratio / goal) * 100:.0f} % short)"


def table(f: dict[str, Any]) -> str:
    """The figures as a compact table."""
    rows = [
        ("A  Warroom new incidents", f["new_incidents"]),
        ("B  Warroom duplicates", f["duplicates"]),
        ("   bare signal-with-start", f["bare_signal_with_start"]),
        ("   bare signal", f["bare_signal"]),
    ]
    check = f["check"]
    lines = [
        f"Warroom ingest: {f['alerts']:,} alerts as {f['notifications']} Alertmanager "
        f"notifications of {f['group_size']}, concurrency {f['concurrency']}",
        f"{'':27}{'seconds':>8}{'alerts/s':>10}{'calls/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'retries':>8}",
    ]
    for label, p in rows:
        alerts_per_s = f"{p['alerts_per_s']:,.0f}" if "alerts_per_s" in p else "-"
        lines.append(
            f"{label:27}{p['seconds']:8.2f}{alerts_per_s:>10}{p['per_s']:9.1f}"
            f"{p['p50_ms']:9.1f}{p['p99_ms']:9.1f}{p['retries']:8d}"
        )
    r_new, r_dup = f["ratio_new_vs_bare_signal_with_start"], f["ratio_duplicates_vs_bare_signal"]
    lines += [
        "(calls/s: notifications/s for A and B, A's being new incidents/s; workflow calls/s "
        "for bare)",
        f"new incidents/s ÷ bare signal-with-start/s   {r_new:5.2f}  goal ≥ {GOAL_NEW:.1f}: "
        f"{verdict(r_new, GOAL_NEW)}",
        f"duplicate notifications/s ÷ bare signals/s   {r_dup:5.2f}  goal ≥ {GOAL_DUPLICATES:.1f}: "
        f"{verdict(r_dup, GOAL_DUPLICATES)}",
        f"worker caught up: every incident recorded {f['worker_recorded_all_after_s']:.1f} s "
        f"after A's last POST, every firing counted {f['worker_counted_all_after_s']:.1f} s "
        f"after B's",
        f"check: {check['group_keys']} groupKeys, {check['incidents_counted']} running incidents "
        f"(visibility count), {check['incidents_queried']} queried for "
        f"{check['firings_expected_each']} firings each — lost: {check['lost']}, "
        f"doubled: {check['doubled']}",
        f"machine: {f['machine']['platform']}, {f['machine']['cpus']} CPUs, Python "
        f"{f['machine']['python']}; {f['date']}; whole run {f['total_seconds']:.0f} s",
    ]
    return "\n".join(lines)


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.ingest",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--alerts", type=int, default=10_000, help="alerts per phase")
    parser.add_argument("--group-size", type=int, default=20, help="alerts per notification")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    args = parser.parse_args()
    figures = asyncio.run(run(args.alerts, args.group_size, args.concurrency))
    figures["machine"] = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    figures["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    print(table(figures), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"figures written to {RESULTS}", flush=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # the SDK's core threads can abort interpreter shutdown


if __name__ == "__main__":
    main()
