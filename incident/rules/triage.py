"""Detection and triage: what a new incident records and sends the moment it opens."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from incident.models import Alert, AlertBatch, Declaration, Phase, Role
from incident.notices import NoticeKind
from incident.rules import recovery, timeline, wording
from incident.rules.effects import Effects

if TYPE_CHECKING:
    from incident.lifecycle import Incident


def triage(
    inc: Incident,
    *,
    declaration: Declaration | None,
    alerts: list[Alert],
    truncated: int,
    now: datetime,
) -> Effects:
    """Record the detection, count the first alerts, triage, and announce the incident."""
    s = inc.state
    if declaration is not None:
        timeline.add_event(inc, now, "detected", declaration.actor, f"Declared: {s.title}")
        if declaration.commander:
            s.roles[Role.INCIDENT_COMMANDER] = declaration.commander
    else:
        count = f" ({len(alerts)} alerts)" if len(alerts) > 1 else ""
        timeline.add_event(
            inc, now, "detected", s.source, f"Detected from {s.source}: {s.title}{count}"
        )
    effects = Effects()
    if alerts:
        batch = AlertBatch(source=s.source, alerts=alerts, truncated=truncated)
        effects = recovery.on_alerts(inc, batch, now, record=False)
    s.phase = Phase.TRIAGED
    timeline.add_event(
        inc,
        now,
        "triaged",
        wording.SYSTEM,
        f"Triaged as {s.severity} ({inc.rule.name}) under policy {inc.policy.version}; "
        f"acknowledgement due by {wording.utc(inc.ack_due())}",
    )
    effects.notices.append(
        wording.notice(
            inc,
            now,
            "declared",
            NoticeKind.DECLARATION,
            wording.INCIDENT_CHANNEL,
            f"{s.severity} incident declared: {s.title}",
        )
    )
    if inc.rule.executive_brief:
        effects.notices.append(
            wording.notice(
                inc,
                now,
                "brief:declared",
                NoticeKind.EXECUTIVE_BRIEF,
                wording.EXECUTIVES,
                f"{s.severity} incident: {s.title}",
            )
        )
    return effects
