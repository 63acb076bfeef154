"""The runbooks' checklists as data: the triage questions, the checks before resolution and
the work after it, each item with a short key people type (``warroom check INC fix``).

What ticks an item lives in ``incident.rules.checklists``; which items a severity must
have before resolution is policy (``ChecklistRule``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class Checklist(StrEnum):
    """The three lists, in the order an incident meets them."""

    TRIAGE = "triage"
    PRE_RESOLUTION = "pre_resolution"
    POST_INCIDENT = "post_incident"

    @property
    def title(self) -> str:  # type: ignore[override]
        """``Pre-resolution`` rather than ``pre_resolution``."""
        return {
            Checklist.TRIAGE: "Triage",
            Checklist.PRE_RESOLUTION: "Pre-resolution",
            Checklist.POST_INCIDENT: "Post-incident",
        }[self]


class CheckItem(NamedTuple):
    """One item: its key, the list it is on, and how a person reads it."""

    key: str
    checklist: Checklist
    label: str
    ticked_by: str
    """What ticks it besides ``warroom check`` (shown by ``warroom check --list``)."""


_BY_HAND = "by hand"

ITEMS: tuple[CheckItem, ...] = (
    # Seed 000, phase 2: the questions triage answers.
    CheckItem("production", Checklist.TRIAGE, "Is production affected?", _BY_HAND),
    CheckItem(
        "scope",
        Checklist.TRIAGE,
        "How many users or agents are hit?",
        "an impact with users affected or share of traffic",
    ),
    CheckItem(
        "data_risk",
        Checklist.TRIAGE,
        "Is data at risk?",
        "an impact with data impact, or a data-loss / user-data flag",
    ),
    CheckItem("security", Checklist.TRIAGE, "Is security involved?", "a security-breach flag"),
    CheckItem(
        "business_impact",
        Checklist.TRIAGE,
        "What does it cost the business?",
        "an impact with revenue impact",
    ),
    # Seed 000: the resolution checklist and the pre-resolution verification list, merged.
    CheckItem(
        "root_cause",
        Checklist.PRE_RESOLUTION,
        "Root cause found and written down",
        "resolve (its root cause)",
    ),
    CheckItem("fix", Checklist.PRE_RESOLUTION, "Fix running in production", _BY_HAND),
    CheckItem(
        "metrics",
        Checklist.PRE_RESOLUTION,
        "Affected systems back to normal metrics",
        "the recovery criteria holding (SLO probes)",
    ),
    CheckItem(
        "error_rates",
        Checklist.PRE_RESOLUTION,
        "Error rates back at baseline",
        "the recovery criteria holding (SLO probes)",
    ),
    CheckItem(
        "no_new_alerts",
        Checklist.PRE_RESOLUTION,
        "No new related alerts",
        "the quiet window passing",
    ),
    CheckItem("verified", Checklist.PRE_RESOLUTION, "Checked by hand", _BY_HAND),
    CheckItem(
        "customer_impact",
        Checklist.PRE_RESOLUTION,
        "Customer-facing impact confirmed gone",
        _BY_HAND,
    ),
    CheckItem(
        "customers_told",
        Checklist.PRE_RESOLUTION,
        "Customers told",
        "a customer update",
    ),
    CheckItem("ticket", Checklist.PRE_RESOLUTION, "Incident ticket updated", _BY_HAND),
    # Seed 000, phase 5, and seed 001's post-incident steps.
    CheckItem(
        "timeline",
        Checklist.POST_INCIDENT,
        "Timeline written, in UTC",
        "Warroom, once resolved (it keeps the timeline)",
    ),
    CheckItem(
        "postmortem_scheduled",
        Checklist.POST_INCIDENT,
        "Postmortem scheduled",
        "postmortem submit",
    ),
    CheckItem("action_items", Checklist.POST_INCIDENT, "Action items created", "an action item"),
    CheckItem(
        "lessons",
        Checklist.POST_INCIDENT,
        "Lessons captured",
        "postmortem submit with lessons, went-well or to-improve",
    ),
    CheckItem(
        "regression_tests",
        Checklist.POST_INCIDENT,
        "Regression test for the failure path",
        _BY_HAND,
    ),
    CheckItem(
        "runbooks", Checklist.POST_INCIDENT, "Runbooks updated where they fell short", _BY_HAND
    ),
)
"""Every item, in the order they are shown."""

BY_KEY: dict[str, CheckItem] = {item.key: item for item in ITEMS}


def items_of(checklist: Checklist) -> list[CheckItem]:
    """The items of one list, in order."""
    return [item for item in ITEMS if item.checklist is checklist]


def item_named(name: str) -> CheckItem | None:
    """The item a person named, by key (``fix``) or by label, case and dashes aside."""
    wanted = name.strip().lower().replace("-", "_")
    if wanted in BY_KEY:
        return BY_KEY[wanted]
    return next((i for i in ITEMS if i.label.lower() == name.strip().lower()), None)
