"""The runbook's remedies no control plane takes: scale, restart or fail over a component,
ship a hotfix, switch to a fallback. Each is tracked as an action item with an owner, so it
is reminded until done; an external dependency failing also calls for a customer notice.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from incident.models import AddActionItem, Role
from incident.policy import TaskTemplate
from incident.rules import action_items, customers
from incident.rules.effects import Effects

if TYPE_CHECKING:
    from incident.lifecycle import Incident


def track(
    inc: Incident, tasks: list[TaskTemplate], why: str, actor: str, now: datetime, fx: Effects
) -> None:
    """Each task as an action item, once (an incident told twice keeps one of each)."""
    s = inc.state
    if not s.runbook_rules:
        return  # opened before remedies were tracked: replays as it was
    for task in tasks:
        description = task.description.replace("{service}", s.service or "the service")
        if any(item.description == description for item in s.action_items):
            continue
        role = Role(task.owner)
        owner = s.roles.get(role) or s.roles.get(Role.INCIDENT_COMMANDER) or role.title
        decision = AddActionItem(
            actor=actor, description=description, owner=owner, priority=task.priority, reason=why
        )
        action_items.apply_add(inc, decision, now, fx)


def tell_customers(inc: Incident, why: str, now: datetime, fx: Effects) -> None:
    """Ask for a customer notice now, with the template's draft."""
    if inc.state.runbook_rules:
        fx.notices += customers.prompt(inc, why, now)
