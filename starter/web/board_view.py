"""What the board shows of incidents, in words: pure functions of state, timers and a clock.

No I/O here: the board's router reads Temporal and hands the answers to these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from incident.containment import ActionState, ContainmentAction
from incident.durations import spoken_duration
from incident.models import IncidentState, PendingTimer, Phase, Role, TimerKind
from incident.rules.permissions import LEADS
from incident.severity import Severity
from starter.api import IncidentListing

TIMER_WORDS: dict[TimerKind, str] = {
    TimerKind.ACK_DEADLINE: "ack due",
    TimerKind.ESCALATION: "escalation",
    TimerKind.RESOLUTION_TARGET: "resolution target",
    TimerKind.STATUS_REMINDER: "status update reminder",
    TimerKind.STATUS_UPDATE: "status update due",
    TimerKind.RECOVERY_CHECK: "recovery check",
    TimerKind.APPROVAL_DUE: "approval due",
    TimerKind.UNDO_RETRY: "undo retried",
    TimerKind.POSTMORTEM_REMINDER: "postmortem reminder",
    TimerKind.PAGE: "page",
    TimerKind.FOLLOW_UP: "follow-up page",
}
"""A timer's kind as a few words on the board (its full summary goes in the title)."""

BOARD_PHASES = tuple(p for p in Phase if p is not Phase.CLOSED)
"""The phases an incident on the board can be in (a closed one has left it)."""
SEVERITIES = tuple(Severity)


def due_in(due: datetime, now: datetime) -> str:
    """``in 4 min``, or ``4 min ago`` for what is overdue."""
    if due >= now:
        return f"in {spoken_duration(due - now)}"
    return f"{spoken_duration(now - due)} ago"


def timer_words(timer: PendingTimer, now: datetime) -> str:
    """``ack due in 4 min``: a pending timer's kind and when it falls due."""
    what = TIMER_WORDS.get(timer.kind, timer.kind.value.replace("_", " "))
    return f"{what} {due_in(timer.due, now)}"


def awaiting_approval(state: IncidentState) -> list[ContainmentAction]:
    """The containment actions waiting for a person to approve or deny them."""
    return [a for a in state.containment if a.state is ActionState.AWAITING_APPROVAL]


def may_approve(state: IncidentState, person: str) -> bool:
    """Whether ``person`` holds a role that approves containment (the validator decides)."""
    return any(state.roles.get(role) == person for role in LEADS)


def action_words(action: ContainmentAction) -> str:
    """``in force, approved by alice`` — where an action is and who decided it."""
    where = action.state.value.replace("_", " ")
    if action.decided_by is None:
        return where
    if action.state is ActionState.DENIED:
        return f"{where} by {action.decided_by}"
    return f"{where}, approved by {action.decided_by}"


@dataclass(frozen=True)
class BoardFilters:
    """The board's filters, as the plain GET form sends them (unknown values are dropped)."""

    severity: str = ""
    phase: str = ""
    service: str = ""
    mine: bool = False

    @classmethod
    def of(cls, params: Mapping[str, str]) -> BoardFilters:
        """The filters of a request's query parameters."""
        severity = params.get("severity", "")
        phase = params.get("phase", "")
        return cls(
            severity=severity if severity in {s.value for s in SEVERITIES} else "",
            phase=phase if phase in {p.value for p in BOARD_PHASES} else "",
            service=params.get("service", "").strip()[:200],
            mine=params.get("mine", "") in ("1", "on", "true", "yes"),
        )

    def query_string(self) -> dict[str, str]:
        """The filters as query parameters (those set only)."""
        given = {"severity": self.severity, "phase": self.phase, "service": self.service}
        if self.mine:
            given["mine"] = "1"
        return {key: value for key, value in given.items() if value}


@dataclass(frozen=True)
class BoardRow:
    """One open incident on the board."""

    human_id: str
    workflow_id: str
    title: str
    severity: str
    phase: str
    status: str
    service: str
    commander: str
    age: str
    next_timer: str | None = None
    next_timer_detail: str | None = None
    approvals: int | None = None
    """Containment actions awaiting approval; None when the incident did not answer."""
    answered: bool = True


@dataclass
class IncidentLook:
    """What one incident answered: its state and its timers (None when it did not answer)."""

    state: IncidentState | None
    timers: list[PendingTimer] = field(default_factory=list)


def board_row(listing: IncidentListing, look: IncidentLook, now: datetime) -> BoardRow:
    """The row of an incident from its listing and what it answered."""
    state = look.state
    if state is None:
        return BoardRow(
            human_id=listing.human_id,
            workflow_id=listing.workflow_id,
            title="(not answering just now)",
            severity=listing.severity,
            phase=listing.phase,
            status=listing.status,
            service=listing.service,
            commander=listing.commander,
            age=spoken_duration(now - listing.started),
            answered=False,
        )
    timer = look.timers[0] if look.timers else None
    return BoardRow(
        human_id=state.human_id,
        workflow_id=listing.workflow_id,
        title=state.title,
        severity=state.severity.value,
        phase=state.phase.value,
        status=state.status.value,
        service=state.service or "",
        commander=state.roles.get(Role.INCIDENT_COMMANDER, ""),
        age=spoken_duration(now - state.declared_at),
        next_timer=timer_words(timer, now) if timer else None,
        next_timer_detail=timer.summary if timer else None,
        approvals=len(awaiting_approval(state)),
    )


def sorted_rows(rows: Sequence[BoardRow]) -> list[BoardRow]:
    """Most severe first, the newest first within a severity (the order they were listed in)."""
    return sorted(rows, key=lambda r: r.severity or "P9")
