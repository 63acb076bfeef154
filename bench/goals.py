"""Issue 17's goals: a Warroom figure beside bare Temporal's from the same run, as a ratio.

Each benchmark with a goal has ``goals(figures) -> list[Goal]``, built from its
saved figures: ``{}`` when it has none, and results saved by older code may lack
some (those goals, or their explanations, read "not measured"). Its report
prints :meth:`Goal.line`; ``python -m bench`` renders every goal into the table
at the top of docs/performance.md with :func:`table`, and under it, for each
missed goal, the measured profile that explains the distance (:attr:`Goal.why`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

NOT_MEASURED = "not measured"


@dataclass(frozen=True)
class Goal:
    """``warroom / bare`` held to ``limit`` (at most, or at least), and any further conditions."""

    name: str
    """What is measured, e.g. "billable actions per standard P1"."""
    limit: float
    warroom: float | None
    bare: float | None
    unit: str
    at_most: bool = True
    baseline: str = "bare"
    """What the ratio is taken against, in the goal's words."""
    requires: str = ""
    """Further conditions in the goal's words, e.g. "0 lost, 0 doubled"."""
    conditions: tuple[tuple[str, bool], ...] = ()
    """Each further condition as measured, and whether it holds."""
    bare_unit: str = ""
    """The baseline's unit when it differs from Warroom's."""
    why: tuple[str, ...] = ()
    """The measured profile that explains a miss, one statement each."""

    @property
    def goal(self) -> str:
        """The goal as the issue states it."""
        sign = "≤" if self.at_most else "≥"
        extra = f", {self.requires}" if self.requires else ""
        return f"{self.name} {sign} {self.limit:g}x {self.baseline}{extra}"

    @property
    def ratio(self) -> float | None:
        """Warroom's figure over bare's; None when either is missing."""
        if self.warroom is None or not self.bare:
            return None
        return self.warroom / self.bare

    @property
    def met(self) -> bool | None:
        """Whether the ratio is within the limit and every condition holds; None: not measured."""
        ratio = self.ratio
        if ratio is None:
            return None
        within = ratio <= self.limit if self.at_most else ratio >= self.limit
        return within and all(ok for _, ok in self.conditions)

    @property
    def verdict(self) -> str:
        """``met``, ``missed`` or ``not measured``."""
        return {True: "met", False: "missed", None: NOT_MEASURED}[self.met]

    def cells(self) -> tuple[str, str, str, str]:
        """Warroom's figure (with the conditions as measured), bare's, the ratio, the verdict."""
        warroom = figure(self.warroom, self.unit)
        if self.conditions and self.warroom is not None:
            warroom += " (" + ", ".join(text for text, _ in self.conditions) + ")"
        ratio = "—" if self.ratio is None else f"{self.ratio:.2f}x"
        return warroom, figure(self.bare, self.bare_unit or self.unit), ratio, self.verdict

    def line(self) -> str:
        """The goal and how it stands, for a benchmark's report."""
        warroom, bare, ratio, verdict = self.cells()
        if self.met is None:
            return f"  goal (issue 17): {self.goal}: {verdict}"
        return f"  goal (issue 17): {self.goal}: {warroom} vs {bare} = {ratio}: {verdict}"


def figure(value: float | None, unit: str) -> str:
    """A measured figure with its unit, or "not measured"."""
    if value is None:
        return NOT_MEASURED
    digits = 0 if abs(value) >= 100 or float(value).is_integer() else 1
    return f"{value:,.{digits}f} {unit}".rstrip()


def plural(count: int, word: str) -> str:
    """``1 workflow task``, ``2 workflow tasks``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def dig(figures: Mapping[str, Any], *keys: str) -> Any:
    """``figures[k1][k2]...``, or None where any level is missing."""
    value: Any = figures
    for key in keys:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def excess(
    warroom: Mapping[str, float], bare: Mapping[str, float], top: int = 3
) -> list[tuple[str, float]]:
    """The ``top`` keys where Warroom's figure exceeds bare's most, with the excess."""
    gaps = {k: warroom.get(k, 0) - bare.get(k, 0) for k in set(warroom) | set(bare)}
    ranked = sorted(gaps.items(), key=lambda item: (-item[1], item[0]))
    return [(k, gap) for k, gap in ranked[:top] if gap > 0]


def side_by_side(
    warroom: Mapping[str, float], bare: Mapping[str, float], names: Mapping[str, str], unit: str
) -> str:
    """``label W vs B unit`` for each of ``names`` (key → label), with the totals."""
    parts = [
        f"{label} {warroom.get(key, 0.0):.1f} vs {bare.get(key, 0.0):.1f}"
        for key, label in names.items()
    ]
    total_w = sum(warroom.get(key, 0.0) for key in names)
    total_b = sum(bare.get(key, 0.0) for key in names)
    return f"{', '.join(parts)}; total {total_w:.1f} vs {total_b:.1f} {unit}"


def table(goals: list[Goal]) -> list[str]:
    """The Markdown table of every goal, then the profile of each missed one."""
    lines = [
        "| Goal (issue 17) | Warroom | bare | ratio | met? |",
        "|---|---|---|---|---|",
        *(f"| {g.goal} | " + " | ".join(g.cells()) + " |" for g in goals),
        "",
    ]
    missed = [g for g in goals if g.met is False]
    if missed:
        lines += ["Where a goal is missed, what the same runs measured:", ""]
    for g in missed:
        lines.append(f"- **{g.goal}** (measured {g.cells()[2]}):")
        lines += [f"  - {why}" for why in g.why or (f"{NOT_MEASURED}: no profile saved",)]
    return [*lines, ""] if missed else lines
