"""The postmortem draft, rendered from the stored record in the runbook's layout."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import asyncpg

from activities.notify import template_environment
from incident.durations import format_duration

_RESOLUTION_KINDS = {"mitigated", "resolution_declared", "recovered", "resolved", "reopened"}


def _postmortem(row: asyncpg.Record | None) -> dict[str, Any] | None:
    if row is None:
        return None
    data = dict(row)
    data["contributing_factors"] = _json_list(row["contributing_factors"])
    data["lessons"] = _json_list(row["lessons"])
    for name in ("whys", "went_well", "to_improve"):
        data[name] = _json_list(row.get(name))
    return data


def _json_list(value: Any) -> list[Any]:
    return list(json.loads(value) if isinstance(value, str) else value or [])


def _json_dict(value: Any) -> dict[str, Any]:
    return dict(json.loads(value) if isinstance(value, str) else value or {})


async def render_draft(conn: asyncpg.Connection, incident: asyncpg.Record) -> str:
    """The draft for ``incident`` (its row in ``incidents``), from its stored timeline.

    The layout is the runbook's: summary, impact, a UTC timeline table, root
    cause, contributing factors, resolution, lessons, and action items with
    owners and due dates.
    """
    human = incident["human_id"]
    timeline = await conn.fetch(
        "SELECT seq, at, kind, actor, text, reason FROM timeline WHERE human_id = $1 ORDER BY seq",
        human,
    )
    postmortem = await conn.fetchrow("SELECT * FROM postmortems WHERE human_id = $1", human)
    items = await conn.fetch("SELECT * FROM action_items WHERE human_id = $1 ORDER BY id", human)
    flags = _json_list(incident["flags"])
    roles = _json_dict(incident["roles"])
    end = incident["resolved_at"] or datetime.now(UTC)
    return (
        template_environment()
        .get_template("postmortem.md.j2")
        .render(
            incident=incident,
            postmortem=_postmortem(postmortem),
            timeline=timeline,
            resolution=[e for e in timeline if e["kind"] in _RESOLUTION_KINDS],
            action_items=items,
            authors=sorted(set(roles.values())),
            flags=[flag["label"] for flag in flags],
            data_loss=any(flag["flag"] == "data_loss" for flag in flags),
            duration=format_duration(end - incident["declared_at"]),
            impact=_json_dict(incident.get("impact")) or None,
        )
    )


async def save_draft(conn: asyncpg.Connection, human_id: str) -> None:
    """Render the draft of a resolved incident and keep it beside the record."""
    incident = await conn.fetchrow("SELECT * FROM incidents WHERE human_id = $1", human_id)
    if incident is None or incident["resolved_at"] is None:
        return
    await conn.execute(
        "INSERT INTO postmortem_drafts (human_id, draft, rendered_at) VALUES ($1, $2, now())"
        " ON CONFLICT (human_id) DO UPDATE SET draft = EXCLUDED.draft,"
        " rendered_at = EXCLUDED.rendered_at",
        human_id,
        await render_draft(conn, incident),
    )
