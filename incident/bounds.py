"""Byte limits on everything Warroom hands to Temporal or keeps in an incident's state.

Temporal terminates a run whose search attribute, memo, summary or payload is
over the server's limit, and the limits are in bytes, not characters: 200 CJK
characters are 600 bytes. Every value written to Temporal goes through
``clip`` (a visible marker shows where text was cut), and ``payload_bytes``
measures a model as the data converter will send it.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel

MARKER = "…[truncated]"
"""Appended where Warroom cut a text, so a reader knows there was more."""

# Alerts, at every door (hooks and the Python API alike).
LABEL_NAME_BYTES = 256
LABEL_VALUE_BYTES = 1024
ANNOTATION_VALUE_BYTES = 8 * 1024
MAX_LABELS = 128
"""Labels (or annotations) per alert; an alert with more is refused, naming the field."""
DEDUP_KEY_BYTES = 64 * 1024
"""The longest dedup key kept on the incident; the workflow ID is a hash of any length."""

# What the workflow writes to Temporal.
SEARCH_ATTRIBUTE_BYTES = 512
"""Per keyword value (the server refuses values over 2 KiB by default)."""
SUMMARY_BYTES = 200
"""Static summaries and the summaries of timers and activities (the Web UI shows one line)."""
DETAILS_BYTES = 16 * 1024
"""Static and current details (markdown in the Web UI)."""
CARRIED_STATE_BYTES = 1024 * 1024
"""The state a run carries into the next through continue-as-new (server limit 2 MiB)."""
ACTIVITY_INPUT_BYTES = 256 * 1024
"""One activity's input: a notice, a batch of records (server limit 2 MiB)."""
TIMELINE_BYTES = 512 * 1024
"""The timeline an incident keeps in its state (the store keeps all of it)."""
DECISION_BYTES = 32 * 1024
"""One decision as sent; a larger one is refused by its validator."""
MAX_CUSTOMER_UPDATES = 20
"""Customer updates an incident keeps in its state (the store keeps all of them)."""


def clip(text: str, max_bytes: int, marker: str = MARKER) -> str:
    """``text`` if it fits in ``max_bytes`` of UTF-8, else cut on a character boundary + marker."""
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= max_bytes:
        return text
    room = max(0, max_bytes - len(marker.encode()))
    return encoded[:room].decode("utf-8", "ignore") + marker


def clip_name(name: str, max_bytes: int = LABEL_NAME_BYTES) -> str:
    """A label name cut to size; two long names alike in their first bytes stay two names."""
    if len(name.encode("utf-8", "surrogatepass")) <= max_bytes:
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return clip(name, max_bytes - len(digest) - 1) + "#" + digest


def clip_line(text: str, max_bytes: int = SUMMARY_BYTES) -> str:
    """One line (newlines folded to spaces) of at most ``max_bytes``: a summary."""
    return clip(" ".join(text.split()), max_bytes, "…")


def keyword(text: str) -> str:
    """A search-attribute value: printable, one line, within SEARCH_ATTRIBUTE_BYTES."""
    printable = "".join(ch if ch.isprintable() else "\ufffd" for ch in text)
    return clip(printable, SEARCH_ATTRIBUTE_BYTES, "…")


def payload_bytes(model: BaseModel) -> int:
    """The size of ``model`` as JSON, as the pydantic data converter sends it."""
    return len(model.__pydantic_serializer__.to_json(model))
