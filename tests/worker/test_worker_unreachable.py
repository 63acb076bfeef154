"""`python -m worker` with no Temporal to reach: exit 4 and the reason, no traceback."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from dev.ports import free_port


@pytest.mark.slow
async def test_no_temporal_at_the_address_exits_4_saying_so() -> None:
    address = f"127.0.0.1:{free_port()}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "worker",
        env={
            **os.environ,
            "TEMPORAL_ADDRESS": address,
            # Postgres unreachable too: the worker starts anyway, and then finds no Temporal.
            "DATABASE_URL": f"postgresql://warroom:pw@127.0.0.1:{free_port()}/warroom",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    text = output.decode()
    assert process.returncode == 4, text
    assert f"warroom worker: cannot reach Temporal at {address} (connection refused)" in text
    assert "Traceback" not in text
