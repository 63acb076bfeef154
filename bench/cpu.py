"""CPU time per process group, read from Linux ``/proc``: which process bounds a benchmark.

A :class:`CpuMeter` names groups of processes (the dev server, the workers,
the hooks, Postgres, the benchmark process itself) by their root PIDs, each
with or without its descendants, and reads their CPU seconds; :meth:`CpuMeter.since`
turns two readings into cores busy per group over the interval, beside the
whole machine's busy cores and what processes outside the benchmark used
(``others``: the machine is shared, and that says how much). :func:`measure_phase`
runs one phase of a benchmark under a meter and turns it into CPU milliseconds per
item; :func:`cpu_header` and :func:`cpu_row` print such figures as a table.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

TICKS = os.sysconf("SC_CLK_TCK")
GROUPS = ("server", "workers", "hooks", "postgres", "bare_workers", "bench", "others", "machine")
"""The CPU groups, in the order reports show them."""
DEPLOYED = ("server", "workers", "hooks", "postgres")
"""What a deployment runs: the load generator and the sink are not counted in estimates."""
UNDER_TEST = (*DEPLOYED, "bare_workers")
"""The processes a phase waits for to go idle."""
WAIT = 600.0
"""Seconds a phase may wait for the processes under test to go idle."""


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent PID, CPU seconds user + system) of ``pid``; None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            text = stat.read()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after its last ')'.
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def _machine_busy() -> float:
    """CPU seconds the whole machine spent not idle (``/proc/stat``)."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / TICKS


@dataclass(frozen=True)
class Reading:
    """CPU seconds of every process of every group, and of the machine, at one moment."""

    at: float
    machine: float
    groups: dict[str, dict[int, float]]


@dataclass
class CpuMeter:
    """Groups of processes whose CPU time is read together."""

    groups: dict[str, tuple[list[int], bool]] = field(default_factory=dict)
    """Group name → (root PIDs, whether descendants count too)."""

    def add(self, name: str, pids: Iterable[int], *, descendants: bool = True) -> None:
        """Count ``pids`` (and, by default, every process they started) as ``name``."""
        roots, _ = self.groups.get(name, ([], descendants))
        self.groups[name] = ([*roots, *pids], descendants)

    def read(self) -> Reading:
        """CPU seconds of each group's processes now."""
        stats = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (stat := _stat(int(entry))) is not None:
                stats[int(entry)] = stat
        children: dict[int, list[int]] = {}
        for pid, (parent, _) in stats.items():
            children.setdefault(parent, []).append(pid)
        groups: dict[str, dict[int, float]] = {}
        for name, (roots, descendants) in self.groups.items():
            found: dict[int, float] = {}
            todo = [pid for pid in roots if pid in stats]
            while todo:
                pid = todo.pop()
                found[pid] = stats[pid][1]
                if descendants:
                    todo += children.get(pid, [])
            groups[name] = found
        return Reading(at=time.perf_counter(), machine=_machine_busy(), groups=groups)

    def since(self, before: Reading) -> dict[str, float]:
        """Cores busy per group from ``before`` to now, with ``machine``, ``others`` and
        the interval's length in ``seconds``.

        A process started meanwhile counts from zero; one that exited meanwhile
        is missed (its last CPU time is gone with it).
        """
        now = self.read()
        seconds = max(now.at - before.at, 1e-9)
        cores = {
            name: sum(cpu - before.groups.get(name, {}).get(pid, 0.0) for pid, cpu in pids.items())
            / seconds
            for name, pids in now.groups.items()
        }
        cores["machine"] = (now.machine - before.machine) / seconds
        cores["others"] = max(
            0.0, cores["machine"] - sum(v for k, v in cores.items() if k != "machine")
        )
        return {name: round(value, 3) for name, value in cores.items()} | {"seconds": seconds}


async def wait_idle(
    meter: CpuMeter, groups: Sequence[str] = UNDER_TEST, below: float = 0.1
) -> None:
    """Wait until ``groups`` together use less than ``below`` cores (at most :data:`WAIT` s)."""
    deadline = time.perf_counter() + WAIT
    while time.perf_counter() < deadline:
        before = meter.read()
        await asyncio.sleep(1)
        cores = meter.since(before)
        if sum(cores.get(g, 0.0) for g in groups) < below:
            return


async def measure_phase(
    meter: CpuMeter, count: int, work: Callable[[], Awaitable[dict[str, Any]]]
) -> dict[str, Any]:
    """Run one phase of ``count`` items; its figures with cores busy and CPU ms per item,
    from its start until the processes under test went idle again."""
    before = meter.read()
    figures: dict[str, Any] = await work()
    await wait_idle(meter)  # what trails the last item (records, timers set) is the phase's too
    cores = meter.since(before)
    figures["seconds"] = round(cores.pop("seconds"), 2)
    figures["cpu_cores"] = cores
    figures["cpu_ms_per_item"] = {
        group: round(busy * figures["seconds"] * 1000 / count, 1) for group, busy in cores.items()
    }
    return figures


def cpu_header() -> str:
    """The column heads of a table of :data:`GROUPS`."""
    names = {"bare_workers": "bare wkr"}
    return "  " + " " * 22 + "".join(f"{names.get(g, g):>9}" for g in GROUPS)


def cpu_row(label: str, values: dict[str, float], digits: int = 2) -> str:
    """One row of a table of :data:`GROUPS`."""
    return f"  {label:<22}" + "".join(f"{values.get(g, 0.0):>9.{digits}f}" for g in GROUPS)
