"""Read a directory file (``WARROOM_DIRECTORY``): YAML in, a validated ``Directory`` out.

Like the policy (``incident.policy``), a file that cannot be used is refused with
one ``DirectoryError`` naming the file, each field at fault and why.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from directory.models import DanglingReferences, Directory
from incident.policy import LadderKind, Policy


class DirectoryError(ValueError):
    """A directory file that cannot be used; the message names file, field and reason."""


def _format_errors(source: str, err: ValidationError) -> str:
    lines = [f"{source}: invalid directory"]
    for item in err.errors():
        dangling = item.get("ctx", {}).get("error")
        if isinstance(dangling, DanglingReferences):
            # The cross-reference check runs on the whole directory but knows each field.
            lines += [f"  {field}: {reason}" for field, reason in dangling.problems]
            continue
        field = ".".join(str(p) for p in item["loc"]) or "(top level)"
        lines.append(f"  {field}: {item['msg']}")
    return "\n".join(lines)


def parse_directory(text: str, source: str = "<directory>") -> Directory:
    """Parse directory YAML; raise DirectoryError naming ``source``, the field and the reason."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise DirectoryError(f"{source}: not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise DirectoryError(f"{source}: expected a mapping at the top level")
    try:
        return Directory.model_validate(data)
    except ValidationError as err:
        raise DirectoryError(_format_errors(source, err)) from err


def load_directory(path: str | Path) -> Directory:
    """Load and validate the directory file at ``path``."""
    file = Path(path)
    try:
        text = file.read_text()
    except OSError as err:
        raise DirectoryError(f"{file}: cannot read directory file: {err.strerror}") from err
    return parse_directory(text, str(file))


def positions_named_by(policy: Policy) -> list[str]:
    """The positions ``policy`` brings in by name, in the order it names them.

    Its management ladders' targets, its escalation triggers' ``notify`` and
    whom a late containment approval escalates to. The paging ladders
    ("Primary on-call") are not positions: a service's escalation policy
    says who they page.
    """
    named: list[str] = []
    for rule in policy.severities.values():
        named += [s.target for s in rule.escalation if s.ladder is LadderKind.MANAGEMENT]
    for trigger in policy.escalation_triggers.values():
        named += trigger.notify
    named.append(policy.containment.approval_escalates_to)
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
