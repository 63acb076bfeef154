"""The one way tests wait for something: poll until it holds, or fail saying what was seen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


async def poll(probe: Callable[[], Any], *, within: float = 15.0, every: float = 0.05) -> Any:
    """Call ``probe`` (sync or async) every ``every`` s until it returns something truthy.

    Returns that value, or the last value seen once ``within`` seconds have passed
    (``probe`` runs at least once). An exception from ``probe`` ends it at once:
    catch what means "not yet" in the probe.
    """
    deadline = time.monotonic() + within
    while True:
        last = probe()
        if asyncio.iscoroutine(last):
            last = await last
        if last or time.monotonic() >= deadline:
            return last
        await asyncio.sleep(every)


async def eventually(probe: Callable[[], Any], *, within: float = 15.0, every: float = 0.05) -> Any:
    """:func:`poll` that fails after ``within`` seconds, with the last value seen."""
    last = await poll(probe, within=within, every=every)
    if not last:
        raise AssertionError(f"condition not met within {within}s (last value: {last!r})")
    return last
