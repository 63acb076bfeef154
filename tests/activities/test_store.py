"""The incident record in a real Postgres: migrations, idempotent writes, lifecycle."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import schema
from activities.store import StoreActivities
from dev.ports import free_port
from incident.lifecycle import Incident
from incident.models import (
    Acknowledge,
    AddActionItem,
    AddNote,
    AssignRole,
    Declaration,
    NotificationRecord,
    Phase,
    Postmortem,
    PostmortemStatus,
    Resolve,
    Role,
    SubmitPostmortem,
)
from incident.policy import Policy, load_policy
from incident.records import RecordBatch, pending_batch
from incident.severity import Severity
from starter.api import decide
from starter.postgres import upgrade
from tests.support.checks import VOUCHED
from tests.support.harness import Harness
from tests.support.postgres_proxy import postgres_on
from tests.support.processes import python_m, run

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
    refused = await run(*python_m("worker"), env={"DATABASE_URL": fresh_database, "PATH": ""})
    assert refused.code == 2
    assert "schema is at version 0, this Warroom needs" in refused.out
    assert "warroom db upgrade" in refused.out


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
        incident.apply(
            Resolve(actor="bob", root_cause="disk full", verified=VOUCHED),
            batch.events[-1].at + MIN,
        )
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
    await decide(incident, Resolve(actor="dana", root_cause="disk full", verified=VOUCHED))
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


# --- text Postgres cannot store never wedges an incident ---------------------------

NUL = "\x00"


def _nul_batch(policy: Policy) -> RecordBatch:
    """An incident whose people and alerts typed NUL characters everywhere text goes."""
    t0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    incident, _ = Incident.open(
        human_id=f"INC-{uuid.uuid4().hex[:6].upper()}",
        source="manual",
        dedup_key=None,
        declaration=Declaration(title=f"Checkout{NUL} 5xx", severity=Severity.P1, actor="alice"),
        alerts=[],
        policy=policy,
        now=t0,
    )
    incident.apply(Acknowledge(actor="bob", reason=f"on{NUL}it"), t0 + MIN)
    incident.apply(AddNote(actor="bob", text=f"pasted from a binary log: {NUL}{NUL}"), t0 + 2 * MIN)
    incident.apply(
        AddActionItem(actor="bob", description=f"strip{NUL}NULs", owner="ops", priority="P2"),
        t0 + 3 * MIN,
    )
    batch = pending_batch(incident.state, "wf-nul", (None, None))
    assert batch is not None
    return batch.model_copy(
        update={
            "notifications": [
                NotificationRecord(
                    key="declaration:1",
                    kind="declaration",
                    audience="Primary on-call",
                    channel=f"ops{NUL}",
                    delivered=False,
                    status_code=400,
                    detail=f"bad payload {NUL} at byte 7",
                    at=t0,
                )
            ],
            "postmortem": Postmortem(
                status=PostmortemStatus.DRAFT,
                submitted_at=t0 + 4 * MIN,
                submitted_by="bob",
                summary=f"sum{NUL}mary",
                contributing_factors=[f"{NUL}"],
                lessons=[f"validate{NUL}input", "keep \\u0000 as typed"],
            ),
        }
    )


async def test_nul_characters_are_stored_as_replacement_characters(database_url: str) -> None:
    batch = _nul_batch(load_policy())
    human = batch.row.human_id
    store = StoreActivities(database_url)
    env = ActivityEnvironment()
    try:
        assert await env.run(store.record, batch) == batch.last_seq
        assert await env.run(store.record, batch) == batch.last_seq  # a retry doubles nothing
    finally:
        await store.close()
    conn = await asyncpg.connect(database_url)
    try:
        incident = await conn.fetchrow("SELECT title FROM incidents WHERE human_id = $1", human)
        assert incident["title"] == "Checkout\ufffd 5xx"
        timeline = await conn.fetch(
            "SELECT text, reason FROM timeline WHERE human_id = $1 ORDER BY seq", human
        )
        assert len(timeline) == len(batch.events)
        assert ("on\ufffdit") in [t["reason"] for t in timeline]
        assert "pasted from a binary log: \ufffd\ufffd" in [t["text"] for t in timeline]
        payloads = [
            json.loads(p)
            for p in await conn.fetchval(
                "SELECT array_agg(payload::text) FROM decisions WHERE human_id = $1", human
            )
        ]
        assert {"type": "AddNote", "text": "pasted from a binary log: \ufffd\ufffd"} in payloads
        assert {
            "type": "AddActionItem",
            "description": "strip\ufffdNULs",
            "owner": "ops",
            "priority": "P2",
        } in payloads
        note = await conn.fetchrow(
            "SELECT channel, detail FROM notifications WHERE human_id = $1", human
        )
        assert (note["channel"], note["detail"]) == ("ops\ufffd", "bad payload \ufffd at byte 7")
        pm = await conn.fetchrow(
            "SELECT summary, contributing_factors, lessons FROM postmortems WHERE human_id = $1",
            human,
        )
        assert pm["summary"] == "sum\ufffdmary"
        assert json.loads(pm["contributing_factors"]) == ["\ufffd"]
        # A backslash-u typed by a person is kept as typed: only real NULs are replaced.
        assert json.loads(pm["lessons"]) == ["validate\ufffdinput", "keep \\u0000 as typed"]
        item = await conn.fetchval(
            "SELECT description FROM action_items WHERE human_id = $1", human
        )
        assert item == "strip\ufffdNULs"
        counts = {
            table: await _count(database_url, table, human)
            for table in ("timeline", "decisions", "notifications", "action_items")
        }
        assert counts == {
            "timeline": len(batch.events),
            "decisions": 3,
            "notifications": 1,
            "action_items": 1,
        }
    finally:
        await conn.close()


async def test_a_record_postgres_refuses_is_reported_once_not_retried_forever(
    fresh_database: str,
) -> None:
    # The operator added a rule of their own: no blank owners. A batch breaking it is refused.
    await upgrade(fresh_database)
    conn = await asyncpg.connect(fresh_database)
    await conn.execute("ALTER TABLE action_items ADD CONSTRAINT named CHECK (owner <> 'nobody')")
    await conn.close()
    incident = _lifecycle(load_policy())
    at = incident.state.declared_at + 5 * MIN
    incident.apply(AddActionItem(actor="bob", description="x", owner="nobody", priority="P2"), at)
    batch = pending_batch(incident.state, "wf-refused", (None, None))
    assert batch is not None
    store = StoreActivities(fresh_database)
    try:
        with pytest.raises(ApplicationError) as refused:
            await ActivityEnvironment().run(store.record, batch)
    finally:
        await store.close()
    err = refused.value
    assert (err.type, err.non_retryable) == ("RecordRefused", True)
    assert err.message.startswith(
        f"Postgres refused the action items of {batch.row.human_id} "
        f"(timeline 1-{batch.last_seq}): CheckViolationError: "
    )
    assert "named" in err.message
    assert await _count(fresh_database, "incidents", batch.row.human_id) == 0  # all or nothing


async def test_a_value_out_of_range_is_refused_naming_the_part(database_url: str) -> None:
    batch = _lifecycle(load_policy())
    records = pending_batch(batch.state, "wf-range", (None, None))
    assert records is not None
    events = [*records.events[:-1], records.events[-1].model_copy(update={"seq": 2**31})]
    too_big = records.model_copy(update={"events": events})
    store = StoreActivities(database_url)
    try:
        with pytest.raises(ApplicationError) as refused:
            await ActivityEnvironment().run(store.record, too_big)
    finally:
        await store.close()
    assert (refused.value.type, refused.value.non_retryable) == ("RecordRefused", True)
    assert "refused the timeline of" in refused.value.message
    assert "out of int32 range" in refused.value.message


# --- a worker started while Postgres was away -------------------------------------


async def test_the_first_write_connects_once_postgres_is_there(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    away = f"postgresql://postgres:db-secret-pw@127.0.0.1:{port}/postgres"
    batch = pending_batch(_lifecycle(load_policy()).state, "wf-lazy", (None, None))
    assert batch is not None
    store = StoreActivities(away)
    env = ActivityEnvironment()
    try:
        with pytest.raises(ApplicationError) as down:
            await env.run(store.record, batch)
        assert (down.value.type, down.value.non_retryable) == ("RecordUnavailable", False)
        assert down.value.message == (
            f"Postgres at postgresql://127.0.0.1:{port}/postgres is not reachable: "
            "connection refused"
        )
        assert down.value.__cause__ is None  # nothing more goes into history
        async with postgres_on(port, database_url):
            with caplog.at_level(logging.INFO, logger="warroom"):
                assert await env.run(store.record, batch) == batch.last_seq
        assert await _count(database_url, "timeline", batch.row.human_id) == len(batch.events)
        assert "connected to Postgres at postgresql://127.0.0.1:" in caplog.text
        assert "db-secret-pw" not in caplog.text
    finally:
        await store.close()


async def test_a_schema_found_wrong_on_the_first_write_waits_for_the_upgrade(
    fresh_database: str,
) -> None:
    batch = pending_batch(_lifecycle(load_policy()).state, "wf-schema", (None, None))
    assert batch is not None
    store = StoreActivities(fresh_database)
    env = ActivityEnvironment()
    try:
        with pytest.raises(ApplicationError) as wrong:
            await env.run(store.record, batch)
        assert wrong.value.type == "RecordSchemaMismatch"
        assert not wrong.value.non_retryable  # the record is kept waiting, never dropped
        assert "schema is at version 0" in wrong.value.message
        assert "run `warroom db upgrade`" in wrong.value.message
        await upgrade(fresh_database)  # the operator reads the message and does it
        assert await env.run(store.record, batch) == batch.last_seq
    finally:
        await store.close()
