"""What every benchmark shares: a fresh stack on loopback, percentiles, the results file.

A benchmark builds a :class:`BenchStack` (its own Temporal dev server on a new
SQLite file with the WAL pragmas, its own embedded Postgres), starts the
Warroom processes it needs with :meth:`BenchStack.spawn` (``worker``,
``starter.hooks``) exactly as production runs them, and measures the
bare-Temporal baseline on the same server through :attr:`BenchStack.client`.
It then hands its figures to :func:`save`, which writes
``bench/results/<name>.json`` with the machine and the date; ``python -m
bench`` renders every result into ``docs/performance.md``.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from bench.cpu import CpuMeter
from dev.ports import free_port
from settings import TemporalSettings, connect
from starter.devserver import DevServer
from starter.postgres import EmbeddedPostgres, upgrade

RESULTS = Path(__file__).parent / "results"
T = TypeVar("T")


def pct(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p99/max of latencies given in seconds, in milliseconds."""
    return {
        "count": len(seconds),
        "p50_ms": round(pct(seconds, 0.5) * 1000, 1),
        "p99_ms": round(pct(seconds, 0.99) * 1000, 1),
        "max_ms": round(max(seconds, default=0.0) * 1000, 1),
    }


async def pool(
    items: Sequence[T], concurrency: int, work: Callable[[T], Awaitable[Any]]
) -> list[float]:
    """Run ``work(item)`` over ``items`` with ``concurrency`` in flight; each latency in s."""
    latencies: list[float] = []
    queue = list(reversed(items))

    async def runner() -> None:
        while queue:
            item = queue.pop()
            started = time.perf_counter()
            await work(item)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(runner() for _ in range(concurrency)))
    return latencies


def machine() -> dict[str, Any]:
    """The machine the figures come from."""
    memory, processor = 0, platform.processor() or platform.machine()
    try:
        with open("/proc/meminfo") as meminfo:
            memory = int(meminfo.readline().split()[1]) * 1024
        with open("/proc/cpuinfo") as cpuinfo:
            models = (line.split(":", 1)[1] for line in cpuinfo if line.startswith("model name"))
            processor = next(models, processor).strip()
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "processor": processor,
        "cpus": os.cpu_count(),
        "memory_gib": round(memory / 2**30, 1),
        "python": sys.version.split()[0],
    }


def save(name: str, figures: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json`` with the machine and the date added."""
    figures = {
        **figures,
        "machine": machine(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2) + "\n")
    return path


def linked_workflow_id(notice: dict[str, Any]) -> str:
    """The workflow ID a Warroom notice links to (``.../workflows/<workflow id>``)."""
    return str(notice.get("link") or "").rsplit("/", 1)[-1]


def rss_bytes(pid: int, peak: bool = False) -> int:
    """Resident memory of process ``pid`` now, or its high-water mark (Linux ``/proc``)."""
    field = "VmHWM:" if peak else "VmRSS:"
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


@dataclass
class BenchStack:
    """A Temporal dev server and Postgres of the benchmark's own, and the processes it spawned."""

    server: DevServer
    postgres: EmbeddedPostgres
    database_url: str
    client: Client
    task_queue: str
    workdir: Path
    processes: list[asyncio.subprocess.Process] = field(default_factory=list)
    hooks_token: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    """The bearer token the hook service started by :meth:`hooks` takes."""

    @property
    def hook_headers(self) -> dict[str, str]:
        """The headers a delivery to :meth:`hooks` carries (its credentials)."""
        return {"Authorization": f"Bearer {self.hooks_token}"}

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment a Warroom process gets: this server, database and task queue."""
        return {
            **os.environ,
            "TEMPORAL_ADDRESS": self.server.address,
            "DATABASE_URL": self.database_url,
            "WARROOM_TASK_QUEUE": self.task_queue,
            **(extra or {}),
        }

    async def spawn(
        self, module: str, extra_env: Mapping[str, str] | None = None
    ) -> asyncio.subprocess.Process:
        """Start ``python -m <module>`` (``worker``, ``starter.hooks``) against this stack.

        Its output goes to ``<workdir>/<module>.log``; it is stopped when the stack closes.
        """
        log = (self.workdir / f"{module}.log").open("ab")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            env=self.env(extra_env),
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
        log.close()
        self.processes.append(process)
        return process

    async def hooks(self, processes: int = 1) -> str:
        """Start the hook service and wait until it answers ``/readyz``; returns its URL.

        It takes :attr:`hooks_token` only: send :attr:`hook_headers` with every delivery.
        """
        port = free_port()
        await self.spawn(
            "starter.hooks",
            {
                "WARROOM_HOOKS_ADDR": f"127.0.0.1:{port}",
                "WARROOM_HOOKS_PROCESSES": str(processes),
                "WARROOM_HOOKS_TOKENS": self.hooks_token,
            },
        )
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(timeout=5) as http:
            for _ in range(300):
                try:
                    if (await http.get(f"{url}/readyz")).status_code == 200:
                        return url
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"the hook service did not become ready; see {self.workdir}")

    def meter(self) -> CpuMeter:
        """A CPU meter over the dev server, Postgres and this process (``bench``: the load
        generator and the sink); add the processes spawned on top as they start."""
        meter = CpuMeter()
        meter.add("server", [self.server.process.pid])
        meter.add("bench", [os.getpid()], descendants=False)
        for path in (self.workdir / "postgres").rglob("postmaster.pid"):
            meter.add("postgres", [int(path.read_text().split()[0])])
        return meter

    async def polled(self, *task_queues: str) -> None:
        """Wait until a worker polls each task queue for workflow and for activity tasks."""
        for name in task_queues:
            for kind in (
                TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
            ):
                request = DescribeTaskQueueRequest(
                    namespace=self.client.namespace,
                    task_queue=TaskQueue(name=name),
                    task_queue_type=kind,
                )
                for _ in range(300):
                    if (await self.client.workflow_service.describe_task_queue(request)).pollers:
                        break
                    await asyncio.sleep(0.1)
                else:
                    raise RuntimeError(f"no worker polls {name}; see {self.workdir}")

    async def stop(self, process: asyncio.subprocess.Process) -> None:
        """Stop one spawned process (SIGTERM, then wait)."""
        if process.returncode is None:
            process.terminate()
            await process.wait()


@asynccontextmanager
async def bench_stack() -> AsyncIterator[BenchStack]:
    """A fresh dev server (SQLite file, WAL) and embedded Postgres, gone afterwards.

    With ``WARROOM_BENCH_KEEP=1`` the working directory (server and Postgres
    data, every spawned process's log) is kept and its path printed.
    """
    workdir = Path(tempfile.mkdtemp(prefix="warroom-bench-"))
    server = await DevServer.start(workdir / "temporal", port=free_port(), ui_port=free_port())
    postgres = EmbeddedPostgres(workdir / "postgres")
    stack: BenchStack | None = None
    try:
        database_url = postgres.start()
        await upgrade(database_url)
        client = await connect(TemporalSettings(address=server.address))
        stack = BenchStack(
            server=server,
            postgres=postgres,
            database_url=database_url,
            client=client,
            task_queue=f"bench-{uuid.uuid4().hex[:6]}",
            workdir=workdir,
        )
        yield stack
    finally:
        if stack is not None:
            for process in stack.processes:
                await stack.stop(process)
        postgres.stop()
        server.stop()
        if os.environ.get("WARROOM_BENCH_KEEP"):
            print(f"kept {workdir}", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def finish(code: int = 0) -> None:
    """Exit at once: the SDK's core threads can abort a normal interpreter shutdown."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
