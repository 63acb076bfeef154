"""`warroom` as a real subprocess against a live dev server and worker."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from incident.models import Declaration, Phase
from incident.severity import Severity
from starter.api import declare_incident
from starter.cli.main import (
    EXIT_DENIED,
    EXIT_NO_ANSWER,
    _wait_declared,
    describe_rpc_failure,
    run_async,
)
from tests.support.harness import Harness, eventually
from workflows.incident import IncidentWorkflow

WARROOM = str(Path(sys.executable).parent / "warroom")


async def warroom(
    env: WorkflowEnvironment,
    *args: str,
    task_queue: str = "warroom",
    address: str | None = None,
    database_url: str = "",
    within: float = 60,
) -> tuple[int, str, str]:
    """Run the CLI; returns (exit code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        WARROOM,
        *args,
        env={
            **os.environ,
            "TEMPORAL_ADDRESS": address or env.client.service_client.config.target_host,
            "WARROOM_TASK_QUEUE": task_queue,
            "WARROOM_ACTOR": "cli-tester",
            "NO_COLOR": "1",
            "DATABASE_URL": database_url,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=within)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"warroom {' '.join(args)} still running after {within}s") from None
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def ok(harness: Harness, *args: str) -> str:
    code, out, err = await warroom(
        harness.env, *args, task_queue=harness.task_queue, database_url=harness.database_url
    )
    assert code == 0, f"warroom {' '.join(args)} → {code}: {err}"
    return out


async def test_a_whole_incident_driven_from_the_cli(harness: Harness) -> None:
    declared = json.loads(
        await ok(
            harness,
            "--json",
            "declare",
            "Checkout 5xx above 5%",
            "--severity",
            "SEV-2",
            "--service",
            "checkout",
        )
    )
    assert declared["severity"] == "P1" and declared["human_id"].startswith("INC-")
    wid, human = declared["workflow_id"], declared["human_id"]

    async def listed() -> list[dict[str, Any]]:
        code, out, _ = await warroom(
            harness.env,
            "--json",
            "list",
            "--severity",
            "P1",
            "--service",
            "checkout",
            task_queue=harness.task_queue,
        )
        return [r for r in json.loads(out) if r["id"] == human] if code == 0 else []

    rows = await eventually(listed)
    assert rows[0]["phase"] == "triaged"

    await ok(harness, "--as", "bob", "ack", human, "--reason", "paged at 02:13")
    await ok(harness, "--as", "bob", "assign", wid, "commander", "dana")
    await ok(harness, "--as", "dana", "update", wid, "Rolling back v42", "--status", "identified")
    await ok(harness, "--as", "dana", "note", wid, "error rate falling")
    await ok(harness, "--as", "dana", "resolve", wid, "--root-cause", "v42 retry policy")

    handle = harness.client.get_workflow_handle_for(IncidentWorkflow.run, wid)
    await harness.advance(handle, timedelta(minutes=61))  # the monitoring window
    await harness.until(handle, lambda s: s.phase is Phase.POST_INCIDENT)

    shown = json.loads(await ok(harness, "--json", "show", wid))
    assert shown["state"]["roles"] == {"incident_commander": "dana"}
    assert [t["key"] for t in shown["timers"]] == ["postmortem_schedule", "postmortem_complete"]
    text = await ok(harness, "show", wid)
    assert "Pending timers" in text and "UTC" in text and "remind the commander" in text

    await ok(
        harness,
        "--as",
        "dana",
        "action-item",
        wid,
        "Gate canaries on success rate",
        "--owner",
        "devops",
        "--priority",
        "P1",
    )
    receipt = json.loads(
        await ok(
            harness,
            "--json",
            "--as",
            "dana",
            "postmortem",
            "submit",
            wid,
            "--status",
            "final",
            "--summary",
            "retry storm",
        )
    )
    assert receipt["phase"] == "closed"
    final = json.loads(await ok(harness, "--json", "show", wid))
    actors = {e["actor"] for e in final["state"]["timeline"]}
    assert {"cli-tester", "bob", "dana"} <= actors


async def test_exit_codes(harness: Harness) -> None:
    declared = json.loads(
        await ok(harness, "--json", "declare", "Queue depth 5000", "--severity", "P0")
    )
    wid = declared["workflow_id"]
    code, _, err = await warroom(harness.env, "close", wid, task_queue=harness.task_queue)
    assert code == 1 and err.strip() == (
        f"warroom: rejected: {declared['human_id']}: resolve the incident before closing it"
    )
    code, _, err = await warroom(harness.env, "severity", wid, "P1", task_queue=harness.task_queue)
    assert code == 1 and "needs a reason" in err
    code, _, err = await warroom(harness.env, "show", "INC-ZZZZZZ", task_queue=harness.task_queue)
    assert (code, err.strip()) == (3, "warroom: no incident INC-ZZZZZZ")
    code, _, err = await warroom(harness.env, "list", address="127.0.0.1:9")
    assert code == 4 and "cannot reach Temporal at 127.0.0.1:9" in err
    assert "Traceback" not in err
    code, _, err = await warroom(harness.env, "ack")
    assert code == 2 and "Missing argument 'INCIDENT'" in err


async def test_show_of_an_incident_no_worker_answers_for_returns_promptly(
    bare_harness: Harness,
) -> None:
    # Started, but no worker polls its task queue: nothing can answer a query.
    handle = await declare_incident(
        bare_harness.client,
        Declaration(title="Search down", severity=Severity.P1, actor="alice"),
        task_queue=bare_harness.task_queue,
    )
    started = time.monotonic()
    code, out, err = await warroom(
        bare_harness.env, "show", handle.id, task_queue=bare_harness.task_queue, within=45
    )
    assert time.monotonic() - started < 30
    assert code == EXIT_NO_ANSWER, (code, out, err)
    assert f"{handle.id} is open but no worker answered" in err
    assert bare_harness.task_queue in err and "Traceback" not in err


def test_an_authentication_failure_is_named_as_such() -> None:
    unauthenticated = RPCError("Request unauthorized.", RPCStatusCode.UNAUTHENTICATED, b"")
    code, message = describe_rpc_failure(unauthenticated)
    assert code == EXIT_DENIED
    assert "Temporal refused the credentials" in message and "Request unauthorized." in message
    assert "worker" not in message
    denied = RPCError("no access to namespace", RPCStatusCode.PERMISSION_DENIED, b"")
    code, message = describe_rpc_failure(denied)
    assert code == EXIT_DENIED and "Temporal denied permission" in message
    assert describe_rpc_failure(RPCError("gone", RPCStatusCode.UNAVAILABLE, b""))[0] == 4


def test_a_command_failing_on_credentials_says_so_and_exits_denied(
    capsys: pytest.CaptureFixture[str],
) -> None:
    @run_async
    async def command() -> None:
        raise RPCError("Request unauthorized.", RPCStatusCode.UNAUTHENTICATED, b"")

    with pytest.raises(SystemExit) as exited:
        command()
    assert exited.value.code == EXIT_DENIED
    err = capsys.readouterr().err
    assert "Temporal refused the credentials" in err and "worker" not in err


async def test_waiting_for_a_declaration_stops_at_a_permission_failure() -> None:
    class DeniedHandle:
        async def query(self, *args: Any, **kwargs: Any) -> Any:
            raise RPCError("no access to namespace", RPCStatusCode.PERMISSION_DENIED, b"")

    started = time.monotonic()
    with pytest.raises(RPCError) as raised:
        await _wait_declared(DeniedHandle())  # type: ignore[arg-type]
    assert raised.value.status is RPCStatusCode.PERMISSION_DENIED
    assert time.monotonic() - started < 2  # not "is a worker running?" after 10 s
