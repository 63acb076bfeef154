"""Warroom's own incident board: open incidents live, one incident's page, declaring one.

``GET /board`` lists the open incidents (a visibility query, as ``warroom list``)
with what each answers of itself; ``/board/events`` pushes a fresh rendering
of that list over server-sent events when it changes. ``/board/incidents/{ref}``
shows one incident and takes its common decisions; ``/board/declare`` declares
one. Server-rendered HTML that works without JavaScript (htmx, vendored, only
adds the live list).

People sign in at ``/board/login`` with their personal API token or OIDC token,
checked by the same Authenticator as the API; the session cookie keeps who
they are, never the token. Every form carries a CSRF token. Fails closed: no
session is a redirect to sign in (401 for the event stream), no
``WARROOM_LINK_SECRET`` to sign sessions with is a 503 saying so. Decisions
are sent as the signed-in person with ``verified_by="board"``, and the
incident's validators decide whether that person may take them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import PackageLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup
from pydantic import ValidationError
from temporalio.service import RPCError

from incident.impact import ComponentImpact
from incident.models import Decision, Declaration, IncidentState, PendingTimer, Phase, Status
from incident.rules import views
from starter.api import declare_incident, find_incidents, incidents_query
from starter.web.api import SET_BY_SERVER, decision_kinds
from starter.web.auth import AuthUnavailable, NotAllowed, NotAuthenticated
from starter.web.board_view import (
    BOARD_PHASES,
    SEVERITIES,
    BoardFilters,
    BoardRow,
    IncidentLook,
    action_words,
    awaiting_approval,
    board_row,
    due_in,
    may_approve,
    sorted_rows,
)
from starter.web.incidents import (
    DecisionRefused,
    IncidentUnknown,
    TemporalUnavailable,
    incident_state_and_timers,
    send_decision,
)
from starter.web.people import Caller, UnknownPerson
from starter.web.services import WebServices
from starter.web.session import (
    COOKIE_PATH,
    FLASH_COOKIE,
    FLASH_TTL,
    LOGIN_COOKIE,
    LOGIN_TTL,
    SESSION_COOKIE,
    BoardSession,
    Flash,
    Sessions,
)

BOARD = "/board"
STATIC = "/board/static"
POLL_SECONDS = 2.0
"""How often the live list asks Temporal again (one look shared by every open board)."""
KEEPALIVE_SECONDS = 15.0
"""A comment on an unchanged stream, so proxies do not close it as idle."""
STREAM_SECONDS = 600.0
"""An event stream ends after this; the browser reconnects (and its session is read again)."""
LIST_LIMIT = 50
"""Incidents on the board at most (the newest)."""
LOOKS_AT_ONCE = 8
"""Incidents asked for their state at the same time, per look at the list."""
LOOK_TIMEOUT = timedelta(seconds=2)
"""How long the list waits for one incident to answer (a row without its answer shows "?")."""
DECLARE_WAIT_SECONDS = 10.0
"""How long declaring waits for a worker to declare the incident before showing its page."""
TIMELINE_EVENTS = 50
"""Timeline events an incident page shows (the latest)."""
FORM_BYTES = 64 * 1024

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
NO_SECRET = (
    "The board signs its sessions with WARROOM_LINK_SECRET (at least 32 characters), and none "
    "is set. Set it for this service (the workers' acknowledge links use the same one) and "
    "restart it; `warroom up` makes one of its own."
)
COMMON_DECISIONS = ("acknowledge", "post_status_update", "add_note")
"""Decisions the incident page has a form for, besides approving and denying containment."""

_templates = SandboxedEnvironment(
    loader=PackageLoader("starter.web", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
)
_templates.globals.update(
    due_in=due_in, action_words=action_words, customers_told=views.customers_told
)


def web_link(url: str | None) -> str | None:
    """``url`` when it is an http(s) address, else None: a label or annotation can hold
    anything, and a ``javascript:`` link must never become a link."""
    if url and url.strip().lower().startswith(("https://", "http://")):
        return url.strip()
    return None


_templates.filters["web_link"] = web_link


class _Answer(Exception):
    """Stop handling the request and answer with ``response`` (sign in, 503, 404…)."""

    def __init__(self, response: Response) -> None:
        super().__init__("board answer")
        self.response = response


def _now() -> datetime:
    return datetime.now(UTC)


def _page(template: str, status: int = 200, **values: Any) -> HTMLResponse:
    html = _templates.get_template(template).render({"static": STATIC, "board": BOARD, **values})
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def _message(status: int, title: str, message: str, **values: Any) -> HTMLResponse:
    return _page("board_message.html.j2", status, title=title, message=message, **values)


def _redirect(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303, headers=PAGE_HEADERS)


def _local(target: str | None) -> str:
    """``target`` when it is a page of the board, else the board: never another site."""
    if target and target.startswith(BOARD) and not target.startswith("//") and "\\" not in target:
        return target
    return BOARD


def incident_path(ref: str) -> str:
    """The board page of incident ``ref``."""
    return f"{BOARD}/incidents/{ref}"


class _Lister:
    """The open incidents with what each answers, one look shared while it is fresh."""

    def __init__(self, services: WebServices, *, fresh_for: float = POLL_SECONDS * 0.75) -> None:
        self.services = services
        self.fresh_for = fresh_for
        self._looks: dict[str, tuple[float, list[BoardRow]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def rows(self, query: str) -> list[BoardRow]:
        """The board's rows for a visibility ``query``; TemporalUnavailable when it cannot list."""
        lock = self._locks.setdefault(query, asyncio.Lock())
        async with lock:
            seen = self._looks.get(query)
            if seen and time.monotonic() - seen[0] < self.fresh_for:
                return seen[1]
            rows = await self._look(query)
            if len(self._looks) > 256:  # filters are made up by people: keep few
                self._looks.clear()
                self._locks = {query: lock}
            self._looks[query] = (time.monotonic(), rows)
            return rows

    async def _look(self, query: str) -> list[BoardRow]:
        services = self.services
        try:
            client = await services.client()
            listed = await find_incidents(
                client, query, limit=LIST_LIMIT, rpc_timeout=services.rpc_timeout
            )
        except RuntimeError as err:  # a lazy client that cannot connect
            raise TemporalUnavailable(str(err)) from err
        except RPCError as err:
            raise TemporalUnavailable(f"Temporal: {err.message}"[:500]) from err
        at_once = asyncio.Semaphore(LOOKS_AT_ONCE)

        async def look(workflow_id: str) -> IncidentLook:
            async with at_once:
                try:
                    state, timers = await incident_state_and_timers(
                        services.client,
                        workflow_id,
                        rpc_timeout=min(services.rpc_timeout, LOOK_TIMEOUT),
                    )
                except (TemporalUnavailable, IncidentUnknown, DecisionRefused):
                    return IncidentLook(state=None)
                return IncidentLook(state=state, timers=timers)

        looks = await asyncio.gather(*(look(i.workflow_id) for i in listed))
        now = _now()
        return sorted_rows(
            [board_row(i, found, now) for i, found in zip(listed, looks, strict=True)]
        )


def board_router(services: WebServices) -> APIRouter:
    """The board's pages, forms and event stream."""
    router = APIRouter(prefix=BOARD, tags=["board"], include_in_schema=False)
    sessions = Sessions(services.link_secret) if services.link_secret else None
    secure = (services.public_url or "").lower().startswith("https://")
    lister = _Lister(services)

    def sessions_or_503() -> Sessions:
        if sessions is None:
            raise _Answer(_message(503, "The board is not configured", NO_SECRET))
        return sessions

    def set_cookie(response: Response, name: str, value: str, max_age: timedelta) -> None:
        response.set_cookie(
            name,
            value,
            max_age=int(max_age.total_seconds()),
            path=COOKIE_PATH,
            secure=secure,
            httponly=True,
            samesite="strict",
        )

    def forget_cookie(response: Response, name: str) -> None:
        response.delete_cookie(
            name, path=COOKIE_PATH, secure=secure, httponly=True, samesite="strict"
        )

    def signed_in(request: Request, *, stream: bool = False) -> tuple[BoardSession, Caller]:
        """The signed-in person, or an answer sending them to sign in (401 for a stream)."""
        board = sessions_or_503()
        session = board.read(request.cookies.get(SESSION_COOKIE), _now())
        caller = None
        if session is not None:
            try:
                caller = services.people.caller(session.person, "board")
            except UnknownPerson:
                caller = None  # taken out of the directory since: signed out
        if session is None or caller is None:
            if stream:
                raise _Answer(Response("sign in at /board/login", status_code=401))
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            answer = _redirect(f"{BOARD}/login?{urlencode({'next': target})}")
            if request.cookies.get(SESSION_COOKIE):
                forget_cookie(answer, SESSION_COOKIE)
            raise _Answer(answer)
        return session, caller

    async def form_of(request: Request, session: BoardSession) -> dict[str, str]:
        """The posted form, its CSRF token checked (403 and nothing done when it is wrong)."""
        form = await _posted_form(request)
        if not sessions_or_503().csrf_ok(session.sid, form.pop("csrf", None)):
            raise _Answer(_forged_form())
        return form

    def page(
        request: Request, template: str, session: BoardSession, caller: Caller, **values: Any
    ) -> HTMLResponse:
        board = sessions_or_503()
        flash = board.read_flash(request.cookies.get(FLASH_COOKIE), _now())
        response = _page(
            template,
            person=caller,
            csrf=board.csrf(session.sid),
            flash=flash,
            **values,
        )
        if flash is not None:
            forget_cookie(response, FLASH_COOKIE)
        return response

    def flashed(to: str, flash: Flash) -> RedirectResponse:
        answer = _redirect(to)
        set_cookie(answer, FLASH_COOKIE, sessions_or_503().flash(flash, _now()), FLASH_TTL)
        return answer

    # --- signing in -------------------------------------------------------------------

    @router.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request, next: str | None = None) -> Response:
        """The sign-in form: paste a personal API token or an OIDC token."""
        board = sessions_or_503()
        cookie, nonce = board.login_nonce(_now())
        response = _login_page(board.csrf(nonce), _local(next))
        set_cookie(response, LOGIN_COOKIE, cookie, LOGIN_TTL)
        return response

    @router.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        """Check the token as the API would; a session cookie (never the token) when good."""
        board = sessions_or_503()
        form = await _posted_form(request)
        target = _local(form.get("next"))
        nonce = board.read_login(request.cookies.get(LOGIN_COOKIE), _now())
        if nonce is None or not board.csrf_ok(nonce, form.get("csrf")):
            return _forged_form("The sign-in form expired or came from elsewhere; open it again.")
        token = form.get("token", "").strip()
        refused: tuple[int, str] | None = None
        try:
            caller = await services.authenticator.caller(f"Bearer {token}" if token else None)
        except NotAuthenticated as err:
            refused = (401, f"That token was not accepted: {err}.")
        except NotAllowed as err:
            refused = (403, f"That token cannot sign in here: {err}.")
        except AuthUnavailable as err:
            refused = (503, f"Tokens cannot be checked just now: {err}.")
        if refused is not None:
            status, why = refused
            return _login_page(board.csrf(nonce), target, error=why, status=status)
        response = _redirect(target)
        set_cookie(
            response,
            SESSION_COOKIE,
            board.issue(caller.person, caller.verified_by, _now()),
            board.ttl,
        )
        forget_cookie(response, LOGIN_COOKIE)
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        """End the session."""
        session, _ = signed_in(request)
        await form_of(request, session)
        response = _redirect(f"{BOARD}/login")
        forget_cookie(response, SESSION_COOKIE)
        return response

    # --- the list ---------------------------------------------------------------------

    def list_query(filters: BoardFilters, person: str) -> str:
        return incidents_query(
            severities=[filters.severity] if filters.severity else [],
            phases=[filters.phase] if filters.phase else [],
            service=filters.service or None,
            commander=person if filters.mine else None,
        )

    async def rows_html(filters: BoardFilters, person: str) -> str:
        try:
            rows = await lister.rows(list_query(filters, person))
            problem = None
        except TemporalUnavailable as err:
            rows, problem = [], f"Temporal is unavailable just now: {err}"[:600]
        return _templates.get_template("board_rows.html.j2").render(
            rows=rows, problem=problem, board=BOARD, filtered=bool(filters.query_string())
        )

    @router.get("", response_class=HTMLResponse)
    async def board_list(request: Request) -> Response:
        """The open incidents, most severe first, with the filters' form."""
        session, caller = signed_in(request)
        filters = BoardFilters.of(request.query_params)
        rows = await rows_html(filters, caller.person)
        return page(
            request,
            "board_list.html.j2",
            session,
            caller,
            title="Open incidents",
            filters=filters,
            severities=SEVERITIES,
            phases=BOARD_PHASES,
            rows_html=Markup(rows),  # rendered by the autoescaping rows template
            events=f"{BOARD}/events?{urlencode(filters.query_string())}",
        )

    @router.get("/events")
    async def board_events(request: Request) -> Response:
        """Server-sent events: ``board`` with the list's fresh rendering whenever it changes."""
        _, caller = signed_in(request, stream=True)
        filters = BoardFilters.of(request.query_params)

        async def stream() -> AsyncIterator[str]:
            board = sessions_or_503()
            started = last_sent = time.monotonic()
            sent: str | None = None
            yield "retry: 3000\n\n"
            while time.monotonic() - started < STREAM_SECONDS:
                if board.read(request.cookies.get(SESSION_COOKIE), _now()) is None:
                    yield "event: signed-out\ndata: sign in again\n\n"
                    return
                html = await rows_html(filters, caller.person)
                if html != sent:
                    sent, last_sent = html, time.monotonic()
                    yield _event("board", html)
                elif time.monotonic() - last_sent >= KEEPALIVE_SECONDS:
                    last_sent = time.monotonic()
                    yield ": still here\n\n"
                await asyncio.sleep(POLL_SECONDS)

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    # --- one incident -----------------------------------------------------------------

    @router.get("/incidents/{ref}", response_class=HTMLResponse)
    async def incident_page(request: Request, ref: str) -> Response:
        """Everything about one incident, with the forms for its common decisions."""
        session, caller = signed_in(request)
        state, timers = await _look_at(services, ref)
        return page(
            request,
            "board_incident.html.j2",
            session,
            caller,
            title=f"{state.human_id} {state.title}",
            ref=ref,
            state=state,
            timers=timers,
            now=_now(),
            awaiting=awaiting_approval(state),
            approver=may_approve(state, caller.person),
            timeline=state.timeline[-TIMELINE_EVENTS:],
            earlier=max(0, len(state.timeline) - TIMELINE_EVENTS) + state.timeline_dropped,
            statuses=(Status.INVESTIGATING, Status.IDENTIFIED),
            impacts=list(ComponentImpact),
            acknowledgeable=state.acknowledged_at is None and state.phase.is_open,
            open_phase=state.phase.is_open,
            closed=state.phase is Phase.CLOSED,
        )

    @router.post("/incidents/{ref}/decisions/{update}", response_class=HTMLResponse)
    async def decide(request: Request, ref: str, update: str) -> Response:
        """Send one decision as the signed-in person; back to the page with what it did."""
        session, caller = signed_in(request)
        form = await form_of(request, session)
        kind = decision_kinds().get(update)
        back = incident_path(ref)
        if kind is None:
            return _message(404, "No such decision", f"Warroom has no decision {update[:100]!r}.")
        try:
            decision = _decision(kind, form, caller)
        except ValidationError as err:
            return flashed(back, Flash(f"Nothing was sent: {_problems(err)}", ok=False))
        try:
            receipt = await send_decision(
                services.client, ref, decision, rpc_timeout=services.rpc_timeout
            )
        except IncidentUnknown as err:
            return _message(404, "No such incident", f"{err}.")
        except DecisionRefused as err:
            return flashed(back, Flash(f"Refused: {err}. Nothing changed.", ok=False))
        except TemporalUnavailable as err:
            return flashed(
                back,
                Flash(f"Temporal is unavailable; nothing was decided, try again: {err}", ok=False),
            )
        return flashed(back, Flash(f"Done: {receipt.event.text}", ok=True))

    # --- declaring --------------------------------------------------------------------

    @router.get("/declare", response_class=HTMLResponse)
    async def declare_form(request: Request) -> Response:
        """The form to declare an incident by hand."""
        session, caller = signed_in(request)
        return page(
            request,
            "board_declare.html.j2",
            session,
            caller,
            title="Declare an incident",
            severities=SEVERITIES,
            given={},
            error=None,
        )

    @router.post("/declare", response_class=HTMLResponse)
    async def declare(request: Request) -> Response:
        """Declare an incident as the signed-in person, as ``warroom declare`` does; its page."""
        session, caller = signed_in(request)
        form = await form_of(request, session)

        def again(status: int, error: str) -> Response:
            response = page(
                request,
                "board_declare.html.j2",
                session,
                caller,
                title="Declare an incident",
                severities=SEVERITIES,
                given=form,
                error=error,
            )
            response.status_code = status
            return response

        try:
            declaration = Declaration.model_validate(
                {
                    "title": form.get("title", ""),
                    "severity": form.get("severity", ""),
                    "service": form.get("service", "").strip() or None,
                    "summary": form.get("summary", ""),
                    "actor": caller.person,
                }
            )
        except ValidationError as err:
            return again(422, f"Nothing was declared: {_problems(err)}")
        try:
            handle = await declare_incident(
                await services.client(), declaration, task_queue=services.task_queue
            )
        except (RuntimeError, RPCError) as err:
            why = err.message if isinstance(err, RPCError) else str(err)
            return again(503, f"Temporal is unavailable; nothing was declared: {why}"[:600])
        state = await _declared(services, handle.id)
        if state is None:
            return flashed(
                incident_path(handle.id),
                Flash("Declared; no worker has picked it up yet (is one running?).", ok=False),
            )
        return flashed(incident_path(state.human_id), Flash(f"{state.human_id} declared.", ok=True))

    return router


def mount_board(app: FastAPI, services: WebServices) -> None:
    """The board's routes and its static files (stylesheet, vendored htmx)."""

    async def answer(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, _Answer)
        return exc.response

    app.add_exception_handler(_Answer, answer)
    app.include_router(board_router(services))
    app.mount(STATIC, StaticFiles(packages=[("starter.web", "static")]), name="board-static")


def _event(name: str, html: str) -> str:
    data = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
    return f"event: {name}\n{data}\n"


def _login_page(
    csrf: str, target: str, *, error: str | None = None, status: int = 200
) -> HTMLResponse:
    return _page(
        "board_login.html.j2",
        status,
        title="Sign in",
        csrf=csrf,
        next=target,
        error=error,
        person=None,
    )


def _forged_form(why: str = "The form expired or did not come from this board.") -> HTMLResponse:
    return _message(403, "Nothing was done", f"{why} Reload the page and try again.")


async def _posted_form(request: Request) -> dict[str, str]:
    """A url-encoded form's fields (the last of a repeated one), or an answer saying why not."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if not body:
        return {}  # and so no CSRF token
    if kind != "application/x-www-form-urlencoded":
        raise _Answer(_message(415, "Nothing was done", "Expected a form from the board."))
    if len(body) > FORM_BYTES:
        raise _Answer(_message(413, "Nothing was done", "The form is too large."))
    try:
        return dict(parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=50))
    except (UnicodeDecodeError, ValueError):
        raise _Answer(_message(400, "Nothing was done", "The form could not be read.")) from None


def _decision(kind: type[Decision], form: Mapping[str, str], caller: Caller) -> Decision:
    given = {
        name: value.strip()
        for name, value in form.items()
        if name in kind.model_fields and name not in SET_BY_SERVER and value.strip()
    }
    return kind.model_validate({**given, "actor": caller.person, "verified_by": "board"})


def _problems(err: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in err.errors()[:5]
    )


async def _look_at(services: WebServices, ref: str) -> tuple[IncidentState, list[PendingTimer]]:
    try:
        return await incident_state_and_timers(
            services.client, ref, rpc_timeout=services.rpc_timeout
        )
    except IncidentUnknown as err:
        raise _Answer(_message(404, "No such incident", f"{err}.")) from err
    except (TemporalUnavailable, DecisionRefused) as err:
        raise _Answer(
            _message(
                503,
                "The incident did not answer",
                f"{ref} could not be read just now (is a worker running?): {err}"[:600],
                retry=incident_path(ref),
            )
        ) from err


async def _declared(services: WebServices, workflow_id: str) -> IncidentState | None:
    """The new incident's state once a worker declared it; None after DECLARE_WAIT_SECONDS."""
    deadline = time.monotonic() + DECLARE_WAIT_SECONDS
    while time.monotonic() < deadline:
        try:
            state, _ = await incident_state_and_timers(
                services.client, workflow_id, rpc_timeout=services.rpc_timeout
            )
        except (TemporalUnavailable, IncidentUnknown, DecisionRefused):
            await asyncio.sleep(0.2)
            continue
        return state
    return None
