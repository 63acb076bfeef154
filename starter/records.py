"""Reading the incident record: postmortem drafts and reports, straight from Postgres."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import asyncpg

from activities.postmortem_draft import render_draft
from incident.durations import format_duration


class NoRecord(LookupError):
    """The store has no incident with that ID."""


async def _find(conn: asyncpg.Connection, ref: str) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT * FROM incidents WHERE human_id = upper($1) OR workflow_id = $1"
        " ORDER BY declared_at DESC LIMIT 1",
        ref,
    )
    if row is None:
        raise NoRecord(f"no incident {ref} in the record")
    return row


async def postmortem_draft(url: str, ref: str) -> str:
    """The postmortem draft, rendered from the stored record (read only: the worker's store
    keeps the draft of each resolved incident in ``postmortem_drafts``)."""
    conn = await asyncpg.connect(url)
    try:
        return await render_draft(conn, await _find(conn, ref))
    finally:
        await conn.close()


Grouping = Literal["severity", "service"]


@dataclass(frozen=True)
class ReportRow:
    """The figures for one group of incidents."""

    group: str
    incidents: int
    mtta: timedelta | None
    mttr: timedelta | None
    time_triaged: timedelta | None
    time_responding: timedelta | None
    time_post_incident: timedelta | None
    response_breaches: int
    resolution_breaches: int
    postmortems_overdue: int
    action_items_overdue: int

    def as_json(self) -> dict[str, Any]:
        """Durations in seconds, for scripts."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            out[key] = value.total_seconds() if isinstance(value, timedelta) else value
        return out

    def cells(self) -> list[str]:
        """The row as table cells."""

        def d(value: timedelta | None) -> str:
            if value is None:
                return "-"
            # An average of phases that passed at once reads as such, not 0.112982s.
            return format_duration(value) if value >= timedelta(seconds=1) else "under 1s"

        return [
            self.group,
            str(self.incidents),
            d(self.mtta),
            d(self.mttr),
            d(self.time_triaged),
            d(self.time_responding),
            d(self.time_post_incident),
            str(self.response_breaches),
            str(self.resolution_breaches),
            str(self.postmortems_overdue),
            str(self.action_items_overdue),
        ]


REPORT_HEADERS = [
    "GROUP",
    "INCIDENTS",
    "MTTA",
    "MTTR",
    "TRIAGED",
    "RESPONDING",
    "POST-INC",
    "ACK BREACH",
    "TARGET BREACH",
    "PM OVERDUE",
    "ITEMS OVERDUE",
]


async def report(url: str, *, since: datetime, until: datetime, by: Grouping) -> list[ReportRow]:
    """MTTA, MTTR, time in each phase, breaches and overdue follow-ups, per ``by``."""
    column = {"severity": "severity", "service": "coalesce(service, '(none)')"}[by]
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            f"""
            SELECT {column} AS grp, count(*) AS incidents,
                   avg(time_to_acknowledge) AS mtta, avg(time_to_resolve) AS mttr,
                   avg(time_triaged) AS triaged, avg(time_responding) AS responding,
                   avg(time_post_incident) AS post_incident,
                   count(*) FILTER (WHERE response_breached) AS response_breaches,
                   count(*) FILTER (WHERE resolution_breached) AS resolution_breaches,
                   count(*) FILTER (WHERE postmortem_overdue) AS postmortems_overdue,
                   coalesce(sum(action_items_overdue), 0) AS action_items_overdue
            FROM incident_facts
            WHERE declared_at >= $1 AND declared_at < $2
            GROUP BY grp ORDER BY grp
            """,
            since,
            until,
        )
    finally:
        await conn.close()
    return [
        ReportRow(
            group=r["grp"],
            incidents=r["incidents"],
            mtta=r["mtta"],
            mttr=r["mttr"],
            time_triaged=r["triaged"],
            time_responding=r["responding"],
            time_post_incident=r["post_incident"],
            response_breaches=r["response_breaches"],
            resolution_breaches=r["resolution_breaches"],
            postmortems_overdue=r["postmortems_overdue"],
            action_items_overdue=int(r["action_items_overdue"]),
        )
        for r in rows
    ]
