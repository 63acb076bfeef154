"""Who may take which decision.

A decision sent through Warroom's HTTP service carries the person it
authenticated (``verified_by`` says how); such a person must hold the incident
role a decision needs. A decision sent straight to Temporal comes from an
administrator, who may act for anyone — the timeline labels it so. Nobody,
administrator or not, approves their own containment proposal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from incident.models import (
    ApproveContainment,
    AssignRole,
    Close,
    Decision,
    LiftDegradedMode,
    PostCustomerUpdate,
    Resolve,
    Role,
)
from incident.rules import saga, wording

if TYPE_CHECKING:
    from incident.lifecycle import Incident

ADMIN = "admin"
"""How the timeline labels a decision sent straight to Temporal."""

LEADS = (Role.INCIDENT_COMMANDER, Role.TECHNICAL_LEAD)


def via(decision: Decision) -> str:
    """How the decision's actor is known, as the timeline shows it."""
    return decision.verified_by or ADMIN


def _holders(inc: Incident, roles: tuple[Role, ...]) -> set[str]:
    return {p for r in roles if (p := inc.state.roles.get(r))}


def _who(inc: Incident, roles: tuple[Role, ...]) -> str:
    """``incident commander (dana) or technical lead``: the roles and who holds them now."""
    held = inc.state.roles
    return " or ".join(
        f"{r.title.lower()} ({held[r]})" if r in held else r.title.lower() for r in roles
    )


def _leads_only(what: str) -> Callable[[Incident, Any], str | None]:
    def check(inc: Incident, d: Decision) -> str | None:
        if Role.INCIDENT_COMMANDER not in inc.state.roles:
            return None  # nobody commands yet: any responder may
        if d.actor in _holders(inc, LEADS):
            return None
        return f"{d.actor} cannot {what}: only the {_who(inc, LEADS)} can"

    return check


def _assign(inc: Incident, d: AssignRole) -> str | None:
    commander = inc.state.roles.get(Role.INCIDENT_COMMANDER)
    if commander is None or d.actor == commander:
        return None  # the first person takes command; after that the commander hands out roles
    return f"{d.actor} cannot assign roles: only the incident commander ({commander}) can"


def _approvers(inc: Incident) -> set[str]:
    return _holders(inc, tuple(Role(r) for r in inc.policy.containment.approvers))


def _customer_update(inc: Incident, d: PostCustomerUpdate) -> str | None:
    speakers = (Role.COMMUNICATIONS_LEAD, Role.INCIDENT_COMMANDER)
    holders = _holders(inc, speakers)
    if not holders or d.actor in holders:
        return None  # nobody speaks for the incident yet: any responder may
    return f"{d.actor} cannot post a customer update: only the {_who(inc, speakers)} can"


def _lift(inc: Incident, d: LiftDegradedMode) -> str | None:
    if d.actor in _approvers(inc):
        return None
    roles = tuple(Role(r) for r in inc.policy.containment.approvers)
    return f"{d.actor} cannot lift degraded mode: only the {_who(inc, roles)} can"


ROLE_CHECKS: dict[type[Decision], Callable[[Incident, Any], str | None]] = {
    AssignRole: _assign,
    LiftDegradedMode: _lift,
    PostCustomerUpdate: _customer_update,
    Resolve: _leads_only("resolve the incident"),
    Close: _leads_only("close the incident"),
}
"""Decisions that need an incident role when taken by an authenticated person."""


def check(inc: Incident, decision: Decision) -> str | None:
    """Why ``decision``'s actor may not take it, or None."""
    if isinstance(decision, ApproveContainment) and decision.actor in _approvers(inc):
        # (Someone who may not approve at all is told so by the containment rule.)
        action = saga.action_by_id(inc, decision.action_id)
        if action is not None and action.proposed_by == decision.actor:
            return (
                f"{decision.actor} proposed {action.title} and cannot approve it too; "
                f"another {' or '.join(wording.approver_titles(inc))} must"
            )
    if decision.verified_by is None:
        return None  # an administrator, straight to Temporal
    role_check = ROLE_CHECKS.get(type(decision))
    return role_check(inc, decision) if role_check else None
