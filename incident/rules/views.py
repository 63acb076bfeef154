"""What people see of an incident: the brief notices carry, the Web UI's search attributes and
current details, and what it waits for."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from incident import bounds
from incident import search_attributes as search
from incident.containment import ActionState
from incident.durations import spoken_duration
from incident.models import IncidentState, PendingTimer, Phase, Role, Status
from incident.notices import IncidentBrief
from incident.rules import action_items, checklists, communication, postmortem, wording

if TYPE_CHECKING:
    from incident.lifecycle import Incident


def brief(inc: Incident, now: datetime) -> IncidentBrief:
    """The facts a notice about this incident carries."""
    s = inc.state
    schedule_by, complete_by = postmortem.postmortem_deadlines(inc)
    a = s.impact_assessment
    stopped = s.mitigated_at or s.resolved_at
    return IncidentBrief(
        human_id=s.human_id,
        title=s.title,
        severity=s.severity,
        severity_name=inc.rule.name,
        phase=s.phase,
        status=s.status,
        service=s.service,
        org=s.org,
        summary=s.summary,
        impact=s.impact,
        commander=s.roles.get(Role.INCIDENT_COMMANDER),
        roles={role.title: person for role, person in s.roles.items()},
        responders=list(inc.rule.response_team),
        flags=[f.label for f in s.flags],
        declared_at=s.declared_at,
        duration=(s.resolved_at or now) - s.declared_at,
        last_update=s.last_status_update,
        root_cause=s.root_cause,
        resolved_at=s.resolved_at,
        next_update_due=communication.next_update_due(inc),
        postmortem_schedule_by=schedule_by,
        postmortem_complete_by=complete_by,
        action_items=len(s.action_items),
        firings=s.firings,
        room_channel=s.room.channel_id if s.room else None,
        room_url=s.room.url if s.room else None,
        bridge_url=inc.policy.communication.bridge_url,
        runbook_url=s.runbook_url,
        status_page_url=inc.policy.customers.status_page_url,
        users_affected=a.users_affected if a else None,
        traffic_percent=a.traffic_percent if a else None,
        revenue_impact=a.revenue_impact if a else None,
        data_impact=a.data_impact if a else None,
        data_loss=a.data_loss if a else None,
        impact_duration=(stopped - s.declared_at) if stopped else None,
        current_actions=list(s.current_actions),
        next_steps=list(s.next_steps),
        eta=s.eta,
        tried=[f"{c.title}: {wording.action_state(c)}" for c in s.containment]
        + list(s.current_actions),
        postmortem_scheduled_for=s.postmortem.scheduled_for if s.postmortem else None,
        action_items_open=len(action_items.open_items(inc)),
        action_items_overdue=len(action_items.overdue(inc, now)),
        customer_impact=inc.customer_impact(),
    )


def search_fields(inc: Incident) -> dict[str, str]:
    """Values for the Web UI's search attributes."""
    s = inc.state
    fields = {
        search.INCIDENT_ID: s.human_id,
        search.INCIDENT_SEVERITY: s.severity.value,
        search.INCIDENT_PHASE: s.phase.value,
        search.INCIDENT_STATUS: s.status.value,
        search.INCIDENT_SERVICE: s.service or "",
        search.INCIDENT_COMMANDER: s.roles.get(Role.INCIDENT_COMMANDER, ""),
    }
    # Over the server's limit, the upsert would get the run terminated.
    return {key.name: bounds.keyword(value) for key, value in fields.items()}


def details(inc: Incident, now: datetime, timers: list[PendingTimer]) -> str:
    """Markdown for the Web UI's current details: where it stands and what comes next."""
    s = inc.state
    lines = [
        f"**{s.human_id}** · {s.severity} {inc.rule.name} · {s.phase.value} / {s.status.value}",
        f"**{s.title}**",
        "",
        f"- Service: {s.service or 'unknown'} · Org: {s.org or '-'}",
        f"- Commander: {s.roles.get(Role.INCIDENT_COMMANDER, 'not assigned')}",
        f"- Declared {wording.utc(s.declared_at)} by {s.declared_by}; open for "
        f"{spoken_duration((s.resolved_at or now) - s.declared_at)}",
    ]
    if s.acknowledged_at:
        lines.append(
            f"- Acknowledged {wording.utc(s.acknowledged_at)} by {s.acknowledged_by}, after "
            f"{spoken_duration(s.acknowledged_at - s.declared_at)}"
        )
    if s.flags:
        lines.append("- Flags: " + ", ".join(f.label for f in s.flags))
    lines.append(f"- Customers: {customers_told(s)}")
    lines.append(f"- Checklists: {checklists.summary(inc)}")
    missing = checklists.missing_to_resolve(inc)
    if missing and s.phase.is_open:
        lines.append("- To resolve, still to check: " + ", ".join(i.label for i in missing))
    if s.action_items:
        late = action_items.overdue(inc, now)
        lines.append(
            f"- Action items: {len(action_items.open_items(inc))} open of {len(s.action_items)}"
            + (f", {len(late)} overdue" if late else "")
        )
    if s.last_probe is not None:
        lines.append(f"- Last SLO probe: {s.last_probe.summary}")
    if s.containment:
        lines += ["", "**Containment:**"]
        lines += [
            f"- {a.title}: {wording.action_state(a)} ({a.autonomy.value})" for a in s.containment
        ]
    waiting = waiting_for(inc)
    if waiting:
        lines += ["", f"**Waiting for:** {waiting}"]
    if timers:
        lines += ["", "**Next:**"]
        lines += [f"- {wording.utc(t.due)} — {t.summary}" for t in timers[:5]]
    return bounds.clip("\n".join(lines), bounds.DETAILS_BYTES)


def customers_told(state: IncidentState) -> str:
    """What customers heard, in a line: ``told 2 times, last 14:20 UTC (partial outage)``."""
    updates = state.customer_updates
    if not updates:
        return "not told yet"
    last = updates[-1]
    times = "once" if len(updates) == 1 else f"{len(updates)} times"
    return f"told {times}, last {wording.utc(last.at)} ({last.impact.words})"


def waiting_for(inc: Incident) -> str:
    """What the incident needs from people right now, in one line."""
    s = inc.state
    pending = [a for a in s.containment if a.state is ActionState.AWAITING_APPROVAL]
    if pending:
        first = pending[0]
        approvers = " or ".join(wording.approver_titles(inc))
        due = f" (due {wording.utc(first.approval_due)})" if first.approval_due else ""
        more = f" and {len(pending) - 1} more" if len(pending) > 1 else ""
        return f"approval of {first.title}{more} by the {approvers}{due}"
    if s.phase is Phase.TRIAGED:
        return f"acknowledgement (due {wording.utc(inc.ack_due())})"
    if s.phase.is_open and s.status is Status.MONITORING:
        if s.recovered_at and not s.resolution_declared_at:
            return "recovery criteria met: a person to resolve with the root cause"
        return "recovery exit criteria (quiet window and SLO probes)"
    if s.phase is Phase.RESPONDING:
        return "mitigation or resolution"
    if s.phase is Phase.POST_INCIDENT:
        pm = s.postmortem.status.value if s.postmortem else "not scheduled"
        return f"the postmortem to be final (now: {pm})"
    return ""
