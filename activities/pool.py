"""A Postgres connection pool opened on first use: Postgres may come up after the process.

The incident record (``store``), the people's credentials and the stored on-call
overrides each keep one; each says where its database is without the password.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg

from activities.redact import safe_url

Check = Callable[[asyncpg.Connection], Awaitable[None]]
"""Run once on a new pool's first connection (the schema check); raising closes the pool."""


class LazyPool:
    """One pool, opened by the first caller that needs it (concurrent callers wait for
    that one), again after a failed attempt, and closed once."""

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 0,
        max_size: int = 4,
        connect_timeout: float = 10.0,
        check: Check | None = None,
    ) -> None:
        self.url = url
        self._sizes = (min_size, max_size)
        self._connect_timeout = connect_timeout
        self._check = check
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    @property
    def where(self) -> str:
        """The database, as logs may show it: no password."""
        return safe_url(self.url)

    @property
    def opened(self) -> bool:
        """Whether the pool is open."""
        return self._pool is not None

    async def get(self) -> asyncpg.Pool:
        """The pool, opened now if it is not yet; raises what asyncpg (or the check) raises."""
        async with self._opening:
            if self._pool is None:
                low, high = self._sizes
                pool = await asyncpg.create_pool(
                    self.url, min_size=low, max_size=high, timeout=self._connect_timeout
                )
                if self._check is not None:
                    try:
                        async with pool.acquire() as conn:
                            await self._check(conn)
                    except BaseException:
                        await pool.close()
                        raise
                self._pool = pool
            return self._pool

    async def close(self) -> None:
        """Close the pool, if it was opened."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()
