"""Warroom's commands as real processes: run one to its end, or start one and stop it.

Every subprocess a test starts goes through here, so none can hang a run: each
wait has a limit, and a process past it is killed and the test fails saying so.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

PIPE = asyncio.subprocess.PIPE
STDOUT = asyncio.subprocess.STDOUT
DEVNULL = asyncio.subprocess.DEVNULL

WARROOM = str(Path(sys.executable).parent / "warroom")
"""The `warroom` CLI installed in this virtualenv."""


def python_m(module: str) -> tuple[str, str, str]:
    """``python -m <module>`` with this interpreter."""
    return (sys.executable, "-m", module)


@dataclass(frozen=True)
class Finished:
    """How a process ended: its exit code and what it wrote (``err`` is empty when merged)."""

    code: int
    out: str
    err: str = ""


async def start(
    *argv: str,
    env: Mapping[str, str] | None = None,
    stdout: int | IO[Any] = PIPE,
    stderr: int | IO[Any] = STDOUT,
) -> asyncio.subprocess.Process:
    """Start ``argv`` with exactly ``env`` (this process's environment if None).

    By default stdout is piped and stderr goes with it.
    """
    return await asyncio.create_subprocess_exec(
        *argv, env=dict(os.environ if env is None else env), stdout=stdout, stderr=stderr
    )


async def finish(
    process: asyncio.subprocess.Process, *, within: float = 60, what: str = ""
) -> Finished:
    """Wait for ``process`` to exit and collect its output; kill it and fail after ``within`` s."""
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=within)
    except TimeoutError:
        process.kill()
        await process.wait()
        name = what or f"process {process.pid}"
        raise AssertionError(f"{name} still running after {within}s") from None
    assert process.returncode is not None
    return Finished(process.returncode, (out or b"").decode(), (err or b"").decode())


async def stop(
    process: asyncio.subprocess.Process, *, sig: int = signal.SIGTERM, within: float = 30
) -> Finished:
    """Send ``sig`` if it still runs, then :func:`finish` it."""
    if process.returncode is None:
        process.send_signal(sig)
    return await finish(process, within=within)


async def run(
    *argv: str, env: Mapping[str, str] | None = None, within: float = 60, stderr: int = STDOUT
) -> Finished:
    """Run ``argv`` to its end (see :func:`start` and :func:`finish`)."""
    process = await start(*argv, env=env, stderr=stderr)
    return await finish(process, within=within, what=" ".join(argv))


async def read_until(process: asyncio.subprocess.Process, marker: str, within: float = 60) -> str:
    """Read ``process``'s stdout until ``marker`` appears; returns what was read."""
    seen = ""
    assert process.stdout is not None
    while marker not in seen:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=within)
        if not line:
            raise AssertionError(f"exited before {marker!r}:\n{seen}")
        seen += line.decode()
    return seen


def cli_env(
    address: str, *, task_queue: str = "warroom", database_url: str = "", actor: str = "cli-tester"
) -> dict[str, str]:
    """The environment the `warroom` CLI reads, pointed at ``address``."""
    return {
        **os.environ,
        "TEMPORAL_ADDRESS": address,
        "WARROOM_TASK_QUEUE": task_queue,
        "WARROOM_ACTOR": actor,
        "NO_COLOR": "1",
        "DATABASE_URL": database_url,
    }


async def warroom(*args: str, env: Mapping[str, str], within: float = 60) -> Finished:
    """The `warroom` CLI, stdout and stderr apart."""
    process = await start(WARROOM, *args, env=env, stderr=PIPE)
    return await finish(process, within=within, what=" ".join(("warroom", *args)))
