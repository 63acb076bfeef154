"""Timer lag: how late escalation steps fire when many incidents' timers fall due at once.

    python -m bench.timers [--incidents 100 500] [--factor 60] [--concurrency 16]

Starts its own Temporal dev server (SQLite file, WAL pragmas), embedded
Postgres, the Warroom worker and hook service as their own processes, and an
HTTP sink in this process that the worker's one webhook channel points at.
The worker runs the shipped policy compressed ``--factor`` times (written to
a YAML file for ``WARROOM_POLICY``, checked to load back unchanged), so the
P0 ladder (all on-call at 0, VP Eng +15 min, CTO +30, CEO +60) becomes
0 / 15 / 30 / 60 s at the default factor 60.

Baseline first, on the same server and sink: ``--incidents`` ``BareLadder``
workflows (bench/bare.py, on their own worker process ``python -m bench.bare``)
started at once, each sleeping to the same offsets and running an activity
that POSTs to the sink at each step. Then ``--incidents`` P0 Alertmanager
notifications POSTed to the hook at once, so every incident's ladder falls due
together; the rest of the compressed policy (ack deadline, status reminders
and automatic updates, resolution target) runs too, as it would in production.

Lag of a step = arrival at the sink (wall clock) minus when it was due (incident
opened + step offset; Warroom: the notice's ``incident.declared_at`` and its
``escalation:P0:<step>`` key; bare: the workflow's start time). Steps at
offset 0 fire at open, with no timer, and are reported apart. Prints
p50/p99/max lag for both, and how much of it is the timer firing late (the
notice's ``at``) rather than delivery, and for Warroom the alert → first page
time under that load (hook POST to the 0 s step's arrival, triage included).
Each ``--incidents`` size runs on a fresh stack; writes
bench/results/timers.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.bare import BareLadder
from bench.goals import Goal, dig
from bench.ingest import notification
from bench.stack import bench_stack, finish, linked_workflow_id, pool, save, summary_ms
from incident.ids import incident_workflow_id
from incident.policy import Policy, load_policy
from incident.severity import Severity
from starter.receiver import HttpReceiver, Received

GRACE = 60.0
"""Seconds past the last step's due time to wait for stragglers before counting them missing."""


def write_policy(factor: int, path: Path) -> Policy:
    """Write the shipped policy compressed ``factor`` times; the worker loads exactly this.

    Written as the policy serialises itself, which is also how the workflow receives it
    (the ``policy.current`` activity's result): both must give back the same numbers.
    """
    policy = load_policy().compressed(factor)
    path.write_text(yaml.safe_dump(policy.model_dump(mode="json"), sort_keys=False))
    loaded = load_policy(path)
    if loaded != policy:
        raise SystemExit(f"--factor {factor}: the compressed policy does not load back unchanged")
    return loaded


class Ladders:
    """The sink's side: the lag of every escalation step that arrives, per side and step."""

    def __init__(self, offsets: list[float]) -> None:
        self.offsets = offsets
        self.lag: dict[str, list[list[float]]] = {s: [[] for _ in offsets] for s in SIDES}
        self.fire: dict[str, list[float]] = {s: [] for s in SIDES}
        self.seen: set[tuple[str, str, int]] = set()
        self.resent: dict[str, int] = {s: 0 for s in SIDES}
        self.posted: dict[str, float] = {}
        """Warroom: when each incident's alert went to the hook, by workflow ID."""
        self.first_page: list[float] = []
        self.warroom_notices = 0

    def receive(self, request: Received) -> None:
        """``on_receive``: bare pages on /bare, every Warroom notice on /warroom."""
        arrived = time.time()
        body = request.json()
        if request.path.startswith("/bare"):
            side, incident, step = "bare", body["incident"], body["step"]
            due, at = body["due"], body["at"]
        else:
            self.warroom_notices += 1
            key = body.get("key", "")
            if body.get("kind") != "escalation" or not key.startswith("escalation:"):
                return  # reminders, updates, re-pages: load, not measured
            side, incident, step = "warroom", body["incident"]["human_id"], int(key.split(":")[2])
            declared = datetime.fromisoformat(body["incident"]["declared_at"]).timestamp()
            posted = self.posted.get(linked_workflow_id(body))
            if step == 0 and posted is not None and (side, incident, step) not in self.seen:
                self.first_page.append(arrived - posted)
            due, at = declared + self.offsets[step], datetime.fromisoformat(body["at"]).timestamp()
        if (side, incident, step) in self.seen:
            self.resent[side] += 1  # a retry after the sink had it (a channel sees it twice)
            return
        self.seen.add((side, incident, step))
        self.lag[side][step].append(arrived - due)
        if self.offsets[step] > 0:
            self.fire[side].append(at - due)

    def count(self, side: str) -> int:
        """Steps received so far on ``side``."""
        return sum(len(lags) for lags in self.lag[side])

    def figures(self, side: str, incidents: int) -> dict[str, Any]:
        """p50/p99/max of the timed steps, of their firing alone, of each step, and missing."""
        steps = list(zip(self.offsets, self.lag[side], strict=True))
        timed = [lag for offset, lags in steps if offset > 0 for lag in lags]
        return {
            "timed": summary_ms(timed),
            "fired_late": summary_ms(self.fire[side]),
            "steps": [{"offset_s": offset, **summary_ms(lags)} for offset, lags in steps],
            "missing": incidents * len(self.offsets) - self.count(side),
            "resent": self.resent[side],
            **({"alert_to_first_page": summary_ms(self.first_page)} if side == "warroom" else {}),
        }


SIDES = ("bare", "warroom")


async def run(incidents: int, factor: int, concurrency: int) -> dict[str, Any]:
    """Run one size on a fresh stack; returns its figures."""
    figures: dict[str, Any] = {}
    async with bench_stack() as stack:
        policy = write_policy(factor, stack.workdir / "policy.yaml")
        offsets = [step.after.total_seconds() for step in policy.rule(Severity.P0).escalation]
        ladders = Ladders(offsets)
        async with HttpReceiver(on_receive=ladders.receive) as sink:
            channel = {"name": "sink", "kind": "webhook", "url": f"{sink.url}/warroom"}
            await stack.spawn(
                "worker",
                {
                    "WARROOM_CHANNELS": json.dumps([channel]),
                    "WARROOM_POLICY": str(stack.workdir / "policy.yaml"),
                },
            )
            bare_queue = f"{stack.task_queue}-bare"
            await stack.spawn("bench.bare", {"WARROOM_TASK_QUEUE": bare_queue})
            hooks = await stack.hooks()

            async def bare(_: int) -> None:
                await stack.client.start_workflow(
                    BareLadder.run,
                    args=[f"{sink.url}/bare", f"bare-{uuid.uuid4().hex}", offsets],
                    id=f"bare-ladder-{uuid.uuid4().hex}",
                    task_queue=bare_queue,
                )

            async with httpx.AsyncClient(timeout=60, headers=stack.hook_headers) as http:

                async def warroom(_: int) -> None:
                    body = notification(f"Timer{uuid.uuid4().hex[:12]}", 1)
                    body["alerts"][0]["labels"]["severity"] = "critical"  # P0: the full ladder
                    ladders.posted[incident_workflow_id("alertmanager", body["groupKey"])] = (
                        time.time()
                    )
                    response = await http.post(f"{hooks}/hooks/alertmanager", json=body)
                    if response.status_code != 202:
                        raise RuntimeError(f"hook answered {response.status_code}")

                await stack.polled(stack.task_queue, bare_queue)
                for side, open_one in (("bare", bare), ("warroom", warroom)):
                    started = time.perf_counter()
                    await pool(range(incidents), concurrency, open_one)
                    opened = time.perf_counter() - started
                    deadline = time.perf_counter() + max(offsets) + GRACE
                    while ladders.count(side) < incidents * len(offsets):
                        if time.perf_counter() > deadline:
                            break
                        await asyncio.sleep(0.2)
                    figures[side] = {"open_seconds": round(opened, 2)}
        for side in SIDES:
            figures[side].update(ladders.figures(side, incidents))
    figures.update(
        incidents=incidents,
        factor=factor,
        concurrency=concurrency,
        offsets_s=offsets,
        policy_version=policy.version,
        warroom_notices=ladders.warroom_notices,
        grace_s=GRACE,
    )
    return figures


GOAL_INCIDENTS = 500
"""Issue 17 sets the goal at this many simultaneous P0s."""


def report(figures: dict[str, Any]) -> str:
    """Every size's figures as a table, then the goal."""
    return "\n".join(
        [*(report_one(run) for run in figures["runs"]), *(g.line() for g in goals(figures))]
    )


def goals(figures: dict[str, Any]) -> list[Goal]:
    """Issue 17: lag p99 with 500 simultaneous P0s ≤ 2x bare, none missed (the largest size
    measured when 500 was not)."""
    runs = figures.get("runs") or [{}]
    run = next((r for r in runs if r.get("incidents") == GOAL_INCIDENTS), None)
    run = run or max(runs, key=lambda r: r.get("incidents", 0))
    w, b = run.get("warroom", {}), run.get("bare", {})
    size = run.get("incidents", GOAL_INCIDENTS)
    name = f"escalation timer lag p99 with {size} simultaneous P0s"
    if size != GOAL_INCIDENTS:
        name += f" (the goal is at {GOAL_INCIDENTS})"
    missing = w.get("missing")
    return [
        Goal(
            name,
            2.0,
            dig(w, "timed", "p99_ms"),
            dig(b, "timed", "p99_ms"),
            "ms",
            requires="none missed",
            conditions=() if missing is None else ((f"{missing} steps missed", missing == 0),),
            why=_why(w, b) if w and b else (),
        )
    ]


def _why(w: dict[str, Any], b: dict[str, Any]) -> tuple[str, ...]:
    """Lag p50/p99 both sides, how much of it is the timer firing late, and per step."""

    def pair(key: str, q: str) -> str:
        return f"{w[key][q]:.0f} vs {b[key][q]:.0f} ms"

    steps = ", ".join(
        f"+{ws['offset_s']:g} s {ws['p99_ms']:.0f} vs {bs['p99_ms']:.0f} ms"
        for ws, bs in zip(w["steps"], b["steps"], strict=True)
    )
    lines = [
        f"lag, Warroom vs bare: p50 {pair('timed', 'p50_ms')}, p99 {pair('timed', 'p99_ms')}",
        f"of which the timer firing late (the rest is delivery): p50 "
        f"{pair('fired_late', 'p50_ms')}, p99 {pair('fired_late', 'p99_ms')}",
        f"p99 by step: {steps}",
    ]
    first = w.get("alert_to_first_page")
    if first:
        lines.append(
            f"Warroom alert → first page under the same load: p99 {first['p99_ms']:.0f} ms"
        )
    return tuple(lines)


def report_one(figures: dict[str, Any]) -> str:
    """One size's figures as a table."""
    offsets = ", ".join(f"{o:g} s" for o in figures["offsets_s"])
    lines = [
        f"timer lag: {figures['incidents']} incidents a side opened at once "
        f"(concurrency {figures['concurrency']}), P0 ladder compressed x{figures['factor']} "
        f"(steps at {offsets})",
        f"  the whole policy runs x{figures['factor']} (reminders, re-pages, automatic "
        f"updates too), so the notice load is that of "
        f"{figures['incidents'] * figures['factor']:,} P0 incidents in real time",
    ]
    late_by = max(figures["offsets_s"]) + figures["grace_s"]
    for side, label in (("warroom", "Warroom"), ("bare", "bare Temporal")):
        f = figures[side]
        t, late = f["timed"], f["fired_late"]
        lines.append(
            f"  {label:14s} lag p50 {t['p50_ms']:7.1f} ms  p99 {t['p99_ms']:7.1f} ms  "
            f"max {t['max_ms']:7.1f} ms  ({t['count']} timed steps, {f['missing']} steps "
            f"not in by +{late_by:g} s, {f.get('resent', 0)} sent twice; "
            f"opened in {f['open_seconds']:.1f} s)"
        )
        lines.append(
            f"  {'':14s} of which firing late: p50 {late['p50_ms']:7.1f} ms  "
            f"p99 {late['p99_ms']:7.1f} ms;  per step p99: "
            + ", ".join(f"{s['offset_s']:g} s → {s['p99_ms']:.0f} ms" for s in f["steps"])
        )
    first = figures["warroom"].get("alert_to_first_page")
    if first:
        lines.append(
            f"  Warroom alert → first page (hook POST to the 0 s step at the sink, triage "
            f"included): p50 {first['p50_ms']:.0f} ms  p99 {first['p99_ms']:.0f} ms  "
            f"max {first['max_ms']:.0f} ms"
        )
    lines.append(
        f"  Warroom also delivered the rest of the compressed policy: "
        f"{figures['warroom_notices']} notices in all"
    )
    return "\n".join(lines)


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--incidents", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--factor", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    runs = []
    for size in args.incidents:
        runs.append(asyncio.run(run(size, args.factor, args.concurrency)))
        print(report_one(runs[-1]), flush=True)
    figures = {"runs": runs}
    for line in goals(figures):
        print(line.line(), flush=True)
    save("timers", figures)
    finish()


if __name__ == "__main__":
    main()
