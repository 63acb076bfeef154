"""The Goals table at the top of docs/performance.md, rendered from a small fake results set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import bench.__main__ as page
from bench import ingest, latency, lifecycle
from bench.goals import Goal, table


def _lifecycle(actions: int, history_bytes: int) -> dict[str, Any]:
    return {
        "actions": actions,
        "actions_by_kind": {"activity scheduled": actions - 10, "timer started": 10},
        "activities_by_type": {"store.record": actions - 12, "notify.deliver": 2},
        "history_bytes": history_bytes,
        "bytes_by_type": {"ACTIVITY_TASK_SCHEDULED": history_bytes},
        "activity_scheduled_bytes_by_type": {"store.record": history_bytes // 2},
    }


LIFECYCLE = {"warroom": _lifecycle(50, 3000), "bare": _lifecycle(40, 2000)}
"""Actions 1.25x bare (met), history bytes 1.5x (met)."""
INGEST_OLD = {
    "new": {"incidents_per_s": 50.0},
    "duplicates": {"notifications_per_s": 300.0},
    "bare": {"signal_with_start_per_s": 100.0, "signal_per_s": 400.0},
    "lost": 0,
    "doubled": 0,
    "worker_caught_up_after_s": 4.2,
}
"""Saved before CPU per item was measured: new incidents 0.5x bare (missed)."""


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A results directory holding lifecycle (met) and ingest (missed); no latency results."""
    (tmp_path / "lifecycle.json").write_text(json.dumps(LIFECYCLE))
    (tmp_path / "ingest.json").write_text(json.dumps(INGEST_OLD))
    monkeypatch.setattr(page, "RESULTS", tmp_path)
    return tmp_path


def _row(lines: list[str], goal: str) -> str:
    return next(line for line in lines if line.startswith(f"| {goal}"))


def test_a_met_goal_a_missed_one_with_its_profile_and_one_not_measured(results: Path) -> None:
    lines = table(page.goals())

    assert _row(lines, "billable actions per standard P1 ≤ 1.3x bare") == (
        "| billable actions per standard P1 ≤ 1.3x bare | 50 actions | 40 actions | 1.25x | met |"
    )
    missed = _row(lines, "new-incident ingestion ≥ 0.9x bare signal-with-start")
    assert "| 50 incidents/s (0 lost, 0 doubled) | 100 starts/s | 0.50x | missed |" in missed
    assert _row(lines, "alert-to-page p99").endswith(
        "| not measured | not measured | — | not measured |"
    )

    explanation = lines[lines.index(next(x for x in lines if "**new-incident" in x)) + 1 :]
    assert explanation[0] == "  - CPU per new incident by process: not measured"
    assert "4.2 s after the last POST" in explanation[1]
    assert not any("**billable actions" in line for line in lines), "a met goal needs no profile"


def test_the_saved_results_render_with_the_goals_after_the_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the repository's results were saved by, old code or new, the page renders."""
    monkeypatch.setattr(page, "PAGE", tmp_path / "performance.md")
    text = page.render().read_text()

    goals = text.index("## Goals")
    assert text.index("## The machine") < goals < text.index("## Alert-to-page latency")
    rows = [
        line for line in text[goals:].splitlines() if line.startswith("| ") and "x bare" in line
    ]
    assert len(rows) == 7, rows


def test_a_missed_ingest_goal_is_explained_by_cpu_per_process() -> None:
    cpu = {
        "new": {"server": 60.0, "workers": 40.0, "hooks": 3.0, "bench": 2.0, "others": 1.0},
        "bare_new": {"server": 20.0, "bare_workers": 10.0, "bench": 1.0, "others": 0.5},
    }
    (new, _) = ingest.goals({**INGEST_OLD, "cpu_ms_per_item": cpu})

    assert new.met is False
    assert new.why[0] == (
        "CPU ms per new incident by process, Warroom vs bare: Temporal server 60.0 vs 20.0, "
        "worker 40.0 vs 10.0, hooks 3.0 vs 0.0, Postgres 0.0 vs 0.0, load generator 2.0 vs 1.0; "
        "total 105.0 vs 31.0 ms (outside the benchmark meanwhile: 1.0 vs 0.5 ms)"
    )


def test_a_missed_lifecycle_goal_names_the_top_contributors() -> None:
    figures = {"warroom": _lifecycle(80, 9000), "bare": _lifecycle(40, 2000)}
    actions, history = lifecycle.goals(figures)

    assert (actions.met, history.met) == (False, False)
    assert actions.why[0].startswith("actions: +40 in all; the most: activity scheduled +40")
    assert history.why[1].startswith("bytes of activity inputs: +3,500 in all")


def test_latency_saved_before_the_round_trips_were_says_so() -> None:
    side = {"p50_ms": 100.0, "p99_ms": 300.0, "missed": 0}
    figures = {
        "concurrency": 4,
        "warroom": {"sequential": side, "concurrent": side},
        "bare": {"sequential": side, "concurrent": {**side, "p99_ms": 100.0}},
    }
    (goal,) = latency.goals(figures)

    assert goal.verdict == "missed"
    assert goal.why[0] == "Warroom before the first page: not measured"


def test_a_goal_line_states_the_ratio_goal() -> None:
    goal = Goal("worker memory per cached incident", 1.5, 300.0, 100.0, "KiB")

    assert goal.line() == (
        "  goal (issue 17): worker memory per cached incident ≤ 1.5x bare: "
        "300 KiB vs 100 KiB = 3.00x: missed"
    )
