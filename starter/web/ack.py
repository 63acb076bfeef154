"""Acknowledge links: ``GET /ack/{token}`` shows what will happen, ``POST`` does it, once.

Server-rendered pages (no JavaScript, readable on a phone). Looking never
changes anything; a forged, expired or used link changes nothing and says why.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from jinja2 import PackageLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from incident.models import Acknowledge, IncidentState
from starter.web.incidents import (
    DecisionRefused,
    IncidentUnknown,
    TemporalUnavailable,
    incident_state,
    send_decision,
)
from starter.web.links import ACK_PATH, AckLink, LinkExpired, LinkForged, verify
from starter.web.people import Caller, UnknownPerson
from starter.web.services import WebServices
from starter.web.store import LinkAlreadyUsed, StoreUnavailable

PAGE_HEADERS = {
    # The token in the URL is the credential: keep it out of caches and other sites' logs.
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}

_templates = SandboxedEnvironment(
    loader=PackageLoader("starter.web", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
)


class _Refusal(Exception):
    """A link that cannot be used: the page's status, headline and reason."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


def _page(template: str, status: int = 200, **values: Any) -> HTMLResponse:
    html = _templates.get_template(template).render(**values)
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def _outcome(status: int, title: str, message: str, *, ok: bool = False) -> HTMLResponse:
    return _page("ack_outcome.html.j2", status, title=title, message=message, ok=ok, detail=None)


def _refused(refusal: _Refusal) -> HTMLResponse:
    return _outcome(refusal.status, refusal.title, refusal.message)


def ack_router(services: WebServices) -> APIRouter:
    """The acknowledge-link pages."""
    router = APIRouter(tags=["acknowledge links"])

    async def checked(token: str) -> tuple[AckLink, Caller]:
        """The link and its person, or _Refusal; reads only."""
        if services.link_secret is None or services.store is None:
            raise _Refusal(
                503,
                "Acknowledge links are not available",
                "This Warroom takes no acknowledge links (WARROOM_LINK_SECRET and DATABASE_URL "
                "are needed); acknowledge in Slack, with the CLI or the API instead.",
            )
        try:
            link = verify(services.link_secret, token)
        except LinkForged as err:
            raise _Refusal(403, "This link does not work", f"{err}; nothing was done.") from err
        except LinkExpired as err:
            raise _Refusal(403, "This link expired", f"{err}; nothing was done.") from err
        try:
            caller = services.people.caller(link.person, "link")
        except UnknownPerson as err:
            raise _Refusal(403, "This link does not work", f"{err}; nothing was done.") from err
        try:
            used = await services.store.link_used(link.nonce)
        except StoreUnavailable as err:
            raise _unavailable(str(err)) from err
        if used:
            raise _used()
        return link, caller

    @router.get("/ack/{token}", response_class=HTMLResponse)
    async def confirm(token: str) -> HTMLResponse:
        """What the link will do, with a button to do it. Changes nothing."""
        try:
            link, caller = await checked(token)
        except _Refusal as refusal:
            return _refused(refusal)
        state: IncidentState | None
        try:
            state = await incident_state(
                services.client, link.incident, rpc_timeout=services.rpc_timeout
            )
        except IncidentUnknown:
            return _outcome(404, "No such incident", f"Warroom has no incident {link.incident}.")
        except (TemporalUnavailable, DecisionRefused):
            state = None  # the button still works once Temporal answers
        return _page(
            "ack_confirm.html.j2",
            title=f"Acknowledge {state.human_id if state else link.incident}",
            incident_name=state.human_id if state else link.incident,
            person_name=caller.name,
            state=state,
            action=ACK_PATH + token,
            expires_at=link.expires_at,
        )

    @router.post("/ack/{token}", response_class=HTMLResponse)
    async def acknowledge(token: str) -> HTMLResponse:
        """Acknowledge the incident as the link's person; the link is spent when it worked."""
        try:
            link, caller = await checked(token)
            assert services.store is not None
            decision = Acknowledge(
                actor=caller.person, verified_by="link", reason="acknowledged from a link"
            )
            async with services.store.spending_link(link.nonce):
                receipt = await send_decision(
                    services.client,
                    link.incident,
                    decision,
                    rpc_timeout=services.rpc_timeout,
                )
        except _Refusal as refusal:
            return _refused(refusal)
        except LinkAlreadyUsed:
            return _refused(_used())
        except (StoreUnavailable, TemporalUnavailable) as err:
            return _refused(_unavailable(str(err)))
        except IncidentUnknown:
            return _outcome(404, "No such incident", f"Warroom has no incident {link.incident}.")
        except DecisionRefused as err:
            return _outcome(409, "Not acknowledged", f"{err}")
        return _outcome(
            200,
            f"{receipt.human_id} acknowledged",
            f"{receipt.human_id} acknowledged by {caller.name} at "
            f"{receipt.event.at:%H:%M:%S} UTC; it is {receipt.phase.value}/"
            f"{receipt.status.value}. Paging the on-call rotation has stopped.",
            ok=True,
        )

    return router


def _used() -> _Refusal:
    return _Refusal(
        403, "This link was already used", "This link was already used; nothing more was done."
    )


def _unavailable(detail: str) -> _Refusal:
    return _Refusal(
        503,
        "Warroom could not do it just now",
        f"Nothing was done, and the link still works: try again in a moment. ({detail[:300]})",
    )
