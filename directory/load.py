"""Read a directory file (``WARROOM_DIRECTORY``): YAML in, a validated ``Directory`` out.

Like the policy (``incident.policy``), a file that cannot be used is refused with
one ``DirectoryError`` naming the file, each field at fault and why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from directory.models import DanglingReferences, Directory
from incident.documents import parse_document, read_document
from incident.policy import LadderKind, Policy


class DirectoryError(ValueError):
    """A directory file that cannot be used; the message names file, field and reason."""


def _dangling(error: Any) -> list[str] | None:
    # The cross-reference check runs on the whole directory but knows each field.
    if isinstance(error, DanglingReferences):
        return [f"  {field}: {reason}" for field, reason in error.problems]
    return None


def parse_directory(text: str, source: str = "<directory>") -> Directory:
    """Parse directory YAML; raise DirectoryError naming ``source``, the field and the reason."""
    return parse_document(text, source, Directory, DirectoryError, "directory", _dangling)


def load_directory(path: str | Path) -> Directory:
    """Load and validate the directory file at ``path``."""
    return parse_directory(*read_document(path, DirectoryError, "directory"))


def positions_named_by(policy: Policy) -> list[str]:
    """The positions ``policy`` brings in by name, in the order it names them.

    Its management ladders' targets, its escalation triggers' ``notify``,
    whom a late containment approval escalates to, seed 002's matrix's targets
    and whom the runbook's deadlines escalate to. The paging ladders
    ("Primary on-call") are not positions: a service's escalation policy
    says who they page.
    """
    named: list[str] = []
    for rule in policy.severities.values():
        named += [s.target for s in rule.escalation if s.ladder is LadderKind.MANAGEMENT]
    for trigger in policy.escalation_triggers.values():
        named += trigger.notify
    named.append(policy.containment.approval_escalates_to)
    for steps in policy.unresolved_escalation.values():
        named += [s.target for s in steps]
    named += [policy.deadlines.commander.escalate_to, policy.deadlines.scope.escalate_to]
    return list(dict.fromkeys(named))


def unfilled_positions(directory: Directory, policy: Policy) -> list[str]:
    """The positions ``policy`` names that ``directory`` has nobody in."""
    return [p for p in positions_named_by(policy) if not directory.positions.get(p)]


__all__ = [
    "DirectoryError",
    "load_directory",
    "parse_directory",
    "positions_named_by",
    "unfilled_positions",
]
