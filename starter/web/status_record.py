"""What the public status page reads of the incident record, and the cache in front of it.

Only Postgres, never Temporal: customer traffic cannot reach the server. Only
the columns customers may see are selected — the service, when an incident
started and ended, how the service looks, and the customer updates — never a
title, the timeline, a note or who wrote an update. Reads go through a short
in-process cache (``StatusCache``), so however many customers reload the page,
Postgres answers at most one query batch per ``fresh_for`` seconds per process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from activities.pool import LazyPool
from activities.redact import describe
from activities.store import UNAVAILABLE
from incident.impact import ComponentImpact
from incident.models import Phase, Status

log = logging.getLogger("warroom.web.status")

HISTORY = timedelta(days=14)
"""How far back the page's history goes."""
HISTORY_LIMIT = 50
"""At most this many past incidents are shown."""
FRESH_FOR = 15.0
"""Seconds a read of the record is served before Postgres is asked again."""
RETRY_AFTER = 5.0
"""Seconds after a failed read before Postgres is tried again (the last page is served)."""
CONNECT_TIMEOUT = 3.0
QUERY_TIMEOUT = 5.0
_OPEN = [p.value for p in Phase if p.is_open]


class StatusUnavailable(RuntimeError):
    """The record cannot be read and no earlier read is kept: the page answers 503."""


@dataclass(frozen=True)
class PublicUpdate:
    """One update customers were given."""

    seq: int
    at: datetime
    status: Status
    impact: ComponentImpact
    message: str


@dataclass(frozen=True)
class PublicIncident:
    """An incident as customers see it: its service, when, how bad, and what they were told."""

    id: str
    """The INC ID: a reference customers can quote, never the internal title."""
    service: str | None
    started_at: datetime
    resolved_at: datetime | None
    impact_now: ComponentImpact
    """How its service looks now (operational once resolved)."""
    updates: tuple[PublicUpdate, ...] = ()
    """Oldest first."""

    @property
    def open(self) -> bool:
        """Not resolved yet."""
        return self.resolved_at is None

    @property
    def impact(self) -> ComponentImpact:
        """The worst it was: what the incident is named after."""
        seen = [self.impact_now, *(u.impact for u in self.updates)]
        return max(seen, key=lambda i: i.rank)

    @property
    def status(self) -> Status:
        """Where it stands, as the last update said (``investigating`` before any)."""
        if not self.open:
            return Status.RESOLVED
        return self.updates[-1].status if self.updates else Status.INVESTIGATING

    @property
    def updated_at(self) -> datetime:
        """When it last changed for customers."""
        moments = [self.started_at, *(u.at for u in self.updates)]
        if self.resolved_at is not None:
            moments.append(self.resolved_at)
        return max(moments)

    @property
    def affects(self) -> str:
        """The service it affects, in words (``checkout``, or ``our service``)."""
        return self.service or "our service"

    @property
    def name(self) -> str:
        """``Partial outage of checkout``: made from what customers may know, never the title."""
        impact = self.impact
        if impact is ComponentImpact.OPERATIONAL:
            return f"Problem affecting {self.affects}"
        return f"{impact.words.capitalize()} of {self.affects}"


@dataclass(frozen=True)
class Component:
    """A service as a status page component."""

    name: str
    status: ComponentImpact
    updated_at: datetime | None = None
    """When an open incident last changed it (None: operational, nothing open)."""


@dataclass(frozen=True)
class StatusSnapshot:
    """One read of the record: every component, the active incidents, the recent past."""

    read_at: datetime
    components: tuple[Component, ...]
    active: tuple[PublicIncident, ...]
    """Newest first."""
    history: tuple[PublicIncident, ...]
    """Resolved within ``HISTORY``, newest first."""
    unlisted: tuple[PublicIncident, ...] = ()
    """Open incidents with no service, shown among the active ones but with no component."""

    @property
    def worst(self) -> ComponentImpact:
        """The worst state of any component (or of an active incident naming none)."""
        seen = [c.status for c in self.components] + [i.impact_now for i in self.active]
        return max(seen, key=lambda i: i.rank, default=ComponentImpact.OPERATIONAL)


def shown(incident: PublicIncident) -> bool:
    """Whether customers see an open incident: it affects its service, or they were told."""
    return incident.impact_now is not ComponentImpact.OPERATIONAL or bool(incident.updates)


def snapshot(
    read_at: datetime,
    open_incidents: Sequence[PublicIncident],
    history: Sequence[PublicIncident],
    services: Sequence[str],
) -> StatusSnapshot:
    """The page's state from what was read: each service shows its worst open incident."""
    active = sorted((i for i in open_incidents if shown(i)), key=lambda i: i.started_at)[::-1]
    names = sorted({*services, *(i.service for i in active if i.service)}, key=str.lower)
    components = []
    for name in names:
        mine = [i for i in active if i.service == name]
        worst = max(
            (i.impact_now for i in mine), key=lambda i: i.rank, default=ComponentImpact.OPERATIONAL
        )
        changed = max((i.updated_at for i in mine), default=None)
        components.append(Component(name=name, status=worst, updated_at=changed))
    return StatusSnapshot(
        read_at=read_at,
        components=tuple(components),
        active=tuple(active),
        history=tuple(history),
    )


class StatusRecord:
    """Reads the status page's facts from the incident record, on a small pool of its own."""

    def __init__(
        self,
        database_url: str,
        *,
        services: Sequence[str] = (),
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self._url = database_url
        self._services = tuple(services)
        """Services the directory names: shown even when they never had an incident."""
        self._pool = LazyPool(database_url, max_size=2, connect_timeout=connect_timeout)

    @property
    def where(self) -> str:
        """The database, as logs may show it: no password."""
        return self._pool.where

    async def close(self) -> None:
        """Close the pool, if it was opened."""
        await self._pool.close()

    async def read(self) -> StatusSnapshot:
        """The page's facts now; StatusUnavailable (the reason logged, not shown) when Postgres
        cannot answer."""
        try:
            pool = await self._pool.get()
            async with pool.acquire(timeout=QUERY_TIMEOUT) as conn:
                return await self._read(conn)
        except (*UNAVAILABLE, asyncpg.PostgresError, TimeoutError) as err:
            reason = describe(err, [self._url])
            if isinstance(err, asyncpg.UndefinedTableError | asyncpg.UndefinedColumnError):
                reason = f"{reason} (run `warroom db upgrade`)"
            log.warning("status page: cannot read the record at %s: %s", self.where, reason)
            raise StatusUnavailable(reason) from None

    async def _read(self, conn: asyncpg.Connection) -> StatusSnapshot:
        now = datetime.now(UTC)
        columns = "human_id, service, declared_at, resolved_at, customer_impact"
        opened = await conn.fetch(
            f"SELECT {columns} FROM incidents WHERE phase = ANY($1::text[])",
            _OPEN,
            timeout=QUERY_TIMEOUT,
        )
        past = await conn.fetch(
            f"""SELECT {columns} FROM incidents i
                WHERE NOT (phase = ANY($1::text[])) AND resolved_at >= $2
                  AND EXISTS (SELECT 1 FROM customer_updates u WHERE u.human_id = i.human_id)
                ORDER BY resolved_at DESC LIMIT $3""",
            _OPEN,
            now - HISTORY,
            HISTORY_LIMIT,
            timeout=QUERY_TIMEOUT,
        )
        ids = [r["human_id"] for r in [*opened, *past]]
        told: dict[str, list[PublicUpdate]] = {}
        for row in await conn.fetch(
            """SELECT human_id, seq, at, status, impact, message FROM customer_updates
               WHERE human_id = ANY($1::text[]) ORDER BY human_id, seq""",
            ids,
            timeout=QUERY_TIMEOUT,
        ):
            told.setdefault(row["human_id"], []).append(
                PublicUpdate(
                    seq=row["seq"],
                    at=row["at"],
                    status=_status(row["status"]),
                    impact=_impact(row["impact"]),
                    message=row["message"],
                )
            )
        recorded = await conn.fetch(
            "SELECT DISTINCT service FROM incidents WHERE service IS NOT NULL",
            timeout=QUERY_TIMEOUT,
        )

        def incident(row: asyncpg.Record, *, still_open: bool) -> PublicIncident:
            return PublicIncident(
                id=row["human_id"],
                service=row["service"],
                started_at=row["declared_at"],
                # A reopened incident keeps no resolution; one recorded open is open.
                resolved_at=None if still_open else (row["resolved_at"] or now),
                impact_now=(
                    _impact(row["customer_impact"]) if still_open else ComponentImpact.OPERATIONAL
                ),
                updates=tuple(told.get(row["human_id"], ())),
            )

        return snapshot(
            now,
            [incident(r, still_open=True) for r in opened],
            [incident(r, still_open=False) for r in past],
            [*self._services, *(r["service"] for r in recorded)],
        )


def _impact(value: str | None) -> ComponentImpact:
    # Incidents recorded before customer impact was kept show as operational.
    try:
        return ComponentImpact(value) if value else ComponentImpact.OPERATIONAL
    except ValueError:
        return ComponentImpact.OPERATIONAL


def _status(value: str) -> Status:
    try:
        return Status(value)
    except ValueError:
        return Status.INVESTIGATING


Reader = Callable[[], Awaitable[StatusSnapshot]]


@dataclass
class StatusCache:
    """The last read, served for ``fresh_for`` seconds; one read at a time however many ask.

    When a read fails, the last good one is served, marked stale, and Postgres
    is not asked again for ``retry_after`` seconds; with no read kept at all,
    StatusUnavailable.
    """

    read: Reader
    fresh_for: float = FRESH_FOR
    retry_after: float = RETRY_AFTER
    clock: Callable[[], float] = time.monotonic
    _kept: StatusSnapshot | None = None
    _kept_at: float = -1e18
    _failed_at: float = -1e18
    _failure: str = ""
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get(self) -> tuple[StatusSnapshot, bool]:
        """The snapshot to show and whether it is stale (the record could not be read)."""
        async with self._lock:
            now = self.clock()
            if self._kept is not None and now - self._kept_at < self.fresh_for:
                return self._kept, False
            if now - self._failed_at >= self.retry_after:
                try:
                    self._kept = await self.read()
                except StatusUnavailable as err:
                    self._failed_at = self.clock()
                    self._failure = str(err)
                else:
                    self._kept_at = self.clock()
                    return self._kept, False
            if self._kept is None:
                raise StatusUnavailable(self._failure)
            return self._kept, True
