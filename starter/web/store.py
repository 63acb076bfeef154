"""People's credentials in Postgres: per-person API tokens (SHA-256 only) and used link nonces.

The tables come with ``warroom db upgrade`` (``activities/migrations/0003_people_credentials.sql``).
A token is shown once, when it is made; only its SHA-256 is kept, so the
database cannot give it away.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg

from activities.pool import LazyPool
from activities.redact import describe
from activities.store import UNAVAILABLE

log = logging.getLogger("warroom.web.store")

TOKEN_PREFIX = "wrt_"
"""Every personal API token starts so: a leaked one is recognisable (secret scanners)."""
CONNECT_TIMEOUT = 5.0
"""Seconds to wait for Postgres to answer a new connection."""
T = TypeVar("T")


def token_digest(token: str) -> str:
    """The SHA-256 of ``token`` as stored (hex)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class StoreUnavailable(RuntimeError):
    """Postgres cannot be used just now (or lacks the tables); nobody is let in (503)."""


class TokenRefused(LookupError):
    """The token is unknown, revoked or expired; the message says which (401)."""


class LinkAlreadyUsed(LookupError):
    """The acknowledge link's nonce was taken before: a link works once."""


@dataclass(frozen=True)
class TokenRecord:
    """One personal API token, as listed (never the token itself)."""

    id: int
    person: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def state(self, now: datetime) -> str:
        """``active``, ``revoked`` or ``expired``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def as_json(self, now: datetime) -> dict[str, Any]:
        """The record for ``--json`` output."""
        return {
            "id": self.id,
            "person": self.person,
            "state": self.state(now),
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
        }


_COLUMNS = "id, person, created_at, expires_at, revoked_at, last_used_at"


def _record(row: asyncpg.Record) -> TokenRecord:
    return TokenRecord(**dict(row))


class CredentialStore:
    """Owns a small connection pool, opened on first use (Postgres may come later)."""

    def __init__(self, database_url: str, *, connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self._url = database_url
        self._connect_timeout = connect_timeout
        self._pool = LazyPool(database_url, connect_timeout=connect_timeout)

    @property
    def where(self) -> str:
        """The database, as logs may show it: no password."""
        return self._pool.where

    async def close(self) -> None:
        """Close the pool, if it was opened."""
        await self._pool.close()

    async def create_token(self, person: str, expires_at: datetime | None) -> tuple[str, int]:
        """A new token for ``person``: the token (shown once, never kept) and its ID."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = await self._run(
            "fetchval",
            "INSERT INTO api_tokens (person, token_sha256, expires_at) VALUES ($1, $2, $3) "
            "RETURNING id",
            person,
            token_digest(token),
            expires_at,
        )
        return token, int(token_id)

    async def tokens(self, person: str | None = None) -> list[TokenRecord]:
        """Every token (of ``person``), oldest first."""
        rows = await self._run(
            "fetch",
            f"SELECT {_COLUMNS} FROM api_tokens WHERE $1::text IS NULL OR person = $1 ORDER BY id",
            person,
        )
        return [_record(row) for row in rows]

    async def revoke(self, token_id: int) -> TokenRecord | None:
        """Revoke token ``token_id`` (a revoked one stays revoked); None when there is none."""
        row = await self._run(
            "fetchrow",
            "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 "
            f"RETURNING {_COLUMNS}",
            token_id,
        )
        return None if row is None else _record(row)

    async def token_owner(self, token: str) -> TokenRecord:
        """The record of a usable ``token`` (its use noted); TokenRefused says why it is not."""
        row = await self._run(
            "fetchrow",
            "UPDATE api_tokens SET last_used_at = now() WHERE token_sha256 = $1 "
            "AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) "
            f"RETURNING {_COLUMNS}",
            token_digest(token),
        )
        if row is not None:
            return _record(row)
        row = await self._run(
            "fetchrow",
            f"SELECT {_COLUMNS} FROM api_tokens WHERE token_sha256 = $1",
            token_digest(token),
        )
        if row is None:
            raise TokenRefused("token not recognised")
        record = _record(row)
        if record.revoked_at is not None:
            raise TokenRefused(
                f"token {record.id} was revoked at {record.revoked_at:%Y-%m-%d %H:%M:%S %Z}"
            )
        assert record.expires_at is not None
        raise TokenRefused(f"token {record.id} expired at {record.expires_at:%Y-%m-%d %H:%M:%S %Z}")

    async def link_used(self, nonce: str) -> bool:
        """Whether the acknowledge link with ``nonce`` was already used."""
        found = await self._run("fetchval", "SELECT 1 FROM used_ack_links WHERE nonce = $1", nonce)
        return found is not None

    @asynccontextmanager
    async def spending_link(self, nonce: str) -> AsyncIterator[None]:
        """Take the link's ``nonce`` for the block: LinkAlreadyUsed if it was taken before.

        The nonce is inserted in a transaction that commits only when the block
        ends normally; a block that raises (Temporal unreachable, the decision
        refused) leaves the link unused. A second use waits on the first one's
        insert and then finds it taken, so two clicks at once act once.
        """
        pool = await self._open()
        try:
            conn = await pool.acquire(timeout=self._connect_timeout)
        except (*UNAVAILABLE, asyncpg.PostgresError) as err:
            raise self._unavailable(err) from err
        try:
            transaction = conn.transaction()
            try:
                await transaction.start()
                taken = await conn.fetchval(
                    "INSERT INTO used_ack_links (nonce) VALUES ($1) ON CONFLICT DO NOTHING "
                    "RETURNING true",
                    nonce,
                )
            except (*UNAVAILABLE, asyncpg.PostgresError) as err:
                with suppress(*UNAVAILABLE, asyncpg.PostgresError):
                    await transaction.rollback()
                raise self._unavailable(err) from err
            if not taken:
                await transaction.rollback()
                raise LinkAlreadyUsed(nonce)
            try:
                yield
            except BaseException:
                with suppress(*UNAVAILABLE, asyncpg.PostgresError):
                    await transaction.rollback()
                raise
            try:
                await transaction.commit()
            except (*UNAVAILABLE, asyncpg.PostgresError) as err:
                # The decision was taken; a second use is refused by the incident itself.
                log.warning("could not record a used acknowledge link: %s", self._reason(err))
        finally:
            await pool.release(conn)

    async def _open(self) -> asyncpg.Pool:
        try:
            return await self._pool.get()
        except (*UNAVAILABLE, asyncpg.PostgresError) as err:
            raise self._unavailable(err) from err

    async def _run(self, method: str, query: str, *args: Any) -> Any:
        pool = await self._open()
        try:
            call: Awaitable[Any] = getattr(pool, method)(query, *args, timeout=10)
            return await call
        except (*UNAVAILABLE, asyncpg.PostgresError) as err:
            raise self._unavailable(err) from err

    def _reason(self, err: BaseException) -> str:
        return describe(err, [self._url])

    def _unavailable(self, err: BaseException) -> StoreUnavailable:
        if isinstance(err, asyncpg.UndefinedTableError):
            return StoreUnavailable(
                f"the database {self.where} has no credential tables: run `warroom db upgrade`"
            )
        return StoreUnavailable(f"cannot use the database {self.where}: {self._reason(err)}")


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)
