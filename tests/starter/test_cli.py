"""`warroom` as a real subprocess against a live dev server and worker."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from incident.models import Phase
from tests.support.harness import Harness, eventually
from workflows.incident import IncidentWorkflow

WARROOM = str(Path(sys.executable).parent / "warroom")


async def warroom(
    env: WorkflowEnvironment,
    *args: str,
    task_queue: str = "warroom",
    address: str | None = None,
    database_url: str = "",
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
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
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
