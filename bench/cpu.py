"""CPU time per process group, read from Linux ``/proc``: which process bounds a benchmark.

A :class:`CpuMeter` names groups of processes (the dev server, the workers,
the hooks, Postgres, the benchmark process itself) by their root PIDs, each
with or without its descendants, and reads their CPU seconds; :meth:`CpuMeter.since`
turns two readings into cores busy per group over the interval, beside the
whole machine's busy cores and what processes outside the benchmark used
(``others``: the machine is shared, and that says how much).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

TICKS = os.sysconf("SC_CLK_TCK")


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
