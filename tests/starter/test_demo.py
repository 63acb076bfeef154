"""`warroom demo` against a stack that cannot play it says what is missing."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import WorkflowQueryFailedError
from temporalio.testing import WorkflowEnvironment

from incident.models import IncidentState
from starter import sample
from starter.cli.base import EXIT_NO_ANSWER
from starter.sample import SAMPLE_TASK_QUEUE, SampleStalled
from tests.support.processes import cli_env, warroom


async def test_demo_without_the_samples_worker_names_its_task_queue(
    env: WorkflowEnvironment,
) -> None:
    code, _, err = await _warroom(env, "demo", within=30)
    assert code == EXIT_NO_ANSWER, err
    assert f"no worker polls task queue {SAMPLE_TASK_QUEUE}" in err
    assert "warroom up" in err
    assert "database" not in err and "Traceback" not in err


class NeverDeclared:
    id = "incident-never-declared"

    async def query(self, *args: Any, **kwargs: Any) -> IncidentState:
        raise WorkflowQueryFailedError("'NoneType' object has no attribute 'state'")


async def test_a_sample_that_does_not_progress_says_what_it_waited_for() -> None:
    with pytest.raises(SampleStalled) as stalled:
        await sample._state_when(
            NeverDeclared(),  # type: ignore[arg-type]
            lambda state: True,
            "the declaration",
            within=0.6,
        )
    message = str(stalled.value)
    assert message.startswith("incident-never-declared: the declaration did not happen within 1 s")
    assert "has no attribute 'state'" in message
    # The sample's own approval grace waits on the same error.
    assert isinstance(stalled.value, TimeoutError)


async def _warroom(
    env: WorkflowEnvironment, *args: str, address: str | None = None, within: float = 60
) -> tuple[int, str, str]:
    done = await warroom(
        *args,
        env=cli_env(address or env.client.service_client.config.target_host),
        within=within,
    )
    return done.code, done.out, done.err
