"""Write the incident record to Postgres: idempotent, so retries and replays never double a row."""

from __future__ import annotations

import json

import asyncpg
from temporalio import activity

from activities import schema
from incident.records import RecordBatch


class StoreActivities:
    """Owns the connection pool; built by the worker from ``DATABASE_URL``."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        """Connect and refuse a schema this code does not know."""
        self._pool = await asyncpg.create_pool(self._url, min_size=1, max_size=8)
        async with self._pool.acquire() as conn:
            await schema.check(conn)

    async def close(self) -> None:
        """Close the pool."""
        if self._pool is not None:
            await self._pool.close()

    @activity.defn(name="store.record")
    async def record(self, batch: RecordBatch) -> int:
        """Write one batch in one transaction; returns the last timeline ``seq`` it covers.

        Every insert is keyed by what the workflow fixed (incident, ``seq``,
        notice key and channel) and skips rows already there; the incident row
        only moves forward (a late, older snapshot never overwrites a newer one).
        """
        if self._pool is None:
            await self.open()
        assert self._pool is not None
        row = batch.row
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """
                INSERT INTO incidents (human_id, workflow_id, title, severity, phase, status,
                    service, org, source, dedup_key, roles, flags, policy_version, root_cause,
                    follows, declared_at, acknowledged_at, mitigated_at, resolved_at, closed_at,
                    postmortem_schedule_by, postmortem_complete_by, last_seq)
                VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11::jsonb,$12::jsonb,$13,$14,$15,$16,
                    $17,$18,$19,$20,$21,$22,$23)
                ON CONFLICT (human_id) DO UPDATE SET
                    title = EXCLUDED.title, severity = EXCLUDED.severity,
                    phase = EXCLUDED.phase, status = EXCLUDED.status,
                    service = EXCLUDED.service, org = EXCLUDED.org, roles = EXCLUDED.roles,
                    flags = EXCLUDED.flags, root_cause = EXCLUDED.root_cause,
                    follows = EXCLUDED.follows, acknowledged_at = EXCLUDED.acknowledged_at,
                    mitigated_at = EXCLUDED.mitigated_at, resolved_at = EXCLUDED.resolved_at,
                    closed_at = EXCLUDED.closed_at,
                    postmortem_schedule_by = EXCLUDED.postmortem_schedule_by,
                    postmortem_complete_by = EXCLUDED.postmortem_complete_by,
                    last_seq = EXCLUDED.last_seq
                WHERE incidents.last_seq <= EXCLUDED.last_seq
                """,
                row.human_id,
                row.workflow_id,
                row.title,
                row.severity,
                row.phase,
                row.status,
                row.service,
                row.org,
                row.source,
                row.dedup_key,
                json.dumps(row.roles),
                json.dumps(row.flags),
                row.policy_version,
                row.root_cause,
                row.follows,
                row.declared_at,
                row.acknowledged_at,
                row.mitigated_at,
                row.resolved_at,
                row.closed_at,
                row.postmortem_schedule_by,
                row.postmortem_complete_by,
                row.last_seq,
            )
            await conn.executemany(
                """INSERT INTO timeline (human_id, seq, at, kind, actor, text, reason)
                   VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING""",
                [
                    (row.human_id, e.seq, e.at, e.kind, e.actor, e.text, e.reason)
                    for e in batch.events
                ],
            )
            await conn.executemany(
                """INSERT INTO decisions (human_id, seq, at, kind, actor, reason, payload)
                   VALUES ($1,$2,$3,$4,$5,$6,$7::jsonb) ON CONFLICT DO NOTHING""",
                [
                    (row.human_id, e.seq, e.at, e.kind, e.actor, e.reason, json.dumps(e.decision))
                    for e in batch.events
                    if e.decision is not None
                ],
            )
            await conn.executemany(
                """INSERT INTO notifications (human_id, key, channel, kind, audience, delivered,
                       status_code, detail, at)
                   VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT DO NOTHING""",
                [
                    (
                        row.human_id,
                        n.key,
                        n.channel,
                        n.kind,
                        n.audience,
                        n.delivered,
                        n.status_code,
                        n.detail,
                        n.at,
                    )
                    for n in batch.notifications
                ],
            )
            if batch.postmortem is not None:
                pm = batch.postmortem
                await conn.execute(
                    """INSERT INTO postmortems (human_id, status, submitted_by, submitted_at,
                           scheduled_for, document_url, summary, contributing_factors, lessons)
                       VALUES ($1,$2,$3,$4,$5,$6,$7,$8::jsonb,$9::jsonb)
                       ON CONFLICT (human_id) DO UPDATE SET status = EXCLUDED.status,
                           submitted_by = EXCLUDED.submitted_by,
                           submitted_at = EXCLUDED.submitted_at,
                           scheduled_for = EXCLUDED.scheduled_for,
                           document_url = EXCLUDED.document_url, summary = EXCLUDED.summary,
                           contributing_factors = EXCLUDED.contributing_factors,
                           lessons = EXCLUDED.lessons
                       WHERE postmortems.submitted_at <= EXCLUDED.submitted_at""",
                    row.human_id,
                    pm.status.value,
                    pm.submitted_by,
                    pm.submitted_at,
                    pm.scheduled_for,
                    pm.document_url,
                    pm.summary,
                    json.dumps(pm.contributing_factors),
                    json.dumps(pm.lessons),
                )
            await conn.executemany(
                """INSERT INTO action_items (human_id, id, description, owner, priority,
                       created_at, due)
                   VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING""",
                [
                    (row.human_id, a.id, a.description, a.owner, a.priority, a.created_at, a.due)
                    for a in batch.action_items
                ],
            )
        return batch.last_seq
