"""Severity levels P0..P4 and the names people and monitors use for them."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    """Incident severity, P0 (critical) to P4 (informational)."""

    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"

    @property
    def rank(self) -> int:
        """0 for P0 (most severe) up to 4 for P4."""
        return int(self.value[1])

    def is_higher_than(self, other: Severity) -> bool:
        """True when this severity is more urgent than ``other``."""
        return self.rank < other.rank
