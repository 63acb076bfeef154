"""`warroom` as a real subprocess against a live dev server and worker."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

import click
import pytest
from temporalio.service import RPCError, RPCStatusCode

from incident.models import Declaration, IncidentState, Phase
from incident.policy import Policy
from incident.severity import Severity
from starter.api import IncidentHandle, declare_incident
from starter.cli import render
from starter.cli.base import EXIT_DENIED, EXIT_NO_ANSWER, describe_rpc_failure, run_async
from starter.cli.incidents import _wait_declared
from starter.cli.main import cli
from tests.support.harness import Harness
from tests.support.wait import eventually
from workflows.incident import IncidentWorkflow


async def test_a_whole_incident_driven_from_the_cli(harness: Harness) -> None:
    declared = json.loads(
        await harness.ok(
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
        done = await harness.warroom("--json", "list", "--severity", "P1", "--service", "checkout")
        return [r for r in json.loads(done.out) if r["id"] == human] if done.code == 0 else []

    rows = await eventually(listed)
    assert rows[0]["phase"] == "triaged"

    await harness.ok("--as", "bob", "ack", human, "--reason", "paged at 02:13")
    await harness.ok("--as", "bob", "assign", wid, "commander", "dana")
    await harness.ok("--as", "dana", "update", wid, "Rolling back v42", "--status", "identified")
    await harness.ok("--as", "dana", "note", wid, "error rate falling")
    await harness.ok(
        "--as", "dana", "resolve", wid, "--root-cause", "v42 retry policy", "--verified", "fix"
    )

    handle: IncidentHandle = harness.client.get_workflow_handle_for(IncidentWorkflow.run, wid)
    await harness.advance(handle, timedelta(minutes=61))  # the monitoring window
    await harness.until(handle, lambda s: s.phase is Phase.POST_INCIDENT)

    shown = json.loads(await harness.ok("--json", "show", wid))
    assert shown["state"]["roles"] == {"incident_commander": "dana"}
    assert [t["key"] for t in shown["timers"]] == ["postmortem_schedule", "postmortem_complete"]
    text = await harness.ok("show", wid)
    assert "Pending timers" in text and "UTC" in text and "remind the commander" in text

    await harness.ok(
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
        await harness.ok(
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
    final = json.loads(await harness.ok("--json", "show", wid))
    actors = {e["actor"] for e in final["state"]["timeline"]}
    assert {"cli-tester", "bob", "dana"} <= actors


async def test_json_and_as_also_work_after_the_command(harness: Harness) -> None:
    handle = await harness.declare(Severity.P1, title="Search latency")
    shown = json.loads(await harness.ok("show", handle.id, "--json"))
    assert shown["state"]["title"] == "Search latency"
    human = shown["state"]["human_id"]
    receipt = json.loads(await harness.ok("ack", human, "--as", "bob", "--json"))
    assert receipt["event"]["actor"] == "bob"
    assert (await harness.state(handle)).acknowledged_by == "bob"


def test_every_command_takes_json_and_as_after_its_name() -> None:
    def leaves(command: click.Command, path: str) -> list[tuple[str, click.Command]]:
        if isinstance(command, click.Group):
            return [
                leaf
                for name, sub in command.commands.items()
                for leaf in leaves(sub, f"{path} {name}")
            ]
        return [(path, command)]

    commands = leaves(cli, "warroom")
    assert len(commands) > 20
    lacking = [
        path
        for path, command in commands
        if not {"--json", "--as"} <= {o for p in command.params for o in p.opts}
    ]
    assert lacking == []


async def test_resolving_says_recovery_is_watched_and_when_it_resolves(
    harness: Harness, policy: Policy
) -> None:
    handle = await harness.declare(Severity.P1, title="Checkout 5xx")
    said = await harness.ok(
        "--as", "dana", "resolve", handle.id, "--root-cause", "v42 retries", "--verified", "fix"
    )
    state = await harness.state(handle)
    [check] = [t for t in await harness.timers(handle) if t.key == "recovery_check"]
    assert state.resolution_declared_at is not None
    assert check.due == state.resolution_declared_at + policy.recovery.quiet_window
    assert said.splitlines()[-1] == (
        f"{state.human_id} monitoring recovery: resolves at {render.when(check.due)} "
        "if no alert fires and the SLO probes hold"
    )
    assert "UTC" in said.splitlines()[-1]


async def test_closing_an_incident_its_final_postmortem_closed_says_so(harness: Harness) -> None:
    handle = await harness.declare(Severity.P1, title="Payments timeouts")
    await harness.ok(
        "--as", "dana", "resolve", handle.id, "--root-cause", "pool exhausted", "--verified", "fix"
    )
    await harness.advance(handle, timedelta(minutes=61))  # the monitoring window
    state = await harness.until(handle, lambda s: s.phase is Phase.POST_INCIDENT)
    human = state.human_id
    await harness.ok("--as", "dana", "postmortem", "submit", human, "--status", "final")
    closed: IncidentState = await asyncio.wait_for(handle.result(), timeout=30)
    assert closed.phase is Phase.CLOSED  # its workflow has completed: it takes no update

    again = await harness.warroom("--as", "dana", "close", human)
    assert again.code == 0, again
    assert again.out.startswith(f"{human} is already closed (closed ")
    assert "postmortem final" in again.out and again.err == ""
    scripted = json.loads(await harness.ok("--as", "dana", "close", handle.id, "--json"))
    assert scripted["already_closed"] is True and scripted["phase"] == "closed"
    # Any other decision is refused for what it is: the incident is closed.
    late = await harness.warroom("--as", "dana", "note", human, "one more thing")
    assert late.code == 1, late
    assert f"{human} is closed (closed " in late.err and "takes no more decisions" in late.err

    async def listed(*args: str) -> list[str]:
        done = await harness.warroom("--json", "list", *args)
        assert done.code == 0, done
        return [row["id"] for row in json.loads(done.out)]

    assert await eventually(lambda: _has(listed("--phase", "closed"), human))
    assert human not in await listed()


async def _has(ids: Coroutine[Any, Any, list[str]], wanted: str) -> bool:
    return wanted in await ids


async def test_exit_codes(harness: Harness) -> None:
    declared = json.loads(
        await harness.ok("--json", "declare", "Queue depth 5000", "--severity", "P0")
    )
    wid = declared["workflow_id"]
    closed = await harness.warroom("close", wid)
    assert closed.code == 1 and closed.err.strip() == (
        f"warroom: rejected: {declared['human_id']}: cannot close yet: it is still "
        "investigating; resolve it with the root cause, then recovery is watched for 1h; "
        "the P0 also needs a final postmortem"
    )
    regraded = await harness.warroom("severity", wid, "P1")
    assert regraded.code == 1 and "needs a reason" in regraded.err
    missing = await harness.warroom("show", "INC-ZZZZZZ")
    assert (missing.code, missing.err.strip()) == (3, "warroom: no incident INC-ZZZZZZ")
    unreachable = await harness.warroom("list", address="127.0.0.1:9")
    assert unreachable.code == 4 and "cannot reach Temporal at 127.0.0.1:9" in unreachable.err
    assert "Traceback" not in unreachable.err
    usage = await harness.warroom("ack")
    assert usage.code == 2 and "Missing argument 'INCIDENT'" in usage.err


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
    shown = await bare_harness.warroom("show", handle.id, within=45)
    assert time.monotonic() - started < 30
    assert shown.code == EXIT_NO_ANSWER, shown
    assert f"{handle.id} is open but no worker answered" in shown.err
    assert bare_harness.task_queue in shown.err and "Traceback" not in shown.err


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
