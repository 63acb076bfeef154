"""The public status page: ``GET /status`` (HTML), ``/status.json`` and ``/status/feed.atom``.

No credentials, read-only, and reading the incident record in Postgres only —
never Temporal — through a cache of a few seconds (``status_record``). Customers
see each service's state, the active incidents with the updates they were given,
and the last two weeks; never a title, the timeline or a note. When the record
cannot be read the last page read is served, saying since when; with none, a
503 that says so.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from jinja2 import PackageLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from incident.durations import spoken_duration
from starter.web.status_record import StatusCache, StatusSnapshot, StatusUnavailable
from starter.web.status_views import (
    INDICATOR,
    atom_feed,
    headline,
    lasted,
    spoken_day,
    spoken_moment,
    summary,
)

STATUS_PATH = "/status"
RETRY_AFTER = "30"
UNAVAILABLE = (
    "The status page cannot be shown just now: its records could not be read. "
    "Please try again in a minute."
)
NOT_CONFIGURED = "This Warroom has no status page: its incident record (DATABASE_URL) is not set."
_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
_PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

Shape = Literal["html", "json", "atom"]

_templates = SandboxedEnvironment(
    loader=PackageLoader("starter.web", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _render_page(snap: StatusSnapshot, *, name: str, page_url: str, stale: bool) -> str:
    now = snap.read_at
    days: dict[str, list[object]] = {}
    for incident in snap.history:
        assert incident.resolved_at is not None
        days.setdefault(spoken_day(incident.resolved_at, now), []).append(incident)
    return _templates.get_template("status.html.j2").render(
        name=name,
        page_url=page_url,
        snap=snap,
        stale=stale,
        headline=headline(snap),
        indicator=INDICATOR[snap.worst],
        history_days=days,
        moment=lambda m: spoken_moment(m, now),
        lasted=lambda i: lasted(i, now),
        ago=lambda m: spoken_duration(now - m),
    )


def status_router(cache: StatusCache | None, *, name: str, public_url: str | None) -> APIRouter:
    """The status page's routes; without ``cache`` (no record configured) each answers 503."""
    router = APIRouter(tags=["status page"])
    rendered: dict[tuple[Shape, str], tuple[StatusSnapshot, bool, bytes]] = {}

    def page_url(request: Request) -> str:
        base = public_url or str(request.base_url)
        return base.rstrip("/") + STATUS_PATH

    async def answer(request: Request, shape: Shape) -> Response:
        if cache is None:
            return _unavailable(shape, NOT_CONFIGURED, configured=False)
        try:
            snap, stale = await cache.get()
        except StatusUnavailable:
            return _unavailable(shape, UNAVAILABLE, configured=True)
        url = page_url(request)
        key = (shape, url)
        kept = rendered.get(key)
        if kept is not None and kept[0] is snap and kept[1] == stale:
            body = kept[2]
        else:  # rendered once per read of the record, however many ask
            body = _render(snap, shape, name=name, page_url=url, stale=stale)
            rendered[key] = (snap, stale, body)
        headers = {
            **_HEADERS,
            # Stale: come back sooner, the record may be readable again.
            "Cache-Control": f"public, max-age={5 if stale else 15}",
            "Last-Modified": _http_date(snap.read_at),
        }
        if shape == "html":
            headers["Content-Security-Policy"] = _PAGE_POLICY
        return Response(body, media_type=_MEDIA[shape], headers=headers)

    @router.get(STATUS_PATH, include_in_schema=False)
    async def status_page(request: Request) -> Response:
        """The status page: each service's state, active incidents, the last two weeks."""
        return await answer(request, "html")

    @router.get(f"{STATUS_PATH}.json")
    async def status_json(request: Request) -> Response:
        """The status as JSON, shaped like Statuspage's ``/api/v2/summary.json``."""
        return await answer(request, "json")

    @router.get(f"{STATUS_PATH}/feed.atom")
    async def status_feed(request: Request) -> Response:
        """The incidents as an Atom 1.0 feed, one entry per incident."""
        return await answer(request, "atom")

    # Monitors and feed readers ask HEAD too; the same answers, kept out of the schema.
    for path, route in (
        (STATUS_PATH, status_page),
        (f"{STATUS_PATH}.json", status_json),
        (f"{STATUS_PATH}/feed.atom", status_feed),
    ):
        router.add_api_route(path, route, methods=["HEAD"], include_in_schema=False)
    return router


_MEDIA: dict[Shape, str] = {
    "html": "text/html; charset=utf-8",
    "json": "application/json",
    "atom": "application/atom+xml; charset=utf-8",
}


def _render(snap: StatusSnapshot, shape: Shape, *, name: str, page_url: str, stale: bool) -> bytes:
    if shape == "html":
        return _render_page(snap, name=name, page_url=page_url, stale=stale).encode()
    if shape == "json":
        document = summary(snap, name=name, page_url=page_url, stale=stale)
        return json.dumps(document, ensure_ascii=False).encode()
    return atom_feed(snap, name=name, page_url=page_url)


def _unavailable(shape: Shape, message: str, *, configured: bool) -> Response:
    headers = {**_HEADERS, "Cache-Control": "no-store"}
    if configured:
        headers["Retry-After"] = RETRY_AFTER
    if shape == "json":
        body = json.dumps({"error": message}).encode()
    elif shape == "html":
        headers["Content-Security-Policy"] = _PAGE_POLICY
        body = (
            _templates.get_template("status_unavailable.html.j2").render(message=message).encode()
        )
    else:
        body = message.encode()
        return Response(body, 503, media_type="text/plain; charset=utf-8", headers=headers)
    return Response(body, 503, media_type=_MEDIA[shape], headers=headers)


def _http_date(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")
