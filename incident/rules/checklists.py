"""The checklists kept in the state: what ticks each item, the ``check`` decision, and what
the policy requires before resolution.

Most items are ticked by what the incident already knows — a resolution carries the root
cause, a customer update proves customers were told, the recovery criteria prove metrics
are normal — and are unticked again if that stops holding (a reopened incident is not
recovered). The rest a person ticks with ``warroom check``, with a note.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from incident.checklists import BY_KEY, ITEMS, CheckItem, Checklist, item_named, items_of
from incident.models import (
    CheckMark,
    CheckOff,
    Decision,
    IncidentState,
    Resolve,
    TimelineEvent,
)
from incident.rules import response, timeline, wording
from incident.rules.effects import Effects

if TYPE_CHECKING:
    from incident.lifecycle import Incident


def _flagged(s: IncidentState, *flags: str) -> bool:
    return any(f.flag in flags for f in s.flags)


def _recovered_by_probes(s: IncidentState) -> bool:
    probe = s.last_probe
    return s.resolved_at is not None and probe is not None and probe.configured and probe.healthy


EVIDENCE: dict[str, Callable[[IncidentState], bool]] = {
    "scope": lambda s: (
        s.impact_assessment is not None
        and (
            s.impact_assessment.users_affected is not None
            or s.impact_assessment.traffic_percent is not None
        )
    ),
    "data_risk": lambda s: (
        _flagged(s, "data_loss", "user_data_affected")
        or (
            s.impact_assessment is not None
            and (
                s.impact_assessment.data_impact is not None
                or s.impact_assessment.data_loss is not None
            )
        )
    ),
    "security": lambda s: _flagged(s, "security_breach"),
    "business_impact": lambda s: (
        s.impact_assessment is not None and s.impact_assessment.revenue_impact is not None
    ),
    "root_cause": lambda s: bool(s.root_cause),
    "metrics": _recovered_by_probes,
    "error_rates": _recovered_by_probes,
    "no_new_alerts": lambda s: s.resolved_at is not None,
    "customers_told": lambda s: bool(s.customer_updates),
    "timeline": lambda s: s.resolved_at is not None,
    "postmortem_scheduled": lambda s: s.postmortem is not None,
    "action_items": lambda s: bool(s.action_items),
    "lessons": lambda s: (
        s.postmortem is not None
        and bool(s.postmortem.lessons or s.postmortem.went_well or s.postmortem.to_improve)
    ),
}
"""What in the state proves an item, for the items the incident can tick by itself."""


def observe(inc: Incident, now: datetime, actor: str | None = None, seq: int | None = None) -> None:
    """Tick what the state now proves; untick what it ticked itself and no longer holds."""
    s = inc.state
    for key, holds in EVIDENCE.items():
        mark = s.checklist.get(key)
        if holds(s):
            if mark is None:
                by = actor or wording.SYSTEM
                s.checklist[key] = CheckMark(at=now, by=by, seq=seq, auto=True)
        elif mark is not None and mark.auto:
            del s.checklist[key]


def after_decision(inc: Incident, decision: Decision, event: TimelineEvent, now: datetime) -> None:
    """Tick what a decision proves, as its actor; a resolution ticks what it vouches for."""
    if isinstance(decision, Resolve):
        for name in decision.verified:
            item = item_named(name)
            if item is not None and item.key not in inc.state.checklist:
                inc.state.checklist[item.key] = CheckMark(
                    at=now, by=decision.actor, note="vouched for on resolving", seq=event.seq
                )
    observe(inc, now, decision.actor, event.seq)


def required_to_resolve(inc: Incident) -> list[CheckItem]:
    """The items the policy wants ticked before this incident's resolution is declared."""
    if not inc.state.runbook_rules:
        return []
    keys = inc.policy.checklists.required_to_resolve.get(inc.state.severity, [])
    return [BY_KEY[k] for k in keys]


def missing_to_resolve(inc: Incident, vouched: list[str] | None = None) -> list[CheckItem]:
    """Required items not ticked yet (``vouched``: named by the resolution itself)."""
    named = {item.key for n in vouched or [] if (item := item_named(n)) is not None}
    ticked = set(inc.state.checklist) | named
    return [item for item in required_to_resolve(inc) if item.key not in ticked]


def check_resolve(inc: Incident, d: Resolve, now: datetime) -> str | None:
    """The resolution rule, then the root cause and the policy's required checks."""
    reason = response.check_resolve(inc, d, now)
    if reason:
        return reason
    unknown = [n for n in d.verified if item_named(n) is None]
    if unknown:
        return f"no checklist item {', '.join(unknown)} (known: {', '.join(BY_KEY)})"
    missing = missing_to_resolve(inc, d.verified)
    if missing:
        names = "; ".join(f"{i.label} ({i.key})" for i in missing)
        return (
            f"a {inc.state.severity} resolution needs the root cause and these checks, "
            f"still open: {names} — tick them with `warroom check` or resolve --verified"
        )
    return None


def check_check(inc: Incident, d: CheckOff, now: datetime) -> str | None:
    item = item_named(d.item)
    if item is None:
        return f"no checklist item {d.item!r} (known: {', '.join(BY_KEY)})"
    mark = inc.state.checklist.get(item.key)
    if d.done and mark is not None and not mark.auto:
        return f"{item.label} is already ticked by {mark.by} at {wording.utc(mark.at)}"
    if not d.done and mark is None:
        return f"{item.label} is not ticked"
    return None


def apply_check(inc: Incident, d: CheckOff, now: datetime, fx: Effects) -> TimelineEvent:
    item = item_named(d.item)
    assert item is not None  # checked
    s = inc.state
    note = f": {d.note}" if d.note else ""
    if d.done:
        event = timeline.add_event(
            inc, now, "checked", d.actor, f"Checked: {item.label}{note}", d.reason
        )
        s.checklist[item.key] = CheckMark(at=now, by=d.actor, note=d.note, seq=event.seq)
    else:
        event = timeline.add_event(
            inc, now, "unchecked", d.actor, f"Unchecked: {item.label}{note}", d.reason
        )
        s.checklist.pop(item.key, None)
    return event


class Row:
    """One item as shown: ticked or not, by whom, and whether resolution needs it."""

    def __init__(self, item: CheckItem, mark: CheckMark | None, required: bool) -> None:
        self.item = item
        self.mark = mark
        self.required = required

    @property
    def line(self) -> str:
        """``[x] Fix running in production — dana 14:05 UTC: v41 deployed``."""
        box = "x" if self.mark else " "
        need = " (required to resolve)" if self.required and not self.mark else ""
        by = ""
        if self.mark:
            by = f" — {self.mark.by} {wording.utc(self.mark.at)}"
            if self.mark.note:
                by += f": {self.mark.note}"
        return f"[{box}] {self.item.label}{need}{by}"


def rows(inc: Incident) -> dict[Checklist, list[Row]]:
    """Every list with each item's state, in the runbooks' order."""
    required = {i.key for i in required_to_resolve(inc)}
    return {
        checklist: [
            Row(item, inc.state.checklist.get(item.key), item.key in required)
            for item in items_of(checklist)
        ]
        for checklist in Checklist
    }


def summary(inc: Incident) -> str:
    """``triage 2/5 · pre-resolution 1/9 · post-incident 0/6``."""
    parts = []
    for checklist, listed in rows(inc).items():
        done = sum(1 for r in listed if r.mark)
        parts.append(f"{checklist.title.lower()} {done}/{len(listed)}")
    return " · ".join(parts)


__all__ = ["ITEMS", "after_decision", "check_check", "check_resolve", "observe", "rows"]
