"""Human-written durations (``15m``, ``2h``, ``1w``) used by the policy file."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")


def parse_duration(value: Any) -> timedelta:
    """Parse ``90s``, ``15m``, ``1h30m``, ``2w``, ``7.5s`` (or a timedelta/number of seconds)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError(f"expected a duration such as '15m' or '2h', got {value!r}")
    text = value.strip().lower().replace(" ", "")
    if text.startswith("p"):  # ISO 8601, as pydantic serialises timedelta
        from pydantic import TypeAdapter

        return TypeAdapter(timedelta).validate_python(value)
    pos = 0
    total = timedelta(0)
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        micros = Decimal(match.group(1)) * _UNITS[match.group(2)] * 1_000_000
        total += timedelta(microseconds=int(micros))
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(
            f"{value!r} is not a duration; use a number and a unit s, m, h, d or w, e.g. '15m'"
        )
    return total


def _parts(delta: timedelta) -> list[str]:
    micros = delta // timedelta(microseconds=1)
    seconds, fraction = divmod(micros, 1_000_000)
    parts = []
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    if fraction:  # only a compressed (demonstration) policy has parts of a second
        parts.append(f"{seconds}.{fraction:06d}".rstrip("0") + "s")
    elif seconds:
        parts.append(f"{seconds}s")
    return parts or ["0m"]


def format_duration(delta: timedelta, *, whole_seconds: bool = True) -> str:
    """Render a duration the way the runbooks write it: ``1h 5m``, ``15m``, ``2d``, ``31s``.

    Two units at most, whole seconds from a second up (an elapsed time read off a clock
    is ``31s``, never ``30.685497s``); below a second, as exact as it is.
    ``whole_seconds=False`` writes the fraction as incidents opened before this did,
    so their timelines replay word for word."""
    if whole_seconds and delta >= timedelta(seconds=1):
        delta = timedelta(seconds=round(delta.total_seconds()))
    return " ".join(_parts(delta)[:2])


_SPOKEN_UNITS = {"w": "wk", "d": "d", "h": "h", "m": "min", "s": "s"}


def spoken_duration(delta: timedelta) -> str:
    """An elapsed time as a person writes it: ``12 min``, ``31 s``, ``1 h 5 min``, ``2 d 3 h``.

    For sentences people read (``open for 12 min``): whole seconds, two units at most,
    the smaller one cut rather than rounded up (``59 min 59 s`` stays in the hour it is in).
    """
    seconds = round(max(delta, timedelta(0)).total_seconds())
    if seconds == 0:
        return "under a second" if delta > timedelta(0) else "0 s"
    words = []
    for part in _parts(timedelta(seconds=seconds))[:2]:
        number, unit = part[:-1], part[-1]
        words.append(f"{number} {_SPOKEN_UNITS[unit]}")
    return " ".join(words)


def _exact(delta: timedelta) -> str:
    return "".join(_parts(delta))


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(_exact, return_type=str, when_used="json"),
]
"""A timedelta that reads ``15m`` from YAML and writes ``15m`` back."""
