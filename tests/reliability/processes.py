"""The real worker process (`python -m worker`), to be killed with SIGKILL and started again,
and the real hook service (`python -m starter.hooks`), several side by side."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from dev.ports import free_port
from tests.support import processes
from tests.support.harness import Harness
from tests.support.wait import eventually


@dataclass
class WorkerProcess:
    """``python -m worker`` on the harness's task queue, posting notices to its receiver."""

    harness: Harness
    log_dir: Path
    control_plane_url: str | None = None
    database_url: str | None = None
    """The record's database (default: the harness's)."""
    starts: int = 0
    process: asyncio.subprocess.Process | None = field(default=None, repr=False)

    async def start(self) -> None:
        """Start a fresh process and wait until it polls its task queue."""
        assert self.process is None, "already running"
        self.starts += 1
        log = self.log_dir / f"worker-{self.starts}.log"
        channels = [{"name": "hook", "kind": "webhook", "url": f"{self.harness.receiver.url}/hook"}]
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": self.harness.client.service_client.config.target_host,
            "WARROOM_TASK_QUEUE": self.harness.task_queue,
            "DATABASE_URL": self.database_url or self.harness.database_url,
            "WARROOM_CHANNELS": json.dumps(channels),
            "WARROOM_CONTROL_PLANE_URL": self.control_plane_url or "",
        }
        with log.open("wb") as out:
            self.process = await processes.start(*processes.python_m("worker"), env=env, stdout=out)
        process = self.process

        def ready() -> bool:
            assert process.returncode is None, f"the worker exited:\n{log.read_text()}"
            return "worker ready" in log.read_text()

        await eventually(ready, within=60)

    async def kill(self) -> None:
        """kill -9: no shutdown, no goodbye; whatever it was doing is left half done."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self.process = None

    async def restart_after_kill(self) -> None:
        """kill -9, then a new process in its place."""
        await self.kill()
        await self.start()

    async def stop(self) -> None:
        """A clean stop (SIGTERM), if it is still running."""
        if self.process is None:
            return
        process, self.process = self.process, None
        # One that does not stop in time is killed: what a test checks is its incidents.
        with contextlib.suppress(AssertionError):
            await processes.stop(process, within=30)


@dataclass
class HookProcess:
    """``python -m starter.hooks`` on its own port, taking alerts for the harness's task queue.

    Several of them side by side are what a load balancer spreads deliveries over:
    they hold no state, so any one may take any alert.
    """

    harness: Harness
    log_dir: Path
    token: str
    name: str = "hooks"
    url: str = ""
    process: asyncio.subprocess.Process | None = field(default=None, repr=False)

    async def start(self) -> None:
        """Start the process and wait until it answers ``/readyz`` (Temporal reachable)."""
        assert self.process is None, "already running"
        port = free_port()
        log = self.log_dir / f"{self.name}.log"
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": self.harness.client.service_client.config.target_host,
            "WARROOM_TASK_QUEUE": self.harness.task_queue,
            "WARROOM_HOOKS_ADDR": f"127.0.0.1:{port}",
            "WARROOM_HOOKS_TOKENS": self.token,
        }
        with log.open("wb") as out:
            self.process = await processes.start(
                *processes.python_m("starter.hooks"), env=env, stdout=out
            )
        process, self.url = self.process, f"http://127.0.0.1:{port}"

        async def ready() -> bool:
            assert process.returncode is None, f"the hooks exited:\n{log.read_text()}"
            try:
                async with httpx.AsyncClient(timeout=2) as http:
                    return (await http.get(f"{self.url}/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(ready, within=60, every=0.2)

    async def stop(self) -> None:
        """A clean stop (SIGTERM), if it is still running."""
        if self.process is None:
            return
        process, self.process = self.process, None
        with contextlib.suppress(AssertionError):
            await processes.stop(process, within=30)
