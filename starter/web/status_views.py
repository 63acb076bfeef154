"""The status page's three shapes of one snapshot: the words the HTML page uses, the JSON
summary (close to Atlassian Statuspage's ``/api/v2/summary.json``) and the Atom feed.

Pure: no I/O, and no clock — every "ago" and "for" is counted from the moment
the record was read, so one read always renders the same bytes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from typing import Any

from markupsafe import escape

from incident.durations import spoken_duration
from incident.impact import ComponentImpact
from starter.web.status_record import PublicIncident, StatusSnapshot

ATOM = "http://www.w3.org/2005/Atom"

INDICATOR = {
    ComponentImpact.OPERATIONAL: "none",
    ComponentImpact.DEGRADED: "minor",
    ComponentImpact.PARTIAL_OUTAGE: "major",
    ComponentImpact.MAJOR_OUTAGE: "critical",
}
"""Statuspage's page indicator and incident impact for the worst component state."""

HEADLINE = {
    ComponentImpact.OPERATIONAL: "All systems operational",
    ComponentImpact.DEGRADED: "Degraded performance",
    ComponentImpact.PARTIAL_OUTAGE: "Partial outage",
    ComponentImpact.MAJOR_OUTAGE: "Major outage",
}


def spoken_moment(moment: datetime, now: datetime) -> str:
    """A moment as a person writes it, in UTC: ``today at 14:05 UTC``, ``yesterday at 09:30
    UTC``, ``Tue 1 Dec at 14:05 UTC``, ``3 Dec 2025 at 14:05 UTC``."""
    day = moment.date()
    clock = f"{moment:%H:%M} UTC"
    if day == now.date():
        return f"today at {clock}"
    if day == (now - timedelta(days=1)).date():
        return f"yesterday at {clock}"
    if day.year == now.year:
        return f"{moment:%a} {day.day} {moment:%b} at {clock}"
    return f"{day.day} {moment:%b %Y} at {clock}"


def spoken_day(moment: datetime, now: datetime) -> str:
    """``Today``, ``Yesterday``, ``Tuesday 1 December``: a heading for a day of history."""
    day = moment.date()
    if day == now.date():
        return "Today"
    if day == (now - timedelta(days=1)).date():
        return "Yesterday"
    if day.year == now.year:
        return f"{moment:%A} {day.day} {moment:%B}"
    return f"{moment:%A} {day.day} {moment:%B %Y}"


def lasted(incident: PublicIncident, now: datetime) -> str:
    """``for 47 min so far`` while open, ``lasted 1 h 5 min`` once resolved."""
    if incident.resolved_at is None:
        return f"ongoing for {spoken_duration(now - incident.started_at)}"
    return f"lasted {spoken_duration(incident.resolved_at - incident.started_at)}"


def headline(snap: StatusSnapshot) -> str:
    """The banner: ``All systems operational``, ``Partial outage: checkout``."""
    worst = snap.worst
    if worst is ComponentImpact.OPERATIONAL:
        if snap.active:
            return "All systems operational; we are looking into a problem"
        return HEADLINE[worst]
    hit = [c.name for c in snap.components if c.status is worst]
    hit += [i.affects for i in snap.active if i.service is None and i.impact_now is worst]
    return f"{HEADLINE[worst]}: {', '.join(dict.fromkeys(hit))}" if hit else HEADLINE[worst]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _incident_json(incident: PublicIncident, page_url: str) -> dict[str, Any]:
    return {
        "id": incident.id,
        "name": incident.name,
        "status": incident.status.value,
        "impact": INDICATOR[incident.impact],
        "created_at": _iso(incident.started_at),
        "started_at": _iso(incident.started_at),
        "updated_at": _iso(incident.updated_at),
        "resolved_at": _iso(incident.resolved_at),
        "shortlink": f"{page_url}#{incident.id}",
        "components": (
            [
                {
                    "id": incident.service,
                    "name": incident.service,
                    "status": incident.impact_now.value,
                }
            ]
            if incident.service
            else []
        ),
        "incident_updates": [
            {
                "id": f"{incident.id}-{u.seq}",
                "incident_id": incident.id,
                "status": u.status.value,
                "body": u.message,
                "created_at": _iso(u.at),
                "updated_at": _iso(u.at),
                "display_at": _iso(u.at),
                "affected_components": (
                    [
                        {
                            "code": incident.service,
                            "name": incident.service,
                            "new_status": u.impact.value,
                        }
                    ]
                    if incident.service
                    else []
                ),
            }
            for u in reversed(incident.updates)  # newest first, as Statuspage lists them
        ],
    }


def summary(snap: StatusSnapshot, *, name: str, page_url: str, stale: bool) -> dict[str, Any]:
    """The JSON summary, shaped like Statuspage's ``summary.json`` (plus ``history`` and
    ``stale``): the page, the overall status, each component, the active incidents."""
    worst = snap.worst
    return {
        "page": {"id": "warroom", "name": name, "url": page_url, "updated_at": _iso(snap.read_at)},
        "status": {"indicator": INDICATOR[worst], "description": headline(snap)},
        "components": [
            {
                "id": c.name,
                "name": c.name,
                "status": c.status.value,
                "updated_at": _iso(c.updated_at),
            }
            for c in snap.components
        ],
        "incidents": [_incident_json(i, page_url) for i in snap.active],
        "scheduled_maintenances": [],
        "history": [_incident_json(i, page_url) for i in snap.history],
        "stale": stale,
    }


def _entry_html(incident: PublicIncident, now: datetime) -> str:
    """An incident's updates as HTML for a feed entry, every piece of text escaped."""
    parts = [
        f"<p><strong>{escape(u.status.value.capitalize())}</strong> · "
        f"{escape(spoken_moment(u.at, now))}<br>{escape(u.message)}</p>"
        for u in reversed(incident.updates)
    ]
    if not parts:
        parts.append(f"<p>We are looking into a problem affecting {escape(incident.affects)}.</p>")
    parts.append(f"<p>{escape(lasted(incident, now).capitalize())}.</p>")
    return "".join(parts)


def atom_feed(snap: StatusSnapshot, *, name: str, page_url: str) -> bytes:
    """The Atom 1.0 feed: one entry per incident (active and past), its updates the content.

    Built with ElementTree, which escapes every text and attribute it writes.
    """
    ET.register_namespace("", ATOM)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    incidents = [*snap.active, *snap.history]
    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "en"})
    sub(feed, "id", f"{page_url}/feed.atom")
    sub(feed, "title", f"{name}: incidents")
    updated = max((i.updated_at for i in incidents), default=snap.read_at)
    sub(feed, "updated", updated.isoformat())
    sub(feed, "link", rel="alternate", type="text/html", href=page_url)
    sub(feed, "link", rel="self", type="application/atom+xml", href=f"{page_url}/feed.atom")
    author = sub(feed, "author")
    sub(author, "name", name)
    for incident in incidents:
        entry = sub(feed, "entry")
        sub(entry, "id", f"{page_url}#{incident.id}")
        sub(entry, "title", f"{incident.name} ({incident.status.value})")
        sub(entry, "updated", incident.updated_at.isoformat())
        sub(entry, "published", incident.started_at.isoformat())
        sub(entry, "link", rel="alternate", type="text/html", href=f"{page_url}#{incident.id}")
        sub(entry, "content", _entry_html(incident, snap.read_at), type="html")
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))
