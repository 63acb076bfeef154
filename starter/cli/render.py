"""How the CLI shows incidents: aligned tables, colour on a terminal, plain when piped."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime

import click

from incident.durations import format_duration
from incident.lifecycle import Incident
from incident.models import (
    ActionItem,
    ActionItemStatus,
    IncidentState,
    PendingTimer,
    Phase,
    TimelineEvent,
)
from incident.policy import Policy, PolicyError, load_policy
from incident.rules import assessment, checklists, views

SEVERITY_COLOUR = {"P0": "red", "P1": "red", "P2": "yellow", "P3": "cyan", "P4": "white"}
PHASE_COLOUR = {
    Phase.TRIAGED.value: "red",
    Phase.RESPONDING.value: "yellow",
    Phase.RESOLVED.value: "green",
    Phase.POST_INCIDENT.value: "blue",
    Phase.CLOSED.value: "white",
}


def severity(value: str) -> str:
    """A severity, coloured by urgency."""
    return click.style(value, fg=SEVERITY_COLOUR.get(value, "white"), bold=value in ("P0", "P1"))


def phase(value: str) -> str:
    """A phase, coloured by how much it needs people."""
    return click.style(value, fg=PHASE_COLOUR.get(value, "white"))


def when(moment: datetime | None) -> str:
    """``14:05 local (13:05 UTC)`` for today; the date too otherwise."""
    if moment is None:
        return "-"
    local = moment.astimezone()
    utc = moment.astimezone(UTC)
    same_day = local.date() == datetime.now().astimezone().date()
    fmt = "%H:%M" if same_day else "%Y-%m-%d %H:%M"
    return f"{local.strftime(fmt)} local ({utc.strftime(fmt)} UTC)"


def age(moment: datetime) -> str:
    """How long ago, the way the runbooks write durations."""
    return format_duration(datetime.now(UTC) - moment)


MAX_CELL = 32
"""Widest a table cell gets; a longer value (a 3,000-character label) is cut with '…'."""


def _fit(cell: str) -> str:
    plain = click.unstyle(cell)
    if len(plain) <= MAX_CELL:
        return cell
    return plain[: MAX_CELL - 1] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns aligned on their visible width (colour codes do not count)."""
    rows = [[_fit(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(click.unstyle(cell)))

    def line(cells: Sequence[str]) -> str:
        padded = [c + " " * (widths[i] - len(click.unstyle(c))) for i, c in enumerate(cells)]
        return "  ".join(padded).rstrip()

    head = line([click.style(h, bold=True) for h in headers])
    return "\n".join([head, *(line(row) for row in rows)])


def _policy() -> Policy:
    """The policy the workers follow, as far as this process knows (``WARROOM_POLICY``)."""
    try:
        return load_policy(os.environ.get("WARROOM_POLICY") or None)
    except PolicyError:
        return load_policy()


def checklist_lines(state: IncidentState, policy: Policy | None = None) -> list[str]:
    """The three checklists, each item ticked (by whom, when, with the note) or not; the
    items the policy requires before resolution are marked while open."""
    inc = Incident(state, policy or _policy())
    lines = []
    for checklist, rows in checklists.rows(inc).items():
        done = sum(1 for r in rows if r.mark)
        lines.append(click.style(f"{checklist.title} checklist ({done}/{len(rows)})", bold=True))
        lines += [f"  {r.line}" for r in rows]
    return lines


def incident(state: IncidentState, timers: list[PendingTimer], policy: Policy | None = None) -> str:
    """Everything about one incident, for ``warroom show``."""
    s = state
    lines = [
        f"{click.style(s.human_id, bold=True)}  {severity(s.severity.value)}  "
        f"{phase(s.phase.value)}/{s.status.value}  {s.title}",
        f"  service {s.service or '-'}   org {s.org or '-'}   policy {s.policy_version}",
        f"  declared {when(s.declared_at)} by {s.declared_by}, open {age(s.declared_at)}"
        if s.closed_at is None
        else f"  declared {when(s.declared_at)}, closed {when(s.closed_at)}",
    ]
    if s.acknowledged_at:
        lines.append(f"  acknowledged {when(s.acknowledged_at)} by {s.acknowledged_by}")
    if s.follows:
        lines.append(f"  follows {s.follows}")
    room = s.room.url if s.room else None
    links = {"room": room, "bridge": s.bridge_url, "runbook": s.runbook_url}
    lines += [f"  {name} {url}" for name, url in links.items() if url]
    if s.root_cause:
        lines.append(f"  root cause: {s.root_cause}")
    impact = impact_line(s)
    if impact:
        lines.append(impact)
    if s.current_actions or s.next_steps or s.eta:
        lines += [f"  now: {a}" for a in s.current_actions]
        lines += [f"  next: {n}" for n in s.next_steps]
        if s.eta:
            lines.append(f"  ETA: {s.eta}")
    lines.append("")
    lines.append(click.style("Roles", bold=True))
    if s.roles:
        lines += [f"  {role.title:<20} {person}" for role, person in s.roles.items()]
    else:
        lines.append("  none assigned")
    if s.flags:
        lines.append(click.style("Flags", bold=True))
        lines += [f"  {click.style(f.label, fg='red')} ({f.actor}, {when(f.at)})" for f in s.flags]
    if s.alerts:
        lines.append(click.style("Alerts", bold=True))
        lines += [
            f"  {a.name:<32} {a.status.value:<9} fired {a.firings}x, last {when(a.last_seen)}"
            for a in list(s.alerts.values())[:10]
        ]
        if len(s.alerts) > 10:
            lines.append(f"  … and {len(s.alerts) - 10} more")
    if s.containment:
        lines.append(click.style("Containment", bold=True))
        for action in s.containment:
            where = action.state.value.replace("_", " ")
            if action.state.value == "awaiting_approval":
                where = click.style(
                    f"AWAITING APPROVAL (due {when(action.approval_due)})", fg="red", bold=True
                )
            lines.append(
                f"  {action.title:<40} {action.autonomy.value:<9} {where}"
                + (f"  {action.detail}" if action.detail else "")
            )
    lines.append(click.style("Customers", bold=True))
    lines.append(f"  {views.customers_told(s)}")
    lines += [f"  {when(u.at)}  {u.impact.words:<22} {u.message}" for u in s.customer_updates[-3:]]
    lines += checklist_lines(s, policy)
    lines.append(click.style("Pending timers", bold=True))
    if timers:
        lines += [f"  {when(t.due):<34} {t.summary}" for t in timers]
    else:
        lines.append("  none")
    if s.postmortem:
        pm = s.postmortem
        lines.append(click.style("Postmortem", bold=True))
        lines.append(f"  {pm.status.value} ({pm.submitted_by}, {when(pm.submitted_at)})")
    if s.action_items:
        now = datetime.now(UTC)
        late = [i for i in s.action_items if i.overdue(now)]
        still = sum(1 for i in s.action_items if i.status is ActionItemStatus.OPEN)
        head = f"Action items ({still} open, {len(late)} overdue)"
        lines.append(click.style(head, bold=True))
        lines += [action_item_line(i, now) for i in s.action_items]
    lines.append(click.style("Timeline", bold=True))
    lines += timeline(s.timeline[-30:])
    return "\n".join(lines)


def action_item_line(item: ActionItem, now: datetime) -> str:
    """``#2 P1 dana: add a canary (due 2026-12-01) OVERDUE`` or ``... done by dana``."""
    due = f" (due {item.due:%Y-%m-%d})" if item.due else ""
    if item.status is ActionItemStatus.DONE:
        state = f"  done by {item.completed_by}" + (f": {item.note}" if item.note else "")
    elif item.overdue(now):
        state = "  " + click.style("OVERDUE", fg="red", bold=True)
    else:
        state = ""
    return f"  #{item.id} {item.priority} {item.owner}: {item.description}{due}{state}"


def impact_line(state: IncidentState) -> str | None:
    """The impact as last assessed, in one line, or None."""
    a = state.impact_assessment
    if a is None:
        return None
    return f"  impact: {assessment.describe(a)} ({a.by}, {when(a.at)})"


def timeline(events: Sequence[TimelineEvent]) -> list[str]:
    """One line per event: when (UTC), who (and how they were known), what, why."""
    return [
        f"  {e.at.astimezone(UTC):%H:%M:%S} UTC  {actor(e):<20} {e.text}"
        + (click.style(f"  — {e.reason}", dim=True) if e.reason else "")
        for e in events
    ]


def actor(event: TimelineEvent) -> str:
    """``dana`` for what the incident did or an authenticated person decided;
    ``dana (admin)`` for a decision sent straight to Temporal, where anyone with access
    may write any name."""
    return f"{event.actor} (admin)" if event.via == "admin" else event.actor
