"""The incident record in a real Postgres: migrations, idempotent writes, lifecycle."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from temporalio.testing import ActivityEnvironment

from activities import schema
from activities.store import StoreActivities
from incident.lifecycle import Incident
from incident.models import (
    Acknowledge,
    AddActionItem,
    AssignRole,
    Declaration,
    Phase,
    PostmortemStatus,
    Resolve,
    Role,
    SubmitPostmortem,
)
from incident.policy import Policy, load_policy
from incident.records import pending_batch
from incident.severity import Severity
from starter.api import decide
from tests.support.harness import Harness

MIN = timedelta(minutes=1)


@pytest.fixture
async def fresh_database(database_url: str) -> AsyncIterator[str]:
    """An empty database of its own on the session's server."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(database_url)
    await admin.execute(f"CREATE DATABASE {name}")
    await admin.close()
    yield database_url.replace("/postgres?", f"/{name}?")


async def test_migrations_from_empty(fresh_database: str) -> None:
    conn = await asyncpg.connect(fresh_database)
    try:
        assert await schema.current_version(conn) == 0
        with pytest.raises(schema.SchemaError, match="run `warroom db upgrade`"):
            await schema.check(conn)
        applied = await schema.upgrade(conn)
        assert applied == [m.name for m in schema.migrations()]
        assert await schema.current_version(conn) == schema.LATEST
        await schema.check(conn)
        assert await schema.upgrade(conn) == []  # idempotent
    finally:
        await conn.close()


async def test_migration_from_the_previous_version_keeps_the_data(fresh_database: str) -> None:
    conn = await asyncpg.connect(fresh_database)
    try:
        await schema.upgrade(conn, target=schema.LATEST - 1)
        await conn.execute(
            "INSERT INTO incidents (human_id, workflow_id, title, severity, phase, status, source,"
            " policy_version, declared_at, last_seq) VALUES ('INC-OLD222', 'w', 'old', 'P1',"
            " 'closed', 'resolved', 'manual', 'v1', now() - interval '2 days', 3)"
        )
        assert await schema.upgrade(conn) == [schema.migrations()[-1].name]
        facts = await conn.fetchrow("SELECT * FROM incident_facts WHERE human_id = 'INC-OLD222'")
        assert facts is not None and facts["severity"] == "P1"
    finally:
        await conn.close()


async def test_a_newer_schema_is_refused(fresh_database: str) -> None:
    conn = await asyncpg.connect(fresh_database)
    try:
        await schema.upgrade(conn)
        await conn.execute("INSERT INTO warroom_schema (version, name) VALUES (99, 'future')")
        with pytest.raises(schema.SchemaError, match="newer than this Warroom knows"):
            await schema.check(conn)
    finally:
        await conn.close()


async def test_the_worker_refuses_a_database_it_does_not_know(fresh_database: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "worker",
        env={"DATABASE_URL": fresh_database, "PATH": ""},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 2
    assert "schema is at version 0, this Warroom needs" in output.decode()
    assert "warroom db upgrade" in output.decode()


def _lifecycle(policy: Policy) -> Incident:
    t0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    incident, _ = Incident.open(
        human_id=f"INC-{uuid.uuid4().hex[:6].upper()}",
        source="manual",
        dedup_key=None,
        declaration=Declaration(title="DB failover", severity=Severity.P1, actor="alice"),
        alerts=[],
        policy=policy,
        now=t0,
    )
    incident.apply(Acknowledge(actor="bob", reason="on it"), t0 + 3 * MIN)
    incident.apply(
        AssignRole(actor="bob", role=Role.INCIDENT_COMMANDER, person="bob"), t0 + 4 * MIN
    )
    return incident


async def _count(url: str, table: str, human_id: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval(f"SELECT count(*) FROM {table} WHERE human_id = $1", human_id)
        )
    finally:
        await conn.close()


async def test_a_retried_write_doubles_nothing(database_url: str) -> None:
    incident = _lifecycle(load_policy())
    batch = pending_batch(incident.state, "wf-1", (None, None))
    assert batch is not None
    store = StoreActivities(database_url)
    await store.open()
    env = ActivityEnvironment()
    try:
        assert await env.run(store.record, batch) == batch.last_seq
        assert await env.run(store.record, batch) == batch.last_seq  # Temporal retried it
        human = incident.state.human_id
        assert await _count(database_url, "timeline", human) == len(batch.events)
        assert await _count(database_url, "decisions", human) == 2
        assert await _count(database_url, "incidents", human) == 1

        # A later snapshot moves the row forward; the stale one, re-sent, cannot move it back.
        incident.mark_recorded(batch, batch.events[-1].at)
        incident.apply(Resolve(actor="bob", root_cause="disk full"), batch.events[-1].at + MIN)
        later = pending_batch(incident.state, "wf-1", (None, None))
        assert later is not None
        await env.run(store.record, later)
        await env.run(store.record, batch)
        conn = await asyncpg.connect(database_url)
        row = await conn.fetchrow(
            "SELECT status, root_cause, last_seq FROM incidents WHERE human_id = $1", human
        )
        await conn.close()
        assert (row["status"], row["root_cause"]) == ("monitoring", "disk full")
    finally:
        await store.close()


async def _stored_timeline(url: str, human_id: str) -> list[tuple[int, str, str]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT seq, kind, text FROM timeline WHERE human_id = $1 ORDER BY seq", human_id
        )
        return [(r["seq"], r["kind"], r["text"]) for r in rows]
    finally:
        await conn.close()


async def test_a_full_lifecycle_is_projected(harness: Harness) -> None:
    incident = await harness.declare(Severity.P1, commander="dana")
    await decide(incident, Acknowledge(actor="dana", reason="paged"))
    await decide(
        incident,
        AddActionItem(actor="dana", description="alert on disk", owner="ops", priority="P1"),
    )
    await decide(incident, Resolve(actor="dana", root_cause="disk full"))
    await harness.advance(incident, 61 * MIN)
    await harness.until(incident, lambda s: s.phase is Phase.POST_INCIDENT)
    await decide(
        incident,
        SubmitPostmortem(
            actor="dana", status=PostmortemStatus.FINAL, summary="disk filled by logs"
        ),
    )
    final = await incident.result()
    assert final.recorded_seq == final.timeline_seq  # it closed only once the store had it all

    url = harness.database_url
    stored = await _stored_timeline(url, final.human_id)
    assert stored == [(e.seq, e.kind, e.text) for e in final.timeline]
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow("SELECT * FROM incidents WHERE human_id = $1", final.human_id)
        assert (row["phase"], row["severity"], row["root_cause"]) == ("closed", "P1", "disk full")
        assert row["acknowledged_at"] == final.acknowledged_at
        assert row["closed_at"] == final.closed_at
        decisions = await conn.fetch(
            "SELECT kind, actor, reason, payload FROM decisions WHERE human_id = $1 ORDER BY seq",
            final.human_id,
        )
        assert [d["kind"] for d in decisions] == [
            "acknowledged",
            "action_item",
            "resolution_declared",
            "postmortem",
        ]
        assert decisions[0]["reason"] == "paged"
        notices = await conn.fetchval(
            "SELECT count(*) FROM notifications WHERE human_id = $1 AND delivered", final.human_id
        )
        assert notices >= 3  # declaration, page, resolution
        pm = await conn.fetchrow(
            "SELECT status, summary FROM postmortems WHERE human_id = $1", final.human_id
        )
        assert (pm["status"], pm["summary"]) == ("final", "disk filled by logs")
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM action_items WHERE human_id = $1", final.human_id
            )
            == 1
        )
    finally:
        await conn.close()
