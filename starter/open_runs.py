"""The incident runs a process has lately seen open: where a repeated delivery goes.

Signal-with-start answers with the run it started or signalled. Remembering
that run lets the next delivery for the same dedup key go to it as a plain
signal, which costs the server about seven tenths of what signal-with-start to a
running workflow does (the start request is never built, checked or sent). A signal to a
run names that run, so it reaches that run or none: when it has ended (closed,
or continued as new), the server answers NOT_FOUND, the run is forgotten, and
the delivery goes by signal-with-start as if nothing had been remembered. What
is remembered is a hint, never a source of truth.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

REMEMBERED_RUNS = 10_000
"""Runs kept per process, the least recently reached forgotten first (≈ 2 MB)."""


@dataclass(frozen=True)
class OpenRun:
    """A run that held an incident open when it last took a delivery."""

    run_id: str
    first_run_id: str | None
    """The first run of its chain, when signal-with-start said (it names the incident)."""


class OpenRuns:
    """Runs by workflow ID, bounded; the least recently used go first."""

    def __init__(self, limit: int = REMEMBERED_RUNS) -> None:
        self._limit = limit
        self._runs: OrderedDict[str, OpenRun] = OrderedDict()

    def __len__(self) -> int:
        return len(self._runs)

    def get(self, workflow_id: str) -> OpenRun | None:
        """The run last seen open under ``workflow_id``, or None."""
        run = self._runs.get(workflow_id)
        if run is not None:
            self._runs.move_to_end(workflow_id)
        return run

    def remember(self, workflow_id: str, run: OpenRun) -> None:
        """``run`` took a delivery for ``workflow_id`` just now."""
        self._runs[workflow_id] = run
        self._runs.move_to_end(workflow_id)
        while len(self._runs) > self._limit:
            self._runs.popitem(last=False)

    def forget(self, workflow_id: str, run_id: str) -> None:
        """``run_id`` no longer takes deliveries; a newer run remembered since stays."""
        run = self._runs.get(workflow_id)
        if run is not None and run.run_id == run_id:
            del self._runs[workflow_id]
