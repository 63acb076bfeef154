"""`python -m worker` as a real process: it serves incidents and stops cleanly."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import signal
import sys
import uuid
from pathlib import Path

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.testing import WorkflowEnvironment

from incident.models import Declaration
from incident.severity import Severity
from starter.api import declare_incident
from starter.receiver import HttpReceiver
from tests.support.harness import eventually
from worker.run import compile_workflow_modules, ensure_search_attributes
from workflows import search_attributes


async def _spawn(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "worker",
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def test_worker_process_pages_and_stops_on_sigterm(
    env: WorkflowEnvironment, receiver: HttpReceiver, database_url: str
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
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, output.decode()
    assert f"task queue {task_queue}" in output.decode()


async def test_bad_settings_exit_with_a_clear_message() -> None:
    process = await _spawn({"WARROOM_CHANNELS": "[{", "WARROOM_POLICY": ""})
    output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert output.decode().strip().startswith("warroom worker: WARROOM_CHANNELS: not valid JSON")


async def test_bad_policy_exits_naming_file_and_field(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nseverities: {}\n")
    process = await _spawn({"WARROOM_POLICY": str(policy)})
    output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    text = output.decode()
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
