"""The store's schema: versioned SQL migrations, applied in order, checked at worker start."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class SchemaError(RuntimeError):
    """The database's schema is not the one this code knows; the message says what to do."""


@dataclass(frozen=True)
class Migration:
    """One versioned SQL file."""

    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """Every migration shipped with this version of Warroom, in order."""
    found = []
    for entry in resources.files("activities").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text()))
    return sorted(found, key=lambda m: m.version)


LATEST = migrations()[-1].version


async def current_version(conn: asyncpg.Connection) -> int:
    """The schema version the database is at (0 for an empty database)."""
    exists = await conn.fetchval("SELECT to_regclass('warroom_schema') IS NOT NULL")
    if not exists:
        return 0
    return int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM warroom_schema"))


async def upgrade(conn: asyncpg.Connection, target: int = LATEST) -> list[str]:
    """Apply every migration above the database's version up to ``target``; returns their names.

    Each migration runs in its own transaction with its version row, under an
    advisory lock so two upgrading processes cannot interleave.
    """
    applied = []
    await conn.execute("SELECT pg_advisory_lock(7448)")
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS warroom_schema ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        version = await current_version(conn)
        for migration in migrations():
            if version < migration.version <= target:
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO warroom_schema (version, name) VALUES ($1, $2)",
                        migration.version,
                        migration.name,
                    )
                applied.append(migration.name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock(7448)")
    return applied


async def check(conn: asyncpg.Connection) -> None:
    """Refuse a database whose schema this code does not know."""
    version = await current_version(conn)
    if version < LATEST:
        raise SchemaError(
            f"the database schema is at version {version}, this Warroom needs {LATEST}: "
            f"run `warroom db upgrade`"
        )
    if version > LATEST:
        raise SchemaError(
            f"the database schema is at version {version}, newer than this Warroom knows "
            f"({LATEST}): upgrade Warroom before running it against this database"
        )
