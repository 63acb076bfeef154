"""Lifecycle cost: history events and billable actions of one P1 incident, beside bare Temporal.

    python -m bench.lifecycle

Timers really pass, at the shipped policy's own durations, on a time-skipping
server: the real ``temporal`` dev server started as the tests start it
(``dev.timeskipping.start_time_skipping``), each workflow's clock moved on
with ``env.fast_forward(handle, delta)`` between steps, then left to settle (no
activity or workflow task pending), as tests/support/harness.py ``advance``
does. The real Warroom worker is built in this process by
``worker.run.build_worker`` (shipped policy, embedded Postgres for the record,
one webhook channel to a local sink); the baseline ``BareLifecycle``
(bench/bare_lifecycle.py) runs on its own task queue beside it, posting to the
same sink.

The standard P1 lifecycle, the same script for both (minutes after opening):
declared by hand at 0 (Warroom: ``starter.api.declare_incident``), acknowledged
at 5, commander assigned at 6, a status update saying the cause is identified at
14 (the scope assessed within the P1's 15 min), the first customer update at 20
(within 30 min), mitigated at 40, resolved (root cause, the fix vouched for) at
45, a customer update at 48 (the 30-min status-page cadence), the 60-min
monitoring window from mitigation passes at 100 (an SLO probe, then resolved;
between 40 and 100 the 30-min status cadence sends its reminders and automatic
updates), the resolution customer update at 101, postmortem submitted final one
day later, which closes the incident. Every decision is an update.

Counting rules: "server actions" as Temporal Cloud bills them
(docs.temporal.io/cloud/actions), read from the run's history:
  1 per WorkflowExecutionStarted (client start) and per WorkflowExecutionContinuedAsNew
    (the next run's start); 2 per child workflow started
  1 per WorkflowExecutionSignaled (a signal-with-start bills once, with its start)
  1 per WorkflowExecutionUpdateAccepted (rejected updates bill too but leave no
    event; the script sends none)
  1 per ActivityTaskScheduled, +1 per retry (ActivityTaskStarted attempt - 1)
  1 per TimerStarted (wait_condition timeouts included)
  1 per UpsertWorkflowSearchAttributes, unless it only sets TemporalChangeVersion
  1 per WorkflowPropertiesModified (memo upsert); 1 per signal sent to another
    workflow; 1 per workflow task holding local-activity markers
  not counted: workflow tasks, timer and activity outcomes, patch markers,
    queries (not in history; the script sends none), heartbeats (billed when they
    reach the server, never in history: Warroom's notify heartbeats after each
    channel and every 2 s while a delivery runs), and the WorkflowExecutionOptionsUpdated and
    WorkflowExecutionTimeSkippingTransitioned events the test server's
    fast-forwards write (the same on both sides; left out of the event counts too).
History size: the sum of the counted events' serialised sizes, and the
server's ``history_size_bytes`` (which includes the fast-forward events).
Writes bench/results/lifecycle.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.channels import Channel
from activities.store import StoreActivities
from bench.bare import Pager
from bench.bare_lifecycle import BareLifecycle, BarePlan, probe
from bench.goals import NOT_MEASURED, Goal, dig, excess
from bench.stack import finish, save
from dev.timeskipping import start_time_skipping
from incident import models as m
from incident.policy import load_policy
from incident.severity import Severity
from starter.api import decide, declare_incident
from starter.postgres import EmbeddedPostgres, upgrade
from starter.receiver import HttpReceiver, Received
from worker.run import build_worker

MIN = timedelta(minutes=1)
SCRIPT: list[tuple[timedelta, m.Decision | None]] = [
    (5 * MIN, m.Acknowledge(actor="bob")),
    (MIN, m.AssignRole(actor="bob", role=m.Role.INCIDENT_COMMANDER, person="bob")),
    (
        8 * MIN,  # the scope is assessed within the P1's 15 min
        m.PostStatusUpdate(
            actor="bob", message="failing over to the replica", status=m.Status.IDENTIFIED
        ),
    ),
    (6 * MIN, m.PostCustomerUpdate(actor="bob")),  # customers hear within 30 min
    (20 * MIN, m.DeclareMitigated(actor="bob", reason="traffic drained")),
    (5 * MIN, m.Resolve(actor="bob", root_cause="primary disk full", verified=["fix"])),
    (3 * MIN, m.PostCustomerUpdate(actor="bob")),  # the status page on its 30-min cadence
    (52 * MIN, None),  # the monitoring window (60 min from mitigation) passes
    (MIN, m.PostCustomerUpdate(actor="bob")),  # the resolution, in the template's words
    (timedelta(days=1), m.SubmitPostmortem(actor="bob", status=m.PostmortemStatus.FINAL)),
]
"""Time to let pass, then the decision; the baseline gets it as a dict, by the same update name."""

ONE_EACH = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: "workflow started",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: "signal received",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: "update received",
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: "activity scheduled",
    EventType.EVENT_TYPE_TIMER_STARTED: "timer started",
    EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED: "memo upserted",
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: "signal sent",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "continued as new",
}
SAME_AS = {"bare.page": "notify.deliver", "bare.probe": "probe.check_slos"}
"""The baseline's activities, listed under the Warroom activity they stand for."""
HARNESS = {"WORKFLOW_EXECUTION_OPTIONS_UPDATED", "WORKFLOW_EXECUTION_TIME_SKIPPING_TRANSITIONED"}
"""Events the test server's fast-forwards write, on both sides alike: not counted."""


def _type(event: HistoryEvent) -> str:
    return EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")


def actions(events: list[HistoryEvent]) -> Counter[str]:
    """Billable actions in a history, by kind, under the rules in the module docstring."""
    count: Counter[str] = Counter()
    local_activity_tasks: set[int] = set()
    for e in events:
        if e.event_type in ONE_EACH:
            count[ONE_EACH[e.event_type]] += 1
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            if e.activity_task_started_event_attributes.attempt > 1:
                count["activity retried"] += e.activity_task_started_event_attributes.attempt - 1
        elif e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            fields = e.upsert_workflow_search_attributes_event_attributes.search_attributes
            if set(fields.indexed_fields) - {"TemporalChangeVersion"}:
                count["search attributes upserted"] += 1
        elif e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            count["child workflow"] += 2
        elif e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            marker = e.marker_recorded_event_attributes
            if "local_activity" in marker.marker_name:
                local_activity_tasks.add(marker.workflow_task_completed_event_id)
    if local_activity_tasks:
        count["local activities (per task)"] = len(local_activity_tasks)
    return count


def _summary(event: HistoryEvent) -> str:
    data = event.user_metadata.summary.data
    return str(json.loads(data)) if data else ""


async def describe(handle: WorkflowHandle[Any, Any]) -> dict[str, Any]:
    """Count the history of a closed workflow's run."""
    events = [e async for e in handle.fetch_history_events()]
    counted = [e for e in events if _type(e) not in HARNESS]
    by_type = Counter(_type(e) for e in counted)
    size: Counter[str] = Counter()
    for e in counted:
        size[_type(e)] += e.ByteSize()
    acts = actions(counted)
    activities: Counter[str] = Counter()
    activity_bytes: Counter[str] = Counter()  # the inputs, as scheduled
    for e in counted:
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = e.activity_task_scheduled_event_attributes.activity_type.name
            activities[SAME_AS.get(name, name)] += 1
            activity_bytes[SAME_AS.get(name, name)] += e.ByteSize()
    info = (await handle.describe()).raw_description.workflow_execution_info
    return {
        "events": len(counted),
        "events_by_type": dict(by_type.most_common()),
        "harness_events_excluded": len(events) - len(counted),
        "actions": sum(acts.values()),
        "actions_by_kind": dict(acts.most_common()),
        "activities_by_type": dict(activities.most_common()),
        "activity_scheduled_bytes_by_type": dict(activity_bytes.most_common()),
        "timers": [
            _summary(e) for e in counted if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
        ],
        "history_bytes": sum(size.values()),
        "bytes_by_type": dict(size.most_common()),
        "history_size_bytes_server": info.history_size_bytes,
    }


async def walk(env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any], bare: bool) -> None:
    """Run the script on one workflow until it closes."""
    await settle(handle)
    for delta, decision in SCRIPT:
        await env.fast_forward(handle, delta)
        await settle(handle)
        if decision is not None:
            if bare:
                name = re.sub(r"(?<!^)(?=[A-Z])", "_", type(decision).__name__).lower()
                await handle.execute_update(name, decision.model_dump(mode="json"))
            else:
                await decide(handle, decision)
            await settle(handle)
    await handle.result()


async def settle(handle: WorkflowHandle[Any, Any]) -> None:
    """Until the workflow has no activity or workflow task in flight."""
    for _ in range(600):
        raw = (await handle.describe()).raw_description
        if not raw.pending_activities and not raw.HasField("pending_workflow_task"):
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{handle.id} did not settle")


async def run() -> dict[str, Any]:
    """Both lifecycles on one time-skipping server; returns the figures."""
    policy = load_policy()
    notices: Counter[str] = Counter()

    def receive(request: Received) -> None:
        notices[request.path.strip("/").split("/")[0]] += 1

    workdir = Path(mkdtemp(prefix="warroom-lifecycle-"))
    postgres = EmbeddedPostgres(workdir / "postgres")
    database_url = postgres.start()
    await upgrade(database_url)
    env = await start_time_skipping()
    store = StoreActivities(database_url)
    await store.open()
    queue = f"lifecycle-{uuid.uuid4().hex[:6]}"
    try:
        async with (
            HttpReceiver(on_receive=receive) as sink,
            httpx.AsyncClient() as http,
        ):
            channel = Channel.model_validate(
                {"name": "sink", "kind": "webhook", "url": f"{sink.url}/warroom"}
            )
            client: Client = env.client
            warroom_worker = build_worker(
                client,
                task_queue=queue,
                policy=policy,
                channels=[channel],
                http=http,
                prometheus_url=None,
                ui_url="http://localhost:8233",
                store=store,
            )
            bare_worker = Worker(
                client,
                task_queue=f"{queue}-bare",
                workflows=[BareLifecycle],
                activities=[Pager(http).page, probe],
            )
            async with warroom_worker, bare_worker:
                incident = await declare_incident(
                    client,
                    m.Declaration(title="Checkout down", severity=Severity.P1, actor="bob"),
                    task_queue=queue,
                )
                await walk(env, incident, bare=False)
                baseline = await client.start_workflow(
                    BareLifecycle.run,
                    BarePlan.p1(policy, f"{sink.url}/bare"),
                    id=f"bare-lifecycle-{uuid.uuid4().hex[:8]}",
                    task_queue=f"{queue}-bare",
                )
                await walk(env, baseline, bare=True)
                state = await incident.result()
                figures: dict[str, Any] = {
                    "warroom": await describe(incident),
                    "bare": await describe(baseline),
                }
    finally:
        await store.close()
        await env.shutdown()
        postgres.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    figures["warroom"]["notices_received"] = notices["warroom"]
    figures["bare"]["notices_received"] = notices["bare"]
    figures["warroom"]["final_phase"] = state.phase.value
    figures["warroom"]["timeline"] = [e.kind for e in state.timeline]
    figures["script"] = [[d.total_seconds(), type(x).__name__] for d, x in SCRIPT]
    figures["policy_version"] = policy.version
    return figures


def report(figures: dict[str, Any]) -> str:
    """Both sides side by side, with the ratio and the counting rules."""
    w, b = figures["warroom"], figures["bare"]

    def row(label: str, key: str, sub: str | None = None) -> str:
        x, y = (w[key], b[key]) if sub is None else (w[key].get(sub, 0), b[key].get(sub, 0))
        ratio = f"{x / y:7.2f}x" if y else "      -"
        return f"  {label[:38]:38s} {x:8.0f} {y:8.0f} {ratio}"

    lines = [
        f"lifecycle cost of one standard P1 incident (shipped policy {figures['policy_version']}, "
        "time-skipping server), Warroom beside a hand-written bare workflow",
        f"  {'':38s} {'Warroom':>8s} {'bare':>8s} {'ratio':>8s}",
        row("history events", "events"),
        row("server actions (billable, rules below)", "actions"),
        row("history size, bytes (counted events)", "history_bytes"),
        row("history size, bytes (server's figure)", "history_size_bytes_server"),
        row("notices the sink received", "notices_received"),
        *_table(w, b, row, "actions by kind", "actions_by_kind"),
        *_table(w, b, row, "activities scheduled by type", "activities_by_type"),
        *_table(w, b, row, "bytes of their inputs (scheduled)", "activity_scheduled_bytes_by_type"),
        *_table(w, b, row, "events by type", "events_by_type"),
        *_table(w, b, row, "bytes by event type (top 5)", "bytes_by_type")[:6],
        f"  not counted: {w['harness_events_excluded']} / {b['harness_events_excluded']} events "
        "written by the test server's fast-forwards (options updated, time skipping transitioned)",
        "  rules: 1 action per workflow start, signal, accepted update, activity scheduled "
        "(+1 per retry), timer started,",
        "    search-attribute upsert (not TemporalChangeVersion alone), memo upsert; queries, "
        "heartbeats, workflow tasks, timer/activity outcomes not counted",
        *(goal.line() for goal in goals(figures)),
    ]
    return "\n".join(lines)


def goals(figures: dict[str, Any]) -> list[Goal]:
    """Issue 17: billable actions per standard P1 ≤ 1.3x bare, history bytes ≤ 2x."""
    w, b = figures.get("warroom", {}), figures.get("bare", {})
    return [
        Goal(
            "billable actions per standard P1",
            1.3,
            w.get("actions"),
            b.get("actions"),
            "actions",
            why=(
                _excess(w, b, "actions_by_kind", "actions"),
                _excess(w, b, "activities_by_type", "activities scheduled"),
            ),
        ),
        Goal(
            "history bytes per standard P1",
            2.0,
            w.get("history_bytes"),
            b.get("history_bytes"),
            "B",
            why=(
                _excess(w, b, "bytes_by_type", "bytes"),
                _excess(w, b, "activity_scheduled_bytes_by_type", "bytes of activity inputs"),
            ),
        ),
    ]


def _excess(w: dict[str, Any], b: dict[str, Any], key: str, what: str) -> str:
    """The top contributors to Warroom's excess of ``key`` over bare's."""
    if dig(w, key) is None or dig(b, key) is None:
        return f"{what}: {NOT_MEASURED}"
    total = sum(w[key].values()) - sum(b[key].values())
    top = ", ".join(
        f"{name.lower()} +{gap:,.0f} ({w[key].get(name, 0):,} vs {b[key].get(name, 0):,})"
        for name, gap in excess(w[key], b[key])
    )
    return f"{what}: {total:+,} in all; the most: {top}"


def _table(
    w: dict[str, Any], b: dict[str, Any], row: Callable[..., str], title: str, key: str
) -> list[str]:
    """A heading and one row per key of either side, biggest Warroom figure first."""
    keys = sorted(set(w[key]) | set(b[key]), key=lambda k: (-w[key].get(k, 0), k))
    return [f"  {title}:", *(row(f"  {k.lower()}", key, k) for k in keys)]


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.parse_args()
    figures = asyncio.run(run())
    print(report(figures), flush=True)
    save("lifecycle", figures)
    finish()


if __name__ == "__main__":
    main()
