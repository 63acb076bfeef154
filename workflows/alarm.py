"""The one durable timer an incident waits on: kept while the soonest due time stays the same.

A decision or an alert wakes the incident and it re-plans its timers; most
often the soonest one is still the same (an acknowledgement does not move the
status reminder). Re-arming on every wake would cancel that timer and start
an identical one, a billable action and two history events each time; the
alarm keeps the timer it has until the due time it was set for changes.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow


class Alarm:
    """One timer, due at one moment; set again only when that moment changes."""

    def __init__(self) -> None:
        self._due: datetime | None = None
        self._timer: asyncio.Task[None] | None = None

    @property
    def rang(self) -> bool:
        """The timer set last has fired."""
        return self._timer is not None and self._timer.done()

    def set(self, due: datetime | None, summary: str) -> None:
        """Ring at ``due`` (never, for None); the timer running stays when ``due`` is its own.

        ``summary`` is what the Web UI shows for a new timer; a kept one keeps its own.
        """
        if due is not None and due == self._due and self._timer is not None and not self.rang:
            return
        self.stop()
        if due is None:
            return
        self._due = due
        self._timer = asyncio.get_running_loop().create_task(
            workflow.sleep(due - workflow.now(), summary=summary)
        )

    def stop(self) -> None:
        """Cancel the timer, if one is still running."""
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
        self._timer = None
        self._due = None
