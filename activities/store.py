"""Write the incident record to Postgres: idempotent, so retries and replays never double a row."""

from __future__ import annotations

import json
import logging
import math
import re
from typing import Any

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import schema
from activities.pool import LazyPool
from activities.postmortem_draft import save_draft
from activities.redact import describe, scrub
from incident.bounds import clip
from incident.records import RecordBatch

log = logging.getLogger("warroom.store")

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""What Postgres text cannot hold: NUL, and lone surrogates (not UTF-8 at all)."""
REPLACEMENT = "\ufffd"

UNAVAILABLE = (
    OSError,  # refused, reset, timed out (TimeoutError is an OSError)
    asyncpg.PostgresConnectionError,  # ConnectionDoesNotExistError and the 08 class
    asyncpg.InsufficientResourcesError,  # TooManyConnectionsError, disk full
    asyncpg.OperatorInterventionError,  # CannotConnectNowError, admin or crash shutdown
    asyncpg.TransactionRollbackError,  # serialization failure, deadlock: try again
    asyncpg.InterfaceError,  # "connection is closed" and the like, on our side
)
"""Postgres could not be used just now: retried until it can."""
REFUSED = (
    asyncpg.DataError,  # a value Postgres cannot hold (22xxx)
    asyncpg.IntegrityConstraintViolationError,  # a constraint the row breaks (23xxx)
    ValueError,  # asyncpg refusing a value before sending it (out of range, not encodable)
)
"""The record itself cannot be stored: retrying the same batch can never succeed."""

REFUSAL_BYTES = 2000


def storable(value: Any) -> Any:
    """``value`` with every text Postgres cannot store made storable, recursively.

    NUL and lone surrogates become U+FFFD (in dict keys too); a float that
    JSON cannot hold (NaN, infinity) becomes null, as pydantic writes it.
    """
    if isinstance(value, str):
        return _UNSTORABLE.sub(REPLACEMENT, value)
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json(value: Any) -> str:
    """JSON for a ``::jsonb`` parameter: no ``\\u0000``, which jsonb refuses."""
    return json.dumps(storable(value))


def _text(value: str | None) -> str | None:
    return None if value is None else _UNSTORABLE.sub(REPLACEMENT, value)


CONNECT_TIMEOUT = 10.0
"""Seconds to wait for Postgres to answer a new connection (asyncpg's default is 60)."""


class StoreActivities:
    """Owns the connection pool; built by the worker from ``DATABASE_URL``.

    The pool is opened either up front (``open``: the worker at start, which
    refuses a database whose schema it does not know) or, when Postgres could
    not be reached then, by the first write that finds it reachable.
    """

    def __init__(self, database_url: str, *, connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self._url = database_url
        self._pool = LazyPool(
            database_url,
            min_size=1,
            max_size=8,
            connect_timeout=connect_timeout,
            check=schema.check,
        )

    @property
    def where(self) -> str:
        """The database, as logs may show it: no password."""
        return self._pool.where

    async def open(self) -> None:
        """Connect and refuse a schema this code does not know (``SchemaError``).

        Raises what asyncpg raises when Postgres cannot be reached (see
        ``UNAVAILABLE``); the store is then still usable: the next write tries again.
        """
        await self._pool.get()

    async def _ensure_open(self) -> asyncpg.Pool:
        """The pool, connecting first if the worker started while Postgres was away."""
        if not self._pool.opened:
            try:
                await self.open()
            except schema.SchemaError as err:
                # Retried, not dropped: once someone runs `warroom db upgrade` (or a worker
                # that knows this schema takes the task), the record catches up.
                log.error("incident record not written: Postgres at %s: %s", self.where, err)
                raise ApplicationError(
                    f"Postgres at {self.where}: {err}", type="RecordSchemaMismatch"
                ) from None
            except ValueError as err:
                raise ApplicationError(
                    f"DATABASE_URL is not a usable Postgres URL: "
                    f"{scrub(' '.join(str(err).split()), [self._url])}",
                    type="RecordUnavailable",
                ) from None
            except UNAVAILABLE as err:
                raise ApplicationError(
                    f"Postgres at {self.where} is not reachable: {describe(err)}",
                    type="RecordUnavailable",
                ) from None
            except asyncpg.PostgresError as err:  # a password or database that is wrong, for now
                raise ApplicationError(
                    f"Postgres at {self.where} refuses the connection: {describe(err)}",
                    type="RecordUnavailable",
                ) from None
            log.info("connected to Postgres at %s: the incident record is written", self.where)
        return await self._pool.get()

    async def close(self) -> None:
        """Close the pool."""
        await self._pool.close()

    @activity.defn(name="store.record")
    async def record(self, batch: RecordBatch) -> int:
        """Write one batch in one transaction; returns the last timeline ``seq`` it covers.

        Every insert is keyed by what the workflow fixed (incident, ``seq``,
        notice key and channel) and skips rows already there; the incident row
        only moves forward (a late, older snapshot never overwrites a newer one).

        Text Postgres cannot hold (NUL, lone surrogates) is stored as U+FFFD,
        in plain columns and in JSON alike. Postgres unavailable (down,
        restarting, out of connections) raises and Temporal retries. A batch
        Postgres refuses for what it holds (a value out of range, a broken
        constraint) can never be stored by retrying it: that raises
        ``ApplicationError(type="RecordRefused", non_retryable=True)`` naming
        the incident, the part refused and Postgres's reason, and stores
        nothing of the batch.
        """
        pool = await self._ensure_open()
        clean = RecordBatch.model_validate(storable(batch.model_dump()))
        part = ["incident row"]
        try:
            async with pool.acquire() as conn, conn.transaction():
                await self._write(conn, clean, part)
                if clean.row.resolved_at is not None:
                    # Once resolved, the draft is kept current beside the record it reads.
                    part[0] = "postmortem draft"
                    await save_draft(conn, clean.row.human_id)
        except REFUSED as err:
            raise ApplicationError(
                clip(
                    f"Postgres refused the {part[0]} of {_what(batch)}: {_reason(err)}",
                    REFUSAL_BYTES,
                ),
                type="RecordRefused",
                non_retryable=True,
            ) from None
        except UNAVAILABLE as err:
            raise ApplicationError(
                f"Postgres at {self.where} is not reachable: {describe(err)}",
                type="RecordUnavailable",
            ) from None
        return batch.last_seq

    async def _write(self, conn: asyncpg.Connection, batch: RecordBatch, part: list[str]) -> None:
        """The batch's statements, in order; ``part[0]`` names the one running."""
        row = batch.row
        await conn.execute(
            """
            INSERT INTO incidents (human_id, workflow_id, title, severity, phase, status,
                service, org, source, dedup_key, roles, flags, policy_version, root_cause,
                follows, declared_at, acknowledged_at, mitigated_at, resolved_at, closed_at,
                postmortem_schedule_by, postmortem_complete_by, last_seq, customer_impact,
                impact, checklist)
            VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11::jsonb,$12::jsonb,$13,$14,$15,$16,
                $17,$18,$19,$20,$21,$22,$23,$24,$25::jsonb,$26::jsonb)
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
                last_seq = EXCLUDED.last_seq,
                customer_impact = COALESCE(EXCLUDED.customer_impact, incidents.customer_impact),
                impact = COALESCE(EXCLUDED.impact, incidents.impact),
                checklist = EXCLUDED.checklist
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
            _json(row.roles),
            _json(row.flags),
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
            row.customer_impact,
            None if row.impact is None else _json(row.impact),
            _json(row.checklist),
        )
        part[0] = "timeline"
        await conn.executemany(
            """INSERT INTO timeline (human_id, seq, at, kind, actor, text, reason)
               VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING""",
            [(row.human_id, e.seq, e.at, e.kind, e.actor, e.text, e.reason) for e in batch.events],
        )
        part[0] = "decisions"
        await conn.executemany(
            """INSERT INTO decisions (human_id, seq, at, kind, actor, reason, payload)
               VALUES ($1,$2,$3,$4,$5,$6,$7::jsonb) ON CONFLICT DO NOTHING""",
            [
                (row.human_id, e.seq, e.at, e.kind, e.actor, e.reason, _json(e.decision))
                for e in batch.events
                if e.decision is not None
            ],
        )
        part[0] = "notifications"
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
        part[0] = "postmortem"
        if batch.postmortem is not None:
            pm = batch.postmortem
            await conn.execute(
                """INSERT INTO postmortems (human_id, status, submitted_by, submitted_at,
                       scheduled_for, document_url, summary, contributing_factors, lessons,
                       whys, went_well, to_improve, revenue_impact, reputation_impact, owner)
                   VALUES ($1,$2,$3,$4,$5,$6,$7,$8::jsonb,$9::jsonb,$10::jsonb,$11::jsonb,
                       $12::jsonb,$13,$14,$15)
                   ON CONFLICT (human_id) DO UPDATE SET status = EXCLUDED.status,
                       submitted_by = EXCLUDED.submitted_by,
                       submitted_at = EXCLUDED.submitted_at,
                       scheduled_for = EXCLUDED.scheduled_for,
                       document_url = EXCLUDED.document_url, summary = EXCLUDED.summary,
                       contributing_factors = EXCLUDED.contributing_factors,
                       lessons = EXCLUDED.lessons, whys = EXCLUDED.whys,
                       went_well = EXCLUDED.went_well, to_improve = EXCLUDED.to_improve,
                       revenue_impact = EXCLUDED.revenue_impact,
                       reputation_impact = EXCLUDED.reputation_impact,
                       owner = EXCLUDED.owner
                   WHERE postmortems.submitted_at <= EXCLUDED.submitted_at""",
                row.human_id,
                pm.status.value,
                pm.submitted_by,
                pm.submitted_at,
                pm.scheduled_for,
                pm.document_url,
                pm.summary,
                _json(pm.contributing_factors),
                _json(pm.lessons),
                _json(pm.whys),
                _json(pm.went_well),
                _json(pm.to_improve),
                pm.revenue_impact,
                pm.reputation_impact,
                pm.owner,
            )
        part[0] = "customer updates"
        await conn.executemany(
            """INSERT INTO customer_updates (human_id, seq, at, actor, stage, status, impact,
                   message)
               VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT DO NOTHING""",
            [
                (row.human_id, u.seq, u.at, u.actor, u.stage, u.status, u.impact, u.message)
                for u in batch.customer_updates
            ],
        )
        part[0] = "action items"
        await conn.executemany(
            """INSERT INTO action_items (human_id, id, description, owner, priority,
                   created_at, due, status, completed_at, completed_by, note, changed_seq)
               VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)
               ON CONFLICT (human_id, id) DO UPDATE SET owner = EXCLUDED.owner,
                   status = EXCLUDED.status, completed_at = EXCLUDED.completed_at,
                   completed_by = EXCLUDED.completed_by, note = EXCLUDED.note,
                   changed_seq = EXCLUDED.changed_seq
               WHERE action_items.changed_seq < EXCLUDED.changed_seq""",
            [
                (
                    row.human_id,
                    a.id,
                    a.description,
                    a.owner,
                    a.priority,
                    a.created_at,
                    a.due,
                    a.status.value,
                    a.completed_at,
                    a.completed_by,
                    a.note,
                    a.changed_seq,
                )
                for a in batch.action_items
            ],
        )


def _what(batch: RecordBatch) -> str:
    """``INC-7K3QXD (timeline 4-9, 2 notifications)``: the batch, as a person finds it."""
    parts = []
    if batch.events:
        parts.append(f"timeline {batch.events[0].seq}-{batch.events[-1].seq}")
    if batch.notifications:
        parts.append(f"{len(batch.notifications)} notification(s)")
    return f"{batch.row.human_id} ({', '.join(parts) or 'incident row only'})"


def _reason(err: BaseException) -> str:
    return f"{type(err).__name__}: {' '.join(str(err).split())}"
