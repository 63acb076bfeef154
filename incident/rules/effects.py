"""What applying a rule yields: effects for the workflow to carry out, or a refusal."""

from __future__ import annotations

from dataclasses import dataclass, field

from incident.notices import Notice
from incident.tickets import TicketEvent


class DecisionRejected(ValueError):
    """A decision that does not apply; the message says why, for a person."""


@dataclass
class Effects:
    """What the workflow must do after a change: send notices, run the SLO probes."""

    notices: list[Notice] = field(default_factory=list)
    run_probe: bool = False
    run_actions: list[int] = field(default_factory=list)
    undo_actions: list[int] = field(default_factory=list)
    tickets: list[TicketEvent] = field(default_factory=list)
    """Action-item changes for the ticket tracker's webhook."""
    verify_rollbacks: list[int] = field(default_factory=list)
    """Rollbacks (containment action ids) whose post-rollback probes are due."""
