"""The board: nobody sees or changes anything without signing in, a bad token is refused,
every form needs its CSRF token, decisions go as the signed-in person and the incident's
rules decide whether that person may take them."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from incident.containment import ActionKind, ActionState
from incident.models import (
    AssignRole,
    Declaration,
    PendingTimer,
    ProposeContainment,
    Role,
    TimerKind,
)
from incident.policy import Policy
from incident.severity import Severity
from starter.api import IncidentHandle, decide, declare_incident, incident_handle
from starter.hooks.app import create_app
from starter.hooks.settings import HookSettings
from starter.web import build_services
from starter.web.board_view import BoardFilters, due_in, timer_words
from starter.web.session import SESSION_COOKIE, Flash, Sessions
from starter.web.store import CredentialStore
from tests.support.harness import Harness
from tests.support.wait import eventually
from tests.support.web import LINK_SECRET, fixed_client, running_service, unreachable, web_settings
from tests.support.workers import running_worker

NOW = datetime(2025, 3, 1, 14, 0, tzinfo=UTC)
OIDC = {
    "oidc_issuer": "https://id.example.com",
    "oidc_audience": "warroom",
    "oidc_jwks_url": "https://id.example.com/jwks",
}


def in_process(folder: Path, **settings: Any) -> httpx.AsyncClient:
    """The HTTP service in process (no Temporal behind it)."""
    hooks = HookSettings(tokens=("hooks-machine-token",))
    people = build_services(
        web_settings(folder, **settings), unreachable(), rpc_timeout=hooks.rpc_timeout
    )
    app = create_app(hooks, unreachable(), people)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://board.test")


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


# --- without Temporal ---------------------------------------------------------------


async def test_without_signing_in_pages_redirect_and_the_event_stream_is_401(
    tmp_path: Path,
) -> None:
    async with in_process(tmp_path, **OIDC) as board:
        for path in ("/board", "/board/incidents/INC-1", "/board/declare"):
            answer = await board.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/board/login?next=")
        assert (await board.get("/board/events")).status_code == 401
        refused = await board.post("/board/declare", data={"title": "x", "severity": "P0"})
        assert refused.status_code == 303 and "login" in refused.headers["location"]


async def test_without_a_link_secret_the_board_says_what_to_set(tmp_path: Path) -> None:
    async with in_process(tmp_path, link_secret=None, **OIDC) as board:
        for path in ("/board", "/board/login", "/board/events"):
            answer = await board.get(path)
            assert answer.status_code == 503, path
            assert "WARROOM_LINK_SECRET" in answer.text


async def test_a_token_that_is_not_good_is_refused_and_signs_nobody_in(tmp_path: Path) -> None:
    async with in_process(tmp_path, **OIDC) as board:
        form = await board.get("/board/login")
        assert form.status_code == 200 and 'type="password"' in form.text
        for token, why in (
            ("nonsense", "bearer token not recognised"),
            ("wrt_abc", "personal API tokens are not taken here"),
        ):
            answer = await board.post(
                "/board/login", data={"token": token, "csrf": csrf_of(form), "next": "/board"}
            )
            assert answer.status_code == 401 and why in answer.text
            assert SESSION_COOKIE not in answer.cookies
        # The sign-in form needs its own cookie: another site cannot sign anyone in.
        board.cookies.clear()
        forged = await board.post("/board/login", data={"token": "x", "csrf": csrf_of(form)})
        assert forged.status_code == 403


async def test_a_session_names_the_person_but_a_forged_or_expired_one_nobody(
    tmp_path: Path,
) -> None:
    sessions = Sessions(LINK_SECRET)
    cookie = sessions.issue("alice", "token", NOW)
    session = sessions.read(cookie, NOW + timedelta(hours=11))
    assert session is not None and session.person == "alice"
    assert sessions.read(cookie, NOW + timedelta(hours=12)) is None
    assert Sessions("another-secret-0123456789abcdef-xyz").read(cookie, NOW) is None
    assert sessions.read(cookie[:-2] + "xx", NOW) is None
    # A flash or a sign-in cookie is not a session, however well signed.
    assert sessions.read(sessions.flash(Flash("hi", ok=True), NOW), NOW) is None
    assert sessions.csrf_ok(session.sid, sessions.csrf(session.sid))
    assert not sessions.csrf_ok(session.sid, sessions.csrf("another"))
    # A signed-in person's pages: with Temporal away, the list says so.
    async with in_process(tmp_path, **OIDC) as board:
        board.cookies.set(SESSION_COOKIE, sessions.issue("alice", "token", datetime.now(UTC)))
        page = await board.get("/board")
        assert page.status_code == 200 and "Temporal is unavailable" in page.text
        assert "Alice Ng" in page.text
        board.cookies.set(SESSION_COOKIE, sessions.issue("mallory", "token", datetime.now(UTC)))
        assert (await board.get("/board")).status_code == 303  # not in the directory


def test_a_timer_and_the_filters_in_words() -> None:
    timer = PendingTimer(
        key="ack", kind=TimerKind.ACK_DEADLINE, due=NOW + timedelta(minutes=4), summary="x"
    )
    assert timer_words(timer, NOW) == "ack due in 4 min"
    assert due_in(NOW - timedelta(minutes=12), NOW) == "12 min ago"
    filters = BoardFilters.of({"severity": "P0", "phase": "nonsense", "mine": "1"})
    assert filters == BoardFilters(severity="P0", phase="", service="", mine=True)


# --- with Temporal and Postgres -----------------------------------------------------


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[CredentialStore]:
    credentials = CredentialStore(database_url)
    yield credentials
    await credentials.close()


@pytest.fixture
async def board_url(harness: Harness, tmp_path: Path) -> AsyncIterator[str]:
    settings = web_settings(tmp_path, database_url=harness.database_url)
    async with running_service(
        settings, fixed_client(harness.client), task_queue=harness.task_queue
    ) as url:
        yield url


@asynccontextmanager
async def signed_in(
    url: str, store: CredentialStore, person: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client signed in as ``person`` with a fresh personal token."""
    token, _ = await store.create_token(person, None)
    async with httpx.AsyncClient(base_url=url) as http:
        yield await _signed_in(http, token)


async def _signed_in(http: httpx.AsyncClient, token: str) -> httpx.AsyncClient:
    form = await http.get("/board/login", params={"next": "/board"})
    answer = await http.post(
        "/board/login", data={"token": token, "csrf": csrf_of(form), "next": "/board"}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/board", answer.text
    cookie = http.cookies.get(SESSION_COOKIE)
    assert cookie and token not in cookie and token[4:] not in cookie
    set_cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie and "max-age" in set_cookie
    return http


async def declared_on(harness: Harness, service: str, **extra: Any) -> IncidentHandle:
    handle = await declare_incident(
        harness.client,
        Declaration(
            title="Checkout 5xx", severity=Severity.P0, actor="alice", service=service, **extra
        ),
        task_queue=harness.task_queue,
    )
    await harness.until(handle, lambda s: s.human_id.startswith("INC-"))
    return handle


async def test_the_list_shows_each_open_incident_with_its_columns(
    harness: Harness, board_url: str, store: CredentialStore
) -> None:
    service = f"board-{uuid.uuid4().hex[:6]}"
    handle = await declared_on(harness, service, commander="alice")
    human_id = (await harness.state(handle)).human_id
    async with signed_in(board_url, store, "alice") as http:

        async def listed() -> str | None:
            page = await http.get("/board", params={"service": service, "mine": "1"})
            return page.text if human_id in page.text else None

        text = await eventually(listed)
        row = text[text.index(f'data-incident="{human_id}"') :]
        row = row[: row.index("</tr>")]
        for shown in (
            human_id,
            "Checkout 5xx",
            ">P0<",
            "triaged / investigating",
            service,
            "alice",
            "ack due in",
            "Approvals",
        ):
            assert shown in row or shown in text, shown
        assert re.search(r'data-label="Age">(\d+ (s|min)|under a second)<', row), row
        for header in ("Incident", "Title", "Severity", "Phase / status", "Service"):
            assert f'<th scope="col">{header}</th>' in text
        # The live list: the event stream pushes the same rows.
        async with http.stream(
            "GET", "/board/events", params={"service": service}, timeout=10
        ) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            seen = ""
            async for line in stream.aiter_lines():
                seen += line + "\n"
                if human_id in seen:
                    break
            assert "event: board" in seen


async def test_a_form_without_its_csrf_token_changes_nothing(
    harness: Harness, board_url: str, store: CredentialStore
) -> None:
    handle = await declared_on(harness, "checkout", commander="alice")
    async with signed_in(board_url, store, "alice") as http:
        path = f"/board/incidents/{handle.id}/decisions/acknowledge"
        for form in ({}, {"csrf": "forged"}):
            answer = await http.post(path, data=form)
            assert answer.status_code == 403 and "Nothing was done" in answer.text
        async with signed_in(board_url, store, "bob") as other:
            page = await other.get(f"/board/incidents/{handle.id}")
        answer = await http.post(path, data={"csrf": csrf_of(page)})  # bob's session's token
        assert answer.status_code == 403
    assert (await harness.state(handle)).acknowledged_by is None


async def test_approving_is_for_the_commander_a_refusal_says_why_and_changes_nothing(
    harness: Harness, board_url: str, store: CredentialStore
) -> None:
    handle = await declared_on(harness, "checkout", commander="alice")
    await decide(
        handle,
        ProposeContainment(
            actor="carol", kind=ActionKind.ROLLBACK_DEPLOYMENT, target="checkout-api"
        ),
    )
    page_path = f"/board/incidents/{handle.id}"
    approve = f"{page_path}/decisions/approve_containment"
    async with signed_in(board_url, store, "bob") as bob:
        page = await bob.get(page_path)
        assert "#1 rollback deployment checkout-api" in page.text
        assert "awaiting approval" in page.text and ">Approve</button>" not in page.text
        refused = await bob.post(
            approve, data={"csrf": csrf_of(page), "action_id": "1"}, follow_redirects=True
        )
        assert refused.status_code == 200
        flash = re.search(
            r'<div class="flash refused" role="alert" id="flash">([^<]*)', refused.text
        )
        assert flash, refused.text
        assert flash.group(1).startswith("Refused: ") and flash.group(1).endswith(
            "bob cannot approve containment: only the incident commander or technical lead "
            "can. Nothing changed."
        )
    state = await harness.state(handle)
    assert [a.state for a in state.containment] == [ActionState.AWAITING_APPROVAL]
    async with signed_in(board_url, store, "alice") as alice:
        page = await alice.get(page_path)
        assert ">Approve</button>" in page.text and ">Deny</button>" in page.text
        done = await alice.post(
            approve, data={"csrf": csrf_of(page), "action_id": "1"}, follow_redirects=True
        )
        assert done.status_code == 200 and "Done: Approved #1 rollback" in done.text
        assert "approved by alice" in done.text
    state = await harness.state(handle)
    assert state.containment[0].decided_by == "alice"
    approved = next(e for e in state.timeline if e.kind == "containment_approved")
    assert approved.actor == "alice" and approved.via == "board"


async def test_declaring_on_the_board_opens_the_incident_as_the_person(
    harness: Harness, board_url: str, store: CredentialStore
) -> None:
    async with signed_in(board_url, store, "bob") as http:
        form = await http.get("/board/declare")
        bad = await http.post("/board/declare", data={"csrf": csrf_of(form), "title": ""})
        assert bad.status_code == 422 and "Nothing was declared" in bad.text
        answer = await http.post(
            "/board/declare",
            data={
                "csrf": csrf_of(form),
                "title": "Search is slow",
                "severity": "P2",
                "service": "search",
                "summary": "p99 above 2 s",
            },
        )
        assert answer.status_code == 303, answer.text
        where = answer.headers["location"]
        assert re.fullmatch(r"/board/incidents/INC-[0-9A-Z]{5}-[0-9A-Z]{5}", where), where
        page = await http.get(where)
        assert "Search is slow" in page.text and "declared." in page.text
        assert "Acknowledge as Bob Stone" in page.text
        acked = await http.post(
            f"{where}/decisions/acknowledge", data={"csrf": csrf_of(page)}, follow_redirects=True
        )
        assert "Done:" in acked.text
    human_id = where.rsplit("/", 1)[1]
    state = await harness.state(await incident_handle(harness.client, human_id))
    assert state.declared_by == "bob" and state.service == "search"
    assert state.acknowledged_by == "bob"


async def test_the_commander_tells_customers_from_the_board_and_others_may_not(
    harness: Harness, board_url: str, store: CredentialStore
) -> None:
    handle = await declared_on(harness, "checkout", commander="alice")
    await decide(handle, AssignRole(actor="alice", role=Role.COMMUNICATIONS_LEAD, person="carol"))
    page_path = f"/board/incidents/{handle.id}"
    post = f"{page_path}/decisions/post_customer_update"
    async with signed_in(board_url, store, "bob") as bob:
        page = await bob.get(page_path)
        assert "not told yet" in page.text
        refused = await bob.post(
            post, data={"csrf": csrf_of(page), "message": "All good"}, follow_redirects=True
        )
        assert "bob cannot post a customer update" in refused.text
    async with signed_in(board_url, store, "alice") as alice:
        page = await alice.get(page_path)
        done = await alice.post(
            post,
            data={"csrf": csrf_of(page), "message": "", "impact": "partial_outage"},
            follow_redirects=True,
        )
        assert done.status_code == 200 and "Done: Customer update (partial outage)" in done.text
        assert "told once" in done.text
        assert "We are investigating a problem affecting checkout since" in done.text
    [update] = (await harness.state(handle)).customer_updates
    assert (update.actor, update.impact.value) == ("alice", "partial_outage")


async def test_the_incident_page_links_the_bridge_the_policy_names(
    bare_harness: Harness, policy: Policy, store: CredentialStore, tmp_path: Path
) -> None:
    bridge = "https://meet.example.com/warroom-bridge"
    communication = policy.communication.model_copy(update={"bridge_url": bridge})
    bridged = policy.model_copy(update={"communication": communication})
    settings = web_settings(tmp_path, database_url=bare_harness.database_url)
    async with (
        running_worker(bare_harness, bridged),
        running_service(
            settings, fixed_client(bare_harness.client), task_queue=bare_harness.task_queue
        ) as url,
    ):
        handle = await declared_on(bare_harness, "checkout", commander="alice")
        async with signed_in(url, store, "alice") as http:
            page = await http.get(f"/board/incidents/{handle.id}")
    assert f'<dt>Bridge</dt><dd><a href="{bridge}"' in page.text
