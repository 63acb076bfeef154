"""On-call overrides people set (``warroom override``), kept in Postgres (``oncall_overrides``).

Each function takes an asyncpg connection or pool. Whether the schedule and the
person exist is the caller's check, against the directory it reads: the
directory file can change after an override is stored, and ``merge_overrides``
leaves out what no longer resolves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from directory.models import Override


@dataclass(frozen=True)
class StoredOverride:
    """One row of ``oncall_overrides``."""

    id: int
    schedule: str
    person: str
    starts_at: datetime
    ends_at: datetime
    note: str
    created_by: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> StoredOverride:
        """The override a row holds."""
        return cls(**dict(row))

    def override(self) -> Override:
        """As the directory's ``Override`` on the schedule."""
        note = f"{self.note} (#{self.id}, {self.created_by})" if self.note else f"#{self.id}"
        return Override(person=self.person, start=self.starts_at, end=self.ends_at, note=note)

    def as_json(self) -> dict[str, Any]:
        """For scripts: times in ISO 8601."""
        return {
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in self.__dict__.items()
        }


_COLUMNS = "id, schedule, person, starts_at, ends_at, note, created_by, created_at"


async def add_override(
    conn: Any,
    *,
    schedule: str,
    person: str,
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    note: str = "",
) -> StoredOverride:
    """Store an override; raises ValueError when it does not end after it starts."""
    Override(person=person, start=starts_at, end=ends_at)  # the same checks as in the file
    row = await conn.fetchrow(
        f"INSERT INTO oncall_overrides (schedule, person, starts_at, ends_at, note, created_by)"
        f" VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_COLUMNS}",
        schedule,
        person,
        starts_at,
        ends_at,
        note,
        created_by,
    )
    return StoredOverride.from_row(row)


async def list_overrides(
    conn: Any,
    *,
    schedule: str | None = None,
    ending_after: datetime | None = None,
    starting_before: datetime | None = None,
) -> list[StoredOverride]:
    """Stored overrides, oldest first (so a later one wins where two overlap).

    ``schedule`` keeps one schedule's; ``ending_after`` and ``starting_before``
    keep those reaching into a window.
    """
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM oncall_overrides"
        " WHERE ($1::text IS NULL OR schedule = $1)"
        " AND ($2::timestamptz IS NULL OR ends_at > $2)"
        " AND ($3::timestamptz IS NULL OR starts_at < $3)"
        " ORDER BY created_at, id",
        schedule,
        ending_after,
        starting_before,
    )
    return [StoredOverride.from_row(row) for row in rows]


async def remove_override(conn: Any, override_id: int) -> StoredOverride | None:
    """Remove an override; returns what was removed, or None when there was no such one."""
    row = await conn.fetchrow(
        f"DELETE FROM oncall_overrides WHERE id = $1 RETURNING {_COLUMNS}", override_id
    )
    return None if row is None else StoredOverride.from_row(row)


__all__ = ["StoredOverride", "add_override", "list_overrides", "remove_override"]
