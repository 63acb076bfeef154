"""How a setting's text becomes a value: one parser for each kind of value, one error format.

Each parser takes what the environment gave (a string, stripped, never empty)
or what a caller passed in code, and returns the value or raises ``invalid``
with the reason, quoting the value. ``Annotated`` with ``BeforeValidator``
puts them on a settings field::

    address: Annotated[str, host_port("localhost:7233")] = Field(
        "localhost:7233", validation_alias="TEMPORAL_ADDRESS"
    )
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BeforeValidator, HttpUrl, TypeAdapter, ValidationError

from incident.durations import parse_duration
from settings.errors import invalid

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})

_HTTP_URL = TypeAdapter(HttpUrl)


def split_host_port(value: str, *, example: str) -> tuple[str, int]:
    """``host:port`` as its host and its port (1-65535); ``example`` is shown when it is not."""
    host, sep, port = value.rpartition(":")
    # isdecimal() alone takes other scripts' digits ("٨٠"), which int() would read.
    if not (sep and host and port.isascii() and port.isdecimal() and 0 < int(port) < 65536):
        raise invalid(f"expected host:port such as {example}, got {value!r}")
    return host, int(port)


def host_port(example: str) -> BeforeValidator:
    """A ``host:port`` setting, kept as written; ``example`` is shown when it is not one."""

    def parse(value: Any) -> Any:
        if isinstance(value, str):
            split_host_port(value, example=example)
        return value

    return BeforeValidator(parse)


def flag() -> BeforeValidator:
    """On or off: ``1``/``true``/``yes``/``on`` or ``0``/``false``/``no``/``off``, any case."""

    def parse(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if value.lower() in TRUE:
            return True
        if value.lower() in FALSE:
            return False
        raise invalid(f"expected 1/true/yes or 0/false/no, got {value!r}")

    return BeforeValidator(parse)


def whole_number(minimum: int) -> BeforeValidator:
    """A whole number of at least ``minimum``, written in ASCII digits."""

    def parse(value: Any) -> Any:
        number = (
            int(value)
            if isinstance(value, str) and value.isascii() and value.isdecimal()
            else value
        )
        if isinstance(number, bool) or not isinstance(number, int) or number < minimum:
            raise invalid(f"expected a whole number of at least {minimum}, got {value!r}")
        return number

    return BeforeValidator(parse)


def seconds(maximum: float) -> BeforeValidator:
    """A duration in seconds, more than 0 and at most ``maximum``: ``2.5``, ``10s``, ``1m``.

    A bare number is seconds; with a unit it is read like the policy's durations.
    """

    def parse(value: Any) -> float:
        try:
            if isinstance(value, str) and not value[-1:].isalpha():
                number = float(value)
            else:
                number = parse_duration(value).total_seconds()
        except (ValueError, OverflowError):
            number = math.nan
        # NaN compares false with everything, so it is refused here too.
        if not 0 < number <= maximum:
            raise invalid(f"expected seconds in (0, {maximum:g}], got {value!r}")
        return number

    return BeforeValidator(parse)


def existing_file() -> BeforeValidator:
    """A path to a file that exists now (``~`` expanded).

    Checked when the settings are read, not when the file is opened, where a
    missing file would surface as a bare FileNotFoundError without the variable.
    """

    def parse(value: Any) -> Any:
        if not isinstance(value, str | Path):
            return value
        path = Path(value).expanduser()
        if not path.is_file():
            raise invalid(f"no such file: {path}")
        return path

    return BeforeValidator(parse)


def comma_list() -> BeforeValidator:
    """``a, b,c`` as ``("a", "b", "c")``; blanks between commas are dropped."""

    def parse(value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    return BeforeValidator(parse)


def http_url(shown: Callable[[str], str]) -> BeforeValidator:
    """An ``http(s)://`` URL, kept as written minus a trailing slash (paths are appended to it).

    ``shown`` is how the value may appear in the error: a URL can carry
    credentials (userinfo, a token in its query or path).
    """

    def parse(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            _HTTP_URL.validate_python(value)
        except ValidationError as err:
            raise invalid(f"{err.errors()[0]['msg']}, got {shown(value)!r}") from None
        return value.rstrip("/")

    return BeforeValidator(parse)
