"""`python -m worker` as a real process: it serves incidents and stops cleanly."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.testing import WorkflowEnvironment

from dev.ports import free_port
from incident import search_attributes
from incident.models import Declaration, IncidentState
from incident.severity import Severity
from starter.api import declare_incident
from tests.support.postgres_proxy import postgres_on
from tests.support.processes import finish, python_m, start, stop
from tests.support.receiver import RecordingReceiver
from tests.support.wait import eventually
from worker.run import compile_workflow_modules, ensure_search_attributes
from workflows.incident import IncidentWorkflow


async def _spawn(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await start(*python_m("worker"), env={**os.environ, **env})


async def test_worker_process_pages_and_stops_on_sigterm(
    env: WorkflowEnvironment, receiver: RecordingReceiver, database_url: str
) -> None:
    task_queue = f"warroom-proc-{uuid.uuid4().hex[:8]}"
    config = env.client.service_client.config
    channels = [{"name": "sink", "kind": "webhook", "url": f"{receiver.url}/hook"}]
    process = await _spawn(
        {
            "TEMPORAL_ADDRESS": config.target_host,
            "WARROOM_TASK_QUEUE": task_queue,
            "WARROOM_CHANNELS": json.dumps(channels),
            "DATABASE_URL": database_url,
        }
    )
    try:
        await declare_incident(
            env.client,
            Declaration(title="Queue depth above 5000", severity=Severity.P1, actor="alice"),
            task_queue=task_queue,
        )
        await eventually(
            lambda: (
                [b["audience"] for b in receiver.bodies() if b["kind"] == "escalation"]
                == ["Primary on-call"]
            )
        )
    finally:
        stopped = await stop(process)
    assert stopped.code == 0, stopped.out
    assert f"task queue {task_queue}" in stopped.out


@pytest.mark.slow
async def test_bad_settings_exit_with_a_clear_message() -> None:
    refused = await finish(await _spawn({"WARROOM_CHANNELS": "[{", "WARROOM_POLICY": ""}))
    assert refused.code == 2
    assert refused.out.strip().startswith("warroom worker: WARROOM_CHANNELS: not valid JSON")


@pytest.mark.slow
async def test_bad_policy_exits_naming_file_and_field(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nseverities: {}\n")
    refused = await finish(await _spawn({"WARROOM_POLICY": str(policy)}))
    assert refused.code == 2
    text = refused.out
    assert f"{policy}: invalid policy" in text and "communication" in text


async def test_worker_registers_missing_search_attributes(env: WorkflowEnvironment) -> None:
    namespace = f"fresh-{uuid.uuid4().hex[:6]}"
    await env.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400)
        )
    )
    client = await env.connect_client(namespace=namespace)
    # Polled: a namespace just registered takes a moment to be served.
    added = await eventually(lambda: ensure_search_attributes(client))
    assert added == sorted(key.name for key in search_attributes.ALL)
    assert await ensure_search_attributes(client) == []


def test_the_workflow_modules_get_bytecode_even_when_python_writes_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sandbox re-imports the workflow modules for every incident a worker loads;
    # with bytecode on disk that is a read, not a compile of the source.
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    (tmp_path / "incident.py").write_text("VALUE = 1\n")
    compile_workflow_modules(tmp_path)
    assert Path(importlib.util.cache_from_source(str(tmp_path / "incident.py"))).is_file()


async def _recorded(database_url: str, human_id: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM timeline WHERE human_id = $1", human_id)
        )
    finally:
        await conn.close()


async def test_the_worker_pages_while_postgres_is_down_and_records_once_it_is_back(
    env: WorkflowEnvironment, receiver: RecordingReceiver, database_url: str
) -> None:
    task_queue = f"warroom-proc-{uuid.uuid4().hex[:8]}"
    config = env.client.service_client.config
    port = free_port()  # nothing listens there yet: Postgres is "down"
    down = f"postgresql://postgres:db-secret-pw@127.0.0.1:{port}/postgres"
    channels = [{"name": "sink", "kind": "webhook", "url": f"{receiver.url}/hook"}]
    process = await _spawn(
        {
            "TEMPORAL_ADDRESS": config.target_host,
            "WARROOM_TASK_QUEUE": task_queue,
            "WARROOM_CHANNELS": json.dumps(channels),
            "DATABASE_URL": down,
        }
    )
    try:
        incident = await declare_incident(
            env.client,
            Declaration(title="Queue depth above 5000", severity=Severity.P1, actor="alice"),
            task_queue=task_queue,
        )
        # Postgres is down, the worker runs anyway: the on-call engineer is paged.
        await eventually(
            lambda: (
                [b["audience"] for b in receiver.bodies() if b["kind"] == "escalation"]
                == ["Primary on-call"]
            )
        )
        state: IncidentState = await incident.query(IncidentWorkflow.state)
        assert state.recorded_seq < state.timeline_seq
        # Postgres comes back: the record catches up on its own.
        async with postgres_on(port, database_url):

            async def caught_up() -> bool:
                s: IncidentState = await incident.query(IncidentWorkflow.state)
                return s.recorded_seq == s.timeline_seq

            await eventually(caught_up, within=40)
            assert await _recorded(database_url, state.human_id) >= state.timeline_seq
    finally:
        stopped = await stop(process)
    text = stopped.out
    assert stopped.code == 0, text
    assert f"task queue {task_queue}" in text
    assert f"Postgres at postgresql://127.0.0.1:{port}/postgres is not reachable" in text
    assert "db-secret-pw" not in text


async def test_the_worker_logs_no_credential_of_its_channels(
    env: WorkflowEnvironment, receiver: RecordingReceiver, database_url: str
) -> None:
    task_queue = f"warroom-proc-{uuid.uuid4().hex[:8]}"
    config = env.client.service_client.config
    host = receiver.url.removeprefix("http://")
    secret_url = (
        f"http://hook-user:hook-pass-77@{host}/services/T000/B000/XXXXsecret?token=tok-abc1"
    )
    channels = [{"name": "slack", "kind": "webhook", "url": secret_url}]
    process = await _spawn(
        {
            "TEMPORAL_ADDRESS": config.target_host,
            "WARROOM_TASK_QUEUE": task_queue,
            "WARROOM_CHANNELS": json.dumps(channels),
            "WARROOM_PROMETHEUS_URL": f"http://prom-user:prom-pass-88@{host}/prom",
            "WARROOM_CONTROL_PLANE_URL": f"http://cp-user:cp-pass-99@{host}/cp",
            "DATABASE_URL": database_url,
        }
    )
    try:
        await declare_incident(
            env.client,
            Declaration(title="Queue depth above 5000", severity=Severity.P1, actor="alice"),
            task_queue=task_queue,
        )
        await eventually(lambda: any(b["kind"] == "escalation" for b in receiver.bodies()))
    finally:
        stopped = await stop(process)
    text = stopped.out
    assert stopped.code == 0, text
    for secret in ("hook-pass-77", "XXXXsecret", "tok-abc1", "prom-pass-88", "cp-pass-99"):
        assert secret not in text


@pytest.mark.slow
async def test_a_database_url_that_is_not_one_is_refused_without_its_password() -> None:
    process = await _spawn({"DATABASE_URL": "postgresql://warroom:db-secret-pw@db:notaport/x"})
    refused = await finish(process)
    assert refused.code == 2
    assert refused.out.startswith("warroom worker: DATABASE_URL: not a usable Postgres URL")
    assert "db-secret-pw" not in refused.out
