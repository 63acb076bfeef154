"""An upgrade, the way an operator meets it: incidents opened on the previous release close on this.

The previous release is commit ``ac25339`` (tagged ``v0.1.0``). Its source is taken
from this repository's history (``git archive``, no network) and its worker runs as a
real process from that tree, with the same interpreter (its dependencies are a subset
of ours). With it running, the previous release's own CLI and API open incidents and
walk each to a phase: one paging (P0, not acknowledged: its ladder's timers pending),
one waiting for approval of its containment actions, one monitoring inside its quiet
window, one in post-incident with its postmortem scheduled. Then the operator deploys:
the old worker is stopped (SIGTERM), this release's worker starts on the same task
queue, and every incident is carried to close with this release's Python API.

Each must close, no workflow task may ever fail (a non-determinism error shows as one),
and no notice may reach the channel twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import Client

from incident.containment import ActionState
from incident.models import (
    Acknowledge,
    Alert,
    AlertBatch,
    AlertStatus,
    ApproveContainment,
    AssignRole,
    Declaration,
    IncidentState,
    Phase,
    PostmortemStatus,
    PostStatusUpdate,
    Resolve,
    Role,
    Status,
    SubmitPostmortem,
)
from incident.policy import Policy
from incident.severity import Severity
from starter.api import IncidentHandle, decide, declare_incident, send_alerts
from starter.postgres import upgrade
from tests.reliability.invariants import Wire, check_incidents, incident_clock, server_refusals
from tests.reliability.processes import WorkerProcess
from tests.support import processes
from tests.support.controlplane import ControlPlane, reference_control_plane
from tests.support.harness import Harness
from tests.support.wait import eventually
from workflows.incident import IncidentWorkflow

pytestmark = [pytest.mark.slow, pytest.mark.reliability]

PREVIOUS = "ac25339"
"""The previous release's commit; tagged ``v0.1.0`` (tags may not travel with a clone)."""
PREVIOUS_NAME = f"v0.1.0 ({PREVIOUS})"
MIN = timedelta(minutes=1)
PACKAGES = ("incident", "workflows", "activities", "worker", "starter")
"""Warroom's own top-level packages: under the old worker, each must come from the old tree."""


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False)


@pytest.fixture(scope="module")
def previous_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The previous release's source tree, extracted from this repository's history."""
    here = Path(__file__).resolve().parent
    top = _git(here, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        pytest.skip(f"no git metadata here, so no {PREVIOUS_NAME} to upgrade from")
    root = Path(top.stdout.decode().strip())
    if _git(root, "cat-file", "-e", f"{PREVIOUS}^{{commit}}").returncode != 0:
        pytest.skip(f"this clone lacks commit {PREVIOUS_NAME} (a shallow clone?)")
    tree = tmp_path_factory.mktemp("previous-release")
    archive = _git(root, "archive", PREVIOUS)
    assert archive.returncode == 0, archive.stderr.decode()
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def _old_env(tree: Path, base: dict[str, str]) -> dict[str, str]:
    return {**base, "PYTHONPATH": str(tree)}


async def _in_old_tree(tree: Path, *argv: str, env: dict[str, str], within: float = 60) -> str:
    """Run ``python <argv>`` on the previous release's code; returns its stdout (exit 0)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *argv,
        cwd=tree,
        env=_old_env(tree, env),
        stdout=processes.PIPE,
        stderr=processes.PIPE,
    )
    done = await processes.finish(process, within=within, what=f"{PREVIOUS_NAME}: {argv}")
    assert done.code == 0, f"{PREVIOUS_NAME} {argv} → {done.code}:\n{done.out}\n{done.err}"
    return done.out


WHICH_TREE = """
import json, sys
import worker.__main__, worker.run, workflows.incident, starter.cli.main
packages = {name.split(".")[0] for name in sys.argv[1:]}
print(json.dumps({
    name: module.__file__ for name, module in sys.modules.items()
    if name.split(".")[0] in packages and getattr(module, "__file__", None)
}))
"""

OLD_CLI = "from starter.cli.main import main; main()"

OLD_SEND_ALERTS = """
import asyncio, os, sys
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from incident.models import AlertBatch
from starter.api import send_alerts

async def main() -> None:
    address, task_queue, dedup_key, batch = sys.argv[1:]
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    handle = await send_alerts(
        client, AlertBatch.model_validate_json(batch), dedup_key=dedup_key, task_queue=task_queue
    )
    print(handle.id, flush=True)

asyncio.run(main())
os._exit(0)
"""


@dataclass
class OldWorker:
    """``python -m worker`` of the previous release, run from its own tree."""

    harness: Harness
    tree: Path
    log: Path
    control_plane_url: str
    database_url: str
    process: asyncio.subprocess.Process | None = field(default=None, repr=False)

    async def start(self) -> None:
        channels = [{"name": "hook", "kind": "webhook", "url": f"{self.harness.receiver.url}/hook"}]
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": self.harness.client.service_client.config.target_host,
            "WARROOM_TASK_QUEUE": self.harness.task_queue,
            "DATABASE_URL": self.database_url,
            "WARROOM_CHANNELS": json.dumps(channels),
            "WARROOM_CONTROL_PLANE_URL": self.control_plane_url,
        }
        with self.log.open("wb") as out:
            self.process = await asyncio.create_subprocess_exec(
                *processes.python_m("worker"),
                cwd=self.tree,
                env=_old_env(self.tree, env),
                stdout=out,
                stderr=processes.STDOUT,
            )
        process, log = self.process, self.log

        def ready() -> bool:
            assert process.returncode is None, f"the old worker exited:\n{log.read_text()}"
            return "worker ready" in log.read_text()

        await eventually(ready, within=60)

    async def stop(self) -> int | None:
        """SIGTERM, and wait for it to exit; its exit code (None if it was not running)."""
        if self.process is None:
            return None
        process, self.process = self.process, None
        return (await processes.stop(process, within=30)).code


@dataclass
class Opened:
    """The incidents the previous release opened, by the phase each is left in."""

    paging: IncidentHandle
    approval: IncidentHandle
    monitoring: IncidentHandle
    post_incident: IncidentHandle
    dedup_key: str
    """The alert group of the incident awaiting approval."""

    def all(self) -> list[IncidentHandle]:
        return [self.paging, self.approval, self.monitoring, self.post_incident]


def _firing(plane: ControlPlane, status: AlertStatus = AlertStatus.FIRING) -> AlertBatch:
    labels = {
        "alertname": "DroviAgentRunSuccessRateLow",
        "deployment": plane.deployment,
        "trigger": plane.trigger,
        "org": plane.org,
    }
    alert = Alert(
        fingerprint="success-rate", name=labels["alertname"], labels=labels, status=status
    )
    return AlertBatch(source="alertmanager", alerts=[alert])


async def _open_on_previous_release(
    harness: Harness, tree: Path, plane: ControlPlane, dedup_key: str
) -> Opened:
    """The previous release's CLI declares three incidents and its API fires a fourth."""
    address = harness.client.service_client.config.target_host
    env = processes.cli_env(
        address, task_queue=harness.task_queue, database_url=harness.database_url, actor="alice"
    )

    async def declare(title: str, severity: str, *extra: str) -> IncidentHandle:
        out = await _in_old_tree(
            tree, "-c", OLD_CLI, "--json", "declare", title, "--severity", severity,
            "--service", "agents", *extra, env=env,
        )  # fmt: skip
        workflow_id = json.loads(out)["workflow_id"]
        return harness.client.get_workflow_handle_for(IncidentWorkflow.run, workflow_id)

    async def fire() -> IncidentHandle:
        batch = _firing(plane).model_dump_json(exclude_defaults=True)
        out = await _in_old_tree(
            tree, "-c", OLD_SEND_ALERTS, address, harness.task_queue, dedup_key, batch, env=env
        )
        return harness.client.get_workflow_handle_for(IncidentWorkflow.run, out.strip())

    paging, approval, monitoring, post_incident = await asyncio.gather(
        declare("Checkout down", "P0"),
        fire(),
        declare("Search latency 10x", "P1", "--commander", "dana"),
        declare("Exports slow", "P2", "--commander", "dana"),
    )
    return Opened(paging, approval, monitoring, post_incident, dedup_key)


async def _walk_on_previous_release(harness: Harness, opened: Opened) -> None:
    """Move each incident to its phase while the previous release's worker runs it."""

    async def paging(incident: IncidentHandle) -> None:
        # 16 unacknowledged minutes: the ack deadline re-paged, the VP was called;
        # the CTO (30 min) and CEO (60 min) steps are pending.
        await harness.until(incident, lambda s: s.phase is Phase.TRIAGED)
        await harness.advance(incident, 16 * MIN)
        await harness.until(incident, lambda s: "escalation:P0:1" in s.steps_taken)

    async def approval(incident: IncidentHandle) -> None:
        # The playbook proposed a rollback and a disabled trigger, both awaiting approval.
        await harness.until(incident, lambda s: len(s.containment) == 2)
        await decide(incident, Acknowledge(actor="dana", reason="paged"))
        await decide(
            incident, AssignRole(actor="dana", role=Role.INCIDENT_COMMANDER, person="dana")
        )
        await decide(
            incident,
            PostStatusUpdate(actor="dana", message="v42 retry storm", status=Status.IDENTIFIED),
        )

    async def monitoring(incident: IncidentHandle) -> None:
        await harness.until(incident, lambda s: s.phase is Phase.TRIAGED)
        await decide(incident, Acknowledge(actor="dana"))
        await decide(incident, Resolve(actor="dana", root_cause="bad index rebuild"))
        await harness.advance(incident, 20 * MIN)  # 40 of the 60 quiet minutes still to go

    async def post_incident(incident: IncidentHandle) -> None:
        await harness.until(incident, lambda s: s.phase is Phase.TRIAGED)
        await decide(incident, Acknowledge(actor="dana"))
        await decide(incident, Resolve(actor="dana", root_cause="export queue starved"))
        await harness.advance(incident, 61 * MIN)
        await harness.until(incident, lambda s: s.phase is Phase.POST_INCIDENT)
        meeting = await incident_clock(incident) + timedelta(days=1)
        await decide(
            incident,
            SubmitPostmortem(
                actor="dana", status=PostmortemStatus.SCHEDULED, scheduled_for=meeting
            ),
        )

    await asyncio.gather(
        paging(opened.paging),
        approval(opened.approval),
        monitoring(opened.monitoring),
        post_incident(opened.post_incident),
    )
    await asyncio.gather(*(harness.settle(i) for i in opened.all()))


async def _carry_to_close(harness: Harness, opened: Opened, plane: ControlPlane) -> None:
    """This release's worker and API take every incident on from where it was left."""
    final = SubmitPostmortem(actor="dana", status=PostmortemStatus.FINAL, summary="written up")

    async def after_recovery(incident: IncidentHandle) -> None:
        await harness.until(incident, lambda s: s.phase is Phase.POST_INCIDENT)
        await decide(incident, final)

    async def paging(incident: IncidentHandle) -> None:
        # Still nobody: the CTO's step, planned by the old worker, fires on the new one.
        await harness.advance(incident, 15 * MIN)
        await harness.until(incident, lambda s: "escalation:P0:2" in s.steps_taken)
        await decide(incident, Acknowledge(actor="dana", reason="on it"))
        await decide(incident, Resolve(actor="dana", root_cause="expired certificate"))
        await harness.advance(incident, 61 * MIN)
        await after_recovery(incident)

    async def approval(incident: IncidentHandle) -> None:
        await decide(incident, ApproveContainment(actor="dana", action_id=1, reason="go"))
        await decide(incident, ApproveContainment(actor="dana", action_id=2, reason="go"))
        await harness.until(
            incident, lambda s: all(a.state is ActionState.IN_FORCE for a in s.containment)
        )
        await decide(incident, Resolve(actor="dana", root_cause="v42 retry storm"))
        resolved = await send_alerts(
            harness.client,
            _firing(plane, AlertStatus.RESOLVED),
            dedup_key=opened.dedup_key,
            task_queue=harness.task_queue,
        )
        assert resolved is not None
        await harness.settle(incident)
        await harness.advance(incident, 61 * MIN)
        # Recovery undid the disabled trigger; a rollback stays.
        await harness.until(incident, lambda s: s.containment[1].state is ActionState.COMPENSATED)
        await after_recovery(incident)

    async def monitoring(incident: IncidentHandle) -> None:
        await harness.advance(incident, 41 * MIN)
        await after_recovery(incident)

    async def post_incident(incident: IncidentHandle) -> None:
        await decide(incident, final)

    await asyncio.gather(
        paging(opened.paging),
        approval(opened.approval),
        monitoring(opened.monitoring),
        post_incident(opened.post_incident),
    )


async def _failed_workflow_tasks(client: Client, task_queue: str) -> list[str]:
    """Every WORKFLOW_TASK_FAILED event of every run on the task queue: its cause and message."""
    found = []
    async for run in client.list_workflows(f"TaskQueue = '{task_queue}'"):
        handle = client.get_workflow_handle(run.id, run_id=run.run_id)
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                failed = event.workflow_task_failed_event_attributes
                why, failure = [], failed.failure
                while failure.message:
                    why.append(" ".join(failure.message.split())[:400])
                    failure = failure.cause
                found.append(
                    f"{run.id} (run {run.run_id}) event {event.event_id}: "
                    f"{WorkflowTaskFailedCause.Name(failed.cause)}: {' <- '.join(why)}"
                )
    return found


async def _task_workers(incident: IncidentHandle) -> list[str]:
    """The identity (``pid@host``) of each worker that completed a workflow task, in order."""
    found: list[str] = []
    async for event in incident.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            who = event.workflow_task_completed_event_attributes.identity
            if not found or found[-1] != who:
                found.append(who)
    return found


async def _listed(client: Client, task_queue: str, handles: list[IncidentHandle]) -> None:
    """Wait until visibility lists every incident on the task queue."""

    async def all_listed() -> bool:
        ids = {w.id async for w in client.list_workflows(f"TaskQueue = '{task_queue}'")}
        return ids >= {h.id for h in handles}

    await eventually(all_listed, within=30)


NEW_MIGRATIONS = [
    "0003_people_credentials.sql",
    "0004_oncall_overrides.sql",
    "0005_customer_updates.sql",
    "0006_checklists_action_items_impact.sql",
]
"""The migrations since the previous release, which the operator applies when deploying."""


async def _previous_release_database(harness: Harness, tree: Path) -> str:
    """A new database for the incident record, as the previous release's own `warroom db
    upgrade` leaves it (a worker refuses a schema newer than it knows)."""
    name = f"upgrade_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(harness.database_url)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    record = harness.database_url.replace("/postgres?", f"/{name}?")
    address = harness.client.service_client.config.target_host
    env = {**processes.cli_env(address), "DATABASE_URL": record}
    await _in_old_tree(tree, "-c", OLD_CLI, "db", "upgrade", env=env)
    return record


async def test_incidents_opened_on_the_previous_release_close_on_this_one(
    bare_harness: Harness, policy: Policy, previous_release: Path, tmp_path: Path
) -> None:
    harness, tree = bare_harness, previous_release
    wire = Wire(harness.receiver)  # answers 200 and logs every delivery
    address = harness.client.service_client.config.target_host
    files = json.loads(
        await _in_old_tree(tree, "-c", WHICH_TREE, *PACKAGES, env=processes.cli_env(address))
    )
    print(f"{PREVIOUS_NAME}: worker from {files['worker']}")
    assert {name.split(".")[0] for name in files} >= set(PACKAGES)
    strays = {name: path for name, path in files.items() if not Path(path).is_relative_to(tree)}
    assert not strays, f"{PREVIOUS_NAME} imported this release's modules: {strays}"

    record = await _previous_release_database(harness, tree)
    async with reference_control_plane(harness.database_url) as plane:
        old = OldWorker(harness, tree, tmp_path / "old-worker.log", plane.url, record)
        new = WorkerProcess(harness, tmp_path, control_plane_url=plane.url, database_url=record)
        await old.start()
        try:
            dedup_key = f"upgrade-{uuid.uuid4().hex[:8]}"
            opened = await _open_on_previous_release(harness, tree, plane, dedup_key)
            await _walk_on_previous_release(harness, opened)
            before = [await harness.state(i) for i in opened.all()]
            assert [(s.phase, s.status) for s in before] == [
                (Phase.TRIAGED, Status.INVESTIGATING),
                (Phase.RESPONDING, Status.IDENTIFIED),
                (Phase.RESPONDING, Status.MONITORING),
                (Phase.POST_INCIDENT, Status.RESOLVED),
            ]
            paging, approval, _, post_incident = before
            # The previous release's 6-character INC IDs: these are its incidents.
            assert all(len(s.human_id) == len("INC-XXXXXX") and s.uid is None for s in before)
            assert "escalation:P0:1" in paging.steps_taken
            assert "escalation:P0:2" not in paging.steps_taken
            assert [a.state for a in approval.containment] == [ActionState.AWAITING_APPROVAL] * 2
            assert approval.roles[Role.INCIDENT_COMMANDER] == "dana"
            scheduled = post_incident.postmortem
            assert scheduled is not None and scheduled.status is PostmortemStatus.SCHEDULED
            sent_by_old = len(wire.log)

            assert old.process is not None
            old_pid = old.process.pid
            assert await old.stop() == 0, (tmp_path / "old-worker.log").read_text()
            # The operator's deploy: `warroom db upgrade` of this release, then its worker.
            assert await upgrade(record) == NEW_MIGRATIONS
            await new.start()  # this release, from the working tree, on the same task queue
            assert new.process is not None
            new_pid = new.process.pid
            try:
                await _carry_to_close(harness, opened, plane)
                for incident in opened.all():
                    result: IncidentState = await asyncio.wait_for(incident.result(), timeout=60)
                    assert result.phase is Phase.CLOSED, f"{result.human_id} is {result.phase}"
            except Exception as stuck:  # a timeout, a refused update: say why
                failed = await _failed_workflow_tasks(harness.client, harness.task_queue)
                raise AssertionError(
                    "an incident of the previous release did not close on this one; "
                    f"{type(stuck).__name__}: {stuck}\nfailed workflow tasks:\n"
                    + "\n".join(failed or ["none"])
                ) from stuck

            # The CTO's step, planned by the old worker, was paged by the new one.
            assert ("escalation:P0:2", "hook") in {
                (d.key, d.channel) for d in wire.log[sent_by_old:] if d.human_id == paging.human_id
            }
            for incident in opened.all():
                workers = [w.split("@")[0] for w in await _task_workers(incident)]
                assert workers == [str(old_pid), str(new_pid)], f"{incident.id}: {workers}"
            await _listed(harness.client, harness.task_queue, opened.all())
            failed = await _failed_workflow_tasks(harness.client, harness.task_queue)
            assert failed == [], "\n".join(failed)
            assert await server_refusals(harness.client, harness.task_queue) == []
            # No page doubled: the channel answered 200 to every request, so a notice of an
            # incident seen twice is a second page, not a retry; nor was any Idempotency-Key
            # sent twice.
            assert {d.status for d in wire.log} == {200}
            accepted = [(d.human_id, d.key, d.channel) for d in wire.log]
            assert sorted(accepted) == sorted(set(accepted)), Counter(accepted).most_common(3)
            keys = [r.headers.get("idempotency-key") for r in harness.receiver.received]
            assert None not in keys and len(keys) == len(set(keys)), Counter(keys).most_common(3)
            await check_incidents(
                harness.client,
                opened.all(),
                task_queue=harness.task_queue,
                policy=policy,
                database_url=record,
                wire=wire,
                control_plane=plane,
            )
        finally:
            await old.stop()
            await new.stop()


async def test_this_release_opens_incidents_on_a_previous_release_worker(
    bare_harness: Harness, previous_release: Path, tmp_path: Path
) -> None:
    """Mid-rollout, this release's hooks and CLI meet workers still on the previous release.

    A rolling deploy has both at once: an incident this release's API opens (the hooks'
    signal-with-start, the CLI's declare) must start on a worker of the previous one.
    """
    harness = bare_harness
    record = await _previous_release_database(harness, previous_release)
    async with reference_control_plane(harness.database_url) as plane:
        old = OldWorker(harness, previous_release, tmp_path / "old-worker.log", plane.url, record)
        await old.start()
        try:
            declared = await declare_incident(
                harness.client,
                Declaration(title="Checkout down", severity=Severity.P1, actor="alice"),
                task_queue=harness.task_queue,
            )
            fired = await send_alerts(
                harness.client,
                _firing(plane),
                dedup_key=f"skew-{uuid.uuid4().hex[:8]}",
                task_queue=harness.task_queue,
            )
            assert fired is not None
            incidents = [declared, fired]

            ended = {
                EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
            }

            async def first_tasks_ended() -> bool:
                # A query would wait on a workflow whose tasks keep failing: read histories.
                for incident in incidents:
                    if not {e.event_type async for e in incident.fetch_history_events()} & ended:
                        return False
                return True

            await eventually(first_tasks_ended, within=30)
            await _listed(harness.client, harness.task_queue, incidents)
            failed = await _failed_workflow_tasks(harness.client, harness.task_queue)
            assert failed == [], "\n".join(failed)
            for incident in incidents:
                await harness.until(incident, lambda s: s.phase is Phase.TRIAGED)
        finally:
            await old.stop()
