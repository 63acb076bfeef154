"""Templated PromQL: a probe's query scoped to one incident's org, deployment or service.

A probe names what it is scoped to with placeholders, each the whole value of a
label matcher: ``{org="{{org}}", deployment=~"{{deployment}}"}``. Filling one
escapes the incident's value for a PromQL string (and, after ``=~``/``!~``, for
a regular expression), so a label value holding quotes, backslashes or regex
syntax matches itself and never changes the query around it. A placeholder
with no value drops its matcher: the probe then judges every series instead
of the incident's, and says so.

Pure: no I/O, safe inside the workflow sandbox.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
"""``{{org}}``: a name filled from the incident."""

_MATCHER = re.compile(
    r'(?P<label>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*"'
    r"\{\{\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*\}\}"
    r'"'
)
"""A label matcher whose whole value is one placeholder: ``org="{{org}}"``."""

_DROPPED = "\x00"
# A dropped matcher leaves the selector's other matchers and their commas well formed.
_DROPPED_WITH_COMMA = re.compile(r"\x00\s*,\s*|\s*,\s*\x00|\x00")

# RE2 metacharacters; Prometheus anchors a regex matcher, so these are all that need quoting.
_REGEX_META = re.compile(r"([\\.+*?()|\[\]{}^$])")

_STRING_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def placeholders(query: str) -> list[str]:
    """The names a query's placeholders ask for, in order, each once."""
    return list(dict.fromkeys(m.group(1) for m in PLACEHOLDER.finditer(query)))


def template_problem(query: str) -> str | None:
    """Why ``query``'s placeholders cannot be filled safely (a person reads it), or None.

    Every placeholder must be the whole double-quoted value of a label
    matcher: only there is escaping the value enough, and only there can the
    matcher be dropped when the incident has no value for it.
    """
    bare = _MATCHER.sub("", query)
    stray = PLACEHOLDER.search(bare)
    if stray is None:
        return None
    return (
        f"placeholder {stray.group(0)} must be the whole value of a label matcher, "
        f'such as {{{stray.group(1)}="{{{{{stray.group(1)}}}}}"}}'
    )


def string_literal_body(value: str) -> str:
    """``value`` escaped to sit between the double quotes of a PromQL string."""
    out = []
    for char in value:
        if char in _STRING_ESCAPES:
            out.append(_STRING_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


def regex_literal(value: str) -> str:
    """A regular expression (RE2, as Prometheus reads it) matching exactly ``value``."""
    return _REGEX_META.sub(r"\\\1", value)


@dataclass(frozen=True)
class Scoped:
    """A query with its placeholders filled."""

    query: str
    unscoped: list[str] = field(default_factory=list)
    """Placeholders that had no value: their matchers were dropped."""


def fill(query: str, values: Mapping[str, str | None]) -> Scoped:
    """``query`` with each placeholder's matcher filled from ``values`` (escaped), or dropped
    when the value is missing or blank. The query must pass ``template_problem``."""
    unscoped: list[str] = []

    def one(match: re.Match[str]) -> str:
        name, op = match.group("name"), match.group("op")
        value = values.get(name)
        if value is None or not value.strip():
            if name not in unscoped:
                unscoped.append(name)
            return _DROPPED
        literal = regex_literal(value) if op in ("=~", "!~") else value
        return f'{match.group("label")}{op}"{string_literal_body(literal)}"'

    filled = _MATCHER.sub(one, query)
    if unscoped:
        filled = _DROPPED_WITH_COMMA.sub("", filled)
    return Scoped(query=filled, unscoped=unscoped)
