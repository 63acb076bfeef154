"""Fitting what senders send into the incident's model, without refusing an alert.

Alertmanager drops a refused (4xx) notification for good, so a value that is
merely too long is cut or hashed here, never refused.
"""

from __future__ import annotations

import hashlib

from incident import bounds

NAME_BYTES = 200
"""The longest alert name kept; a longer one is cut with a visible marker."""
FINGERPRINT_CHARS = 200
"""The longest fingerprint kept as sent; a longer one is replaced by its hash."""


def alert_name(text: str, default: str = "alert") -> str:
    """``text`` as an alert's name: cut to ``NAME_BYTES`` (marked), ``default`` when blank."""
    return bounds.clip(text.strip(), NAME_BYTES) or default


def fingerprint(text: str) -> str:
    """``text`` when it is short enough, else its SHA-256 (hex).

    Hashed rather than cut: two long fingerprints that share a prefix are two
    alerts and must stay two, and a repeated delivery must give the same one.
    """
    if len(text) <= FINGERPRINT_CHARS:
        return text
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
