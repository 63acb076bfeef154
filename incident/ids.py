"""Identifiers: the workflow ID an alert maps to, and the human ``INC-`` ID."""

from __future__ import annotations

import hashlib
import re
import secrets

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


HUMAN_ID_CHARS = 10
"""50 bits: at a million incidents the odds that two ever share an ID are 1 in 2,000.

The first IDs had 6 characters (30 bits: 5% odds of a collision by 10,000
incidents); incidents opened then keep them. Nothing is keyed on the human ID
alone: idempotency keys use the run that opened the incident.
"""
SHORT_HUMAN_ID_CHARS = 6


def human_id(workflow_id: str, run_id: str, *, length: int = HUMAN_ID_CHARS) -> str:
    """The ID people say aloud, such as ``INC-7K3QX-D2MPA``, from the run that opened it."""
    number = int.from_bytes(hashlib.sha256(f"{workflow_id}/{run_id}".encode()).digest()[:8])
    chars = []
    for _ in range(length):
        number, index = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[index])
    text = "".join(chars)
    if length > SHORT_HUMAN_ID_CHARS:
        text = f"{text[:5]}-{text[5:]}"
    return "INC-" + text


HUMAN_ID = re.compile(r"^INC-(?:[2-9A-HJ-NP-Z]{6}|[2-9A-HJ-NP-Z]{5}-?[2-9A-HJ-NP-Z]{5})$")


def looks_like_human_id(text: str) -> bool:
    """Whether ``text`` is an ``INC-`` ID rather than a workflow ID."""
    return bool(HUMAN_ID.match(text.upper()))


def normal_human_id(text: str) -> str:
    """``inc-7k3qxd2mpa`` as it is stored: ``INC-7K3QX-D2MPA`` (short IDs unchanged)."""
    upper = text.upper()
    if len(upper) == len("INC-") + HUMAN_ID_CHARS:
        return f"{upper[:9]}-{upper[9:]}"
    return upper


_DECLARED = re.compile(r"^incident-(INC-[2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5})$")


def new_human_id() -> str:
    """A fresh random ``INC-`` ID for an incident declared by hand (client side only)."""
    text = "".join(secrets.choice(_ALPHABET) for _ in range(HUMAN_ID_CHARS))
    return f"INC-{text[:5]}-{text[5:]}"


def declared_workflow_id(human_id: str) -> str:
    """The workflow ID of the incident declared as ``human_id``: ``incident-INC-7K3QX-D2MPA``."""
    return f"incident-{normal_human_id(human_id)}"


def follow_up_workflow_id(human_id: str) -> str:
    """The workflow ID of closed incident ``human_id``'s follow-up: ``follow-up-INC-…``."""
    return f"follow-up-{normal_human_id(human_id)}"


def human_id_in_workflow_id(workflow_id: str) -> str | None:
    """The ``INC-`` ID a declared incident's workflow ID carries; None for any other ID.

    Alert-started incidents (``incident-<source>-<hex digest>``) and those declared
    before the ID was carried (``incident-manual-<hex>``) carry none.
    """
    match = _DECLARED.match(workflow_id)
    return match.group(1) if match else None


def incident_key(human_id: str, uid: str | None) -> str:
    """The incident in idempotency keys: ``INC-…/<run that opened it>``.

    The human ID alone is for people: two incidents could share one, and a key
    they shared would replay one incident's control-plane answers to the other.
    Incidents opened before they had a ``uid`` keep the keys they began with.
    """
    return f"{human_id}/{uid}" if uid else human_id
