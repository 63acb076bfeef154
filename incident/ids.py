"""Identifiers: the workflow ID an alert maps to, and the human ``INC-`` ID."""

from __future__ import annotations

import hashlib
import re

_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I to misread on a call
_SLUG = re.compile(r"[^a-z0-9]+")


def incident_workflow_id(source: str, dedup_key: str) -> str:
    """The workflow ID of the incident an alert with ``dedup_key`` belongs to.

    The same source and key always give the same ID, so a repeated or
    duplicate delivery lands on the incident it belongs to.
    """
    digest = hashlib.sha256(dedup_key.encode()).hexdigest()[:24]
    slug = _SLUG.sub("-", source.lower()).strip("-") or "alert"
    return f"incident-{slug}-{digest}"


def human_id(workflow_id: str, run_id: str) -> str:
    """A short ID people say aloud, such as ``INC-7K3QXD``, unique per incident."""
    number = int.from_bytes(hashlib.sha256(f"{workflow_id}/{run_id}".encode()).digest()[:8])
    chars = []
    for _ in range(6):
        number, index = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[index])
    return "INC-" + "".join(chars)


HUMAN_ID = re.compile(r"^INC-[2-9A-HJ-NP-Z]{6}$")


def looks_like_human_id(text: str) -> bool:
    """Whether ``text`` is an ``INC-`` ID rather than a workflow ID."""
    return bool(HUMAN_ID.match(text.upper()))
