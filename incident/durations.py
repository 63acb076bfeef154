"""Human-written durations (``15m``, ``2h``, ``1w``) used by the policy file."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+)\s*([smhdw])")


def parse_duration(value: Any) -> timedelta:
    """Parse ``90s``, ``15m``, ``1h30m``, ``2w`` (or a timedelta/number of seconds)."""
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
    total = 0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += int(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(
            f"{value!r} is not a duration; use a number and a unit s, m, h, d or w, e.g. '15m'"
        )
    return timedelta(seconds=total)


def _parts(delta: timedelta) -> list[str]:
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return parts or ["0m"]


def format_duration(delta: timedelta) -> str:
    """Render a duration the way the runbooks write it: ``1h 5m``, ``15m``, ``2d``."""
    return " ".join(_parts(delta)[:2])


def _exact(delta: timedelta) -> str:
    return "".join(_parts(delta))


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(_exact, return_type=str, when_used="json"),
]
"""A timedelta that reads ``15m`` from YAML and writes ``15m`` back."""
