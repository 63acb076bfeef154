"""Containment: the runbook's actions, how much autonomy each gets, and how each is undone."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    """Containment data refuses unknown fields, like every domain model."""

    model_config = ConfigDict(extra="forbid")


class TargetScope(StrEnum):
    """Which kind of thing an action's target names."""

    DEPLOYMENT = "deployment"
    TRIGGER = "trigger"
    ORG = "org"


class ActionKind(StrEnum):
    """A containment action from the operations runbook."""

    ROLLBACK_DEPLOYMENT = "rollback_deployment"
    DISABLE_TRIGGER = "disable_trigger"
    ACTIVATE_DENYLIST = "activate_denylist"
    PAUSE_SCHEDULED_TRIGGERS = "pause_scheduled_triggers"
    LOWER_AUTONOMY = "lower_autonomy"
    FREEZE_PROMOTION = "freeze_promotion"

    @property
    def reversible(self) -> bool:
        """Whether recovery undoes it. A rollback stays: rolling forward is a new deploy."""
        return self is not ActionKind.ROLLBACK_DEPLOYMENT

    @property
    def target_scope(self) -> TargetScope:
        """What the target names: a deployment, a trigger or an org."""
        return {
            ActionKind.DISABLE_TRIGGER: TargetScope.TRIGGER,
            ActionKind.ACTIVATE_DENYLIST: TargetScope.ORG,
            ActionKind.PAUSE_SCHEDULED_TRIGGERS: TargetScope.ORG,
        }.get(self, TargetScope.DEPLOYMENT)

    @property
    def label(self) -> str:
        """``rollback deployment`` rather than ``rollback_deployment``."""
        return self.value.replace("_", " ")

    @property
    def undo_label(self) -> str:
        """What compensating it does, in words."""
        return {
            ActionKind.DISABLE_TRIGGER: "re-enable trigger",
            ActionKind.ACTIVATE_DENYLIST: "lift denylist",
            ActionKind.PAUSE_SCHEDULED_TRIGGERS: "resume scheduled triggers",
            ActionKind.LOWER_AUTONOMY: "restore autonomy tier",
            ActionKind.FREEZE_PROMOTION: "unfreeze promotion",
        }.get(self, "nothing to undo")


TARGET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$")
"""A target id: one name, never a path, a query or anything else a URL gives meaning to."""


def scope_of(kind: ActionKind, params: Mapping[str, str] | None = None) -> TargetScope:
    """What an action's target names, given its params: ``lower_autonomy`` with
    ``{"scope": "org"}`` (degraded mode) lowers a whole org."""
    if kind is ActionKind.LOWER_AUTONOMY and (params or {}).get("scope") == "org":
        return TargetScope.ORG
    return kind.target_scope


def target_problem(
    kind: ActionKind, target: str, params: Mapping[str, str] | None = None
) -> str | None:
    """Why ``target`` cannot be the target of ``kind`` (a person reads it), or None if it can.

    Targets come from alert labels and go into the control plane's URLs, so
    they are held to the syntax of an id: letters, digits and ``. _ : @ -``,
    starting with a letter or digit, at most 200 characters.
    """
    if TARGET.fullmatch(target):
        return None
    scope = scope_of(kind, params)
    if not target:
        return f"no {scope} id given"
    if len(target) > 200:
        return f"target is {len(target)} characters; a {scope} id has at most 200"
    return f"target {target!r} is not a valid {scope} id: letters, digits and . _ : @ - only"


class Autonomy(StrEnum):
    """How an action may run."""

    RECOMMEND = "recommend"
    """Proposed only; a person carries it out outside Warroom."""
    APPROVE = "approve"
    """Runs once the incident commander or technical lead approves it."""
    AUTO = "auto"
    """Runs at once."""


class ActionState(StrEnum):
    """Where a containment action is."""

    RECOMMENDED = "recommended"
    AWAITING_APPROVAL = "awaiting_approval"
    DENIED = "denied"
    RUNNING = "running"
    IN_FORCE = "in_force"
    FAILED = "failed"
    COMPENSATING = "compensating"
    COMPENSATED = "compensated"


class ContainmentAction(Model):
    """One containment action on one target, with its approval and its undo."""

    id: int
    kind: ActionKind
    target: str
    params: dict[str, str] = Field(default_factory=dict)
    group: str | None = None
    """Actions taken together (degraded mode) are approved and lifted together."""
    autonomy: Autonomy
    state: ActionState
    proposed_by: str
    proposed_at: datetime
    reason: str | None = None
    approval_due: datetime | None = None
    approval_escalated: bool = False
    decided_by: str | None = None
    decided_at: datetime | None = None
    detail: str = ""
    compensation_attempts: int = 0
    """Undo attempts that failed: while it is above 0 the action is still in force."""
    undo_retry_due: datetime | None = None
    """When a failed undo is tried again."""
    verify_due: datetime | None = None
    """When a rollback in force is checked for recovery (runbook: 15 min after)."""
    verified: bool | None = None
    """The rollback's check: passed, failed, or not run yet (None)."""

    @property
    def title(self) -> str:
        """``#2 rollback deployment agents-api``."""
        return f"#{self.id} {self.kind.label} {self.target}"


class ContainmentCall(Model):
    """What the containment activity sends to the control plane."""

    incident: str
    action_id: int
    kind: ActionKind
    target: str
    params: dict[str, str] = Field(default_factory=dict)
    undo: bool = False

    @property
    def idempotency_key(self) -> str:
        """Fixed by incident and action: a retried or replayed call never acts twice."""
        return f"{self.incident}:{self.action_id}:{'undo' if self.undo else 'do'}:{self.kind}"


class ContainmentResult(Model):
    """The control plane's answer."""

    status_code: int
    detail: str
    previous: str | None = None
    """What the action replaced (the autonomy tier before L1), for its undo."""
