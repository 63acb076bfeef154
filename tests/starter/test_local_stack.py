"""`warroom up`: the embedded default starts, answers, and stops cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import signal
import socket
from pathlib import Path

import httpx
import pytest

from dev.ports import free_port
from starter.devserver import port_in_use
from starter.sample import sample_directory_file
from tests.support.processes import finish, python_m, read_until, start, stop, warroom

pytestmark = pytest.mark.slow  # every test starts `warroom up`


async def _start(
    data_dir: Path,
    port: int,
    ui_port: int,
    hooks_port: int = 0,
    hooks_host: str = "127.0.0.1",
    *more: str,
) -> asyncio.subprocess.Process:
    return await start(
        *python_m("starter.local"),
        "--no-sample",
        *more,
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        env={
            # The developer's own hook credentials would change what `warroom up` does.
            **{k: v for k, v in os.environ.items() if not k.startswith("WARROOM_HOOKS_")},
            "WARROOM_CHANNELS": "",
            "WARROOM_HOOKS_ADDR": f"{hooks_host}:{hooks_port or free_port()}",
        },
    )


async def test_stack_starts_prints_where_things_are_and_stops(tmp_path: Path) -> None:
    port, ui_port, hooks_port = free_port(), free_port(), free_port()
    process = await _start(tmp_path, port, ui_port, hooks_port)
    try:
        banner = await read_until(process, "-d '")
        assert f"http://127.0.0.1:{ui_port}" in banner
        assert f"127.0.0.1:{port}" in banner and str(tmp_path) in banner
        assert f"http://127.0.0.1:{hooks_port}/hooks/alertmanager" in banner
        # No credentials configured: the stack made a token and says how to use it.
        token = re.search(r"Authorization: Bearer ([\w-]+)", banner)
        assert token is not None, banner
        curl = banner[banner.index("curl -X POST") :]
        assert f"Authorization: Bearer {token.group(1)}" in curl
        hooks = f"http://127.0.0.1:{hooks_port}/hooks/generic"
        alert = {"alerts": [{"dedup_key": "up-token", "name": "UpToken", "severity": "P3"}]}
        async with httpx.AsyncClient() as http:
            page = await http.get(f"http://127.0.0.1:{ui_port}/")
            ready = await http.get(f"http://127.0.0.1:{hooks_port}/readyz")
            anonymous = await http.post(hooks, json=alert)
            authorized = await http.post(
                hooks, json=alert, headers={"Authorization": f"Bearer {token.group(1)}"}
            )
        assert page.status_code == 200
        assert ready.json() == {"status": "ready"}
        assert anonymous.status_code == 401
        assert authorized.status_code == 202, authorized.text
        # The CLI run here reads who is on call from the directory the stack pages.
        paged = Path(os.environ.get("WARROOM_DIRECTORY") or sample_directory_file()).resolve()
        assert (tmp_path / "directory_path").read_text() == str(paged)
        here = {**os.environ, "WARROOM_HOME": str(tmp_path), "WARROOM_DIRECTORY": ""}
        checked = await warroom("directory", "check", env=here)
        assert checked.code == 0 and checked.out.startswith(f"ok: {paged} "), checked.err
    finally:
        stopped = await stop(process, sig=signal.SIGINT, within=60)
    assert stopped.code == 0, stopped.out
    assert (tmp_path / "temporal.db").exists()
    assert not port_in_use("127.0.0.1", port), "the dev server was left running"


async def test_hooks_on_the_network_without_credentials_are_refused(tmp_path: Path) -> None:
    process = await _start(tmp_path, free_port(), free_port(), hooks_host="0.0.0.0")
    refused = await finish(process)
    assert refused.code == 1
    assert "would listen on 0.0.0.0 with no credentials" in refused.out
    assert "WARROOM_HOOKS_OPEN=1" in refused.out
    assert not (tmp_path / "temporal.db").exists()


async def test_a_taken_port_is_a_clear_error_and_starts_nothing(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        refused = await finish(await _start(tmp_path, taken, free_port()))
    assert refused.code == 1
    assert f"port {taken} (Temporal gRPC) is already in use" in refused.out
    assert not (tmp_path / "temporal.db").exists()


async def test_open_incidents_survive_a_restart(tmp_path: Path) -> None:
    port, ui_port = free_port(), free_port()
    env = {**os.environ, "TEMPORAL_ADDRESS": f"127.0.0.1:{port}", "WARROOM_ACTOR": "alice"}

    async def cli(*args: str) -> str:
        done = await warroom("--json", *args, env=env)
        assert done.code == 0, done.err
        return done.out

    async def interrupt(process: asyncio.subprocess.Process) -> None:
        stopped = await stop(process, sig=signal.SIGINT, within=60)
        assert stopped.code == 0, stopped.out

    first = await _start(tmp_path, port, ui_port)
    banner = await read_until(first, "Alert hooks: ready")
    assert "✓ Worker (warroom): 1 poller(s)" in banner
    declared = json.loads(await cli("declare", "Search down", "--severity", "P1"))
    await cli("ack", declared["workflow_id"])
    await interrupt(first)

    second = await _start(tmp_path, port, ui_port)
    try:
        await read_until(second, "Alert hooks: ready")
        shown = json.loads(await cli("show", declared["workflow_id"]))
        assert shown["state"]["human_id"] == declared["human_id"]
        assert shown["state"]["acknowledged_by"] == "alice"
        assert any(t["key"] == "escalation:P1:2" for t in shown["timers"])  # still planned
    finally:
        await interrupt(second)


README = Path(__file__).parents[2] / "README.md"
PLACEHOLDER = "INC-7K3QX-D2MPA"


def _walk_through() -> list[str]:
    """The README's walk-through from declare to close, one command a line."""
    text = README.read_text()
    start = text.index("**A walk-through, declare to close.**")
    block = text[text.index("```bash\n", start) + len("```bash\n") :]
    return block[: block.index("```")].splitlines()


async def test_the_readme_walk_through_works_as_written_on_a_compressed_stack(
    tmp_path: Path,
) -> None:
    up, *commands = [shlex.split(line, comments=True) for line in _walk_through()]
    assert up == ["warroom", "up", "--compressed"]
    port = free_port()
    env = {**os.environ, "TEMPORAL_ADDRESS": f"127.0.0.1:{port}", "WARROOM_ACTOR": "alice"}
    process = await _start(tmp_path, port, free_port(), 0, "127.0.0.1", "--compressed")
    try:
        banner = await read_until(process, "Alert hooks: ready")
        assert "policy compressed x60: a minute of policy is a second" in banner
        human = ""
        closes = []
        for argv in commands:
            assert argv[0] == "warroom", argv
            done = await warroom(*(a.replace(PLACEHOLDER, human) for a in argv[1:]), env=env)
            if argv[1] == "declare":
                human = done.out.split()[0]
                assert human.startswith("INC-") and human != PLACEHOLDER, done
            if "close" in argv:
                closes.append(done)
                continue
            assert done.code == 0, (argv, done)
        refused, closed = closes
        # After close, the action item went to the incident's follow-up, and show sees it.
        shown = done.out
        assert argv[1] == "show" and "alert on retry storms" in shown, done
        assert "remind bob: action item #1 is due soon" in shown, shown
        # Before the quiet window: why not, until when, and what else it needs.
        assert refused.code == 1, refused
        assert f"rejected: {human}: cannot close yet: recovery is being watched until " in (
            refused.err
        )
        assert "UTC (in " in refused.err and "the P1 also needs a final postmortem" in refused.err
        assert closed.code == 0, closed
        assert closed.out.startswith(f"{human} is already closed"), closed
    finally:
        stopped = await stop(process, sig=signal.SIGINT, within=60)
    assert stopped.code == 0, stopped.out
