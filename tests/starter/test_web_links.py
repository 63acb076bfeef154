"""Acknowledge links: looking changes nothing, the button acknowledges as the link's person,
once; a forged, expired or used link is a 403 that changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from activities.ack_links import (
    ACK_PATH,
    LinkExpired,
    LinkForged,
    ack_url,
    new_nonce,
    sign_ack_link,
    verify,
)
from incident.models import Phase
from starter.api import IncidentHandle
from tests.support.harness import Harness
from tests.support.web import LINK_SECRET, fixed_client, running_service, web_settings

SOON = datetime.now(UTC) + timedelta(hours=1)


def test_a_link_says_who_acknowledges_what_until_when() -> None:
    token = sign_ack_link(LINK_SECRET, "INC-7K3QX-D2MPA", "alice", SOON, "n1")
    link = verify(LINK_SECRET, token)
    assert (link.incident, link.person, link.nonce) == ("INC-7K3QX-D2MPA", "alice", "n1")
    assert link.expires_at == SOON.replace(microsecond=0)


@pytest.mark.parametrize("change", ["person", "secret", "truncated", "garbage"])
def test_a_link_changed_or_signed_elsewhere_is_forged(change: str) -> None:
    token = sign_ack_link(LINK_SECRET, "INC-7K3QX-D2MPA", "alice", SOON, "n1")
    if change == "person":
        header, _, signature = token.split(".")
        other = sign_ack_link(LINK_SECRET, "INC-7K3QX-D2MPA", "mallory", SOON, "n1")
        token = f"{header}.{other.split('.')[1]}.{signature}"
    elif change == "secret":
        token = sign_ack_link("another-secret-of-enough-length-0123456789", "I", "alice", SOON, "n")
    elif change == "truncated":
        token = token[:-4]
    else:
        token = "not-a-link"
    with pytest.raises(LinkForged):
        verify(LINK_SECRET, token)


def test_an_expired_link_says_when_it_expired() -> None:
    then = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    token = sign_ack_link(LINK_SECRET, "INC-7K3QX-D2MPA", "alice", then, "n1")
    with pytest.raises(LinkExpired, match="this link expired at 2026-11-24 10:00:00 UTC"):
        verify(LINK_SECRET, token)


def test_ack_url_is_the_public_base_and_a_fresh_single_use_token() -> None:
    first = ack_url("https://warroom.example.com/", LINK_SECRET, "INC-1", "bob", timedelta(hours=2))
    second = ack_url("https://warroom.example.com", LINK_SECRET, "INC-1", "bob", timedelta(hours=2))
    assert first.startswith("https://warroom.example.com" + ACK_PATH)
    one, two = (verify(LINK_SECRET, url.rsplit("/", 1)[1]) for url in (first, second))
    assert one.nonce != two.nonce and one.person == "bob"


@pytest.fixture
async def pages(harness: Harness, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = web_settings(tmp_path, database_url=harness.database_url)
    async with (
        running_service(settings, fixed_client(harness.client)) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        yield http


def link_for(handle: IncidentHandle, person: str = "alice", expires_at: datetime = SOON) -> str:
    return ACK_PATH + sign_ack_link(LINK_SECRET, handle.id, person, expires_at, new_nonce())


async def nothing_changed(harness: Harness, handle: IncidentHandle) -> None:
    state = await harness.state(handle)
    assert state.acknowledged_by is None and state.phase is Phase.TRIAGED


async def test_looking_at_a_link_shows_what_will_happen_and_changes_nothing(
    harness: Harness, pages: httpx.AsyncClient
) -> None:
    handle = await harness.declare(title="Checkout 5xx")
    human_id = (await harness.state(handle)).human_id
    link = link_for(handle)
    for _ in range(2):
        page = await pages.get(link)
        assert page.status_code == 200
        assert f"Acknowledge {human_id} as Alice Ng" in page.text
        assert "Checkout 5xx" in page.text
        assert f'<form method="post" action="{link}">' in page.text
        assert "<script" not in page.text
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["referrer-policy"] == "no-referrer"
    await nothing_changed(harness, handle)


async def test_the_button_acknowledges_as_the_links_person_once(
    harness: Harness, pages: httpx.AsyncClient
) -> None:
    handle = await harness.declare()
    link = link_for(handle)
    done = await pages.post(link)
    assert done.status_code == 200, done.text
    assert "acknowledged by Alice Ng" in done.text
    state = await harness.state(handle)
    assert state.acknowledged_by == "alice"
    acknowledged = [e for e in state.timeline if e.via not in (None, "admin")]
    assert [(e.actor, e.via) for e in acknowledged] == [("alice", "link")]
    replayed = await pages.post(link)
    assert replayed.status_code == 403
    assert "this link was already used" in replayed.text.lower()
    looked = await pages.get(link)
    assert looked.status_code == 403


@pytest.mark.parametrize("kind", ["forged", "expired", "unknown person"])
async def test_a_link_that_is_not_good_is_a_403_and_changes_nothing(
    harness: Harness, pages: httpx.AsyncClient, kind: str
) -> None:
    handle = await harness.declare()
    if kind == "forged":
        link = ACK_PATH + sign_ack_link(
            "a-secret-that-is-not-warrooms-0123456789", handle.id, "alice", SOON, new_nonce()
        )
        reason = "not one Warroom made"
    elif kind == "expired":
        then = datetime.now(UTC) - timedelta(minutes=5)
        link = link_for(handle, expires_at=then)
        reason = f"this link expired at {then:%Y-%m-%d %H:%M}"
    else:
        link = link_for(handle, person="mallory")
        reason = "not a person in the directory"
    for method in ("GET", "POST"):
        response = await pages.request(method, link)
        assert response.status_code == 403, response.text
        assert reason in response.text
    await nothing_changed(harness, handle)


async def test_a_link_to_an_incident_that_refuses_it_says_why(
    harness: Harness, pages: httpx.AsyncClient
) -> None:
    handle = await harness.declare()
    assert (await pages.post(link_for(handle, person="bob"))).status_code == 200
    late = await pages.post(link_for(handle))
    assert late.status_code == 409
    assert "acknowledged" in late.text
    assert (await harness.state(handle)).acknowledged_by == "bob"


async def test_without_a_link_secret_no_link_is_taken(harness: Harness, tmp_path: Path) -> None:
    settings = web_settings(tmp_path, database_url=harness.database_url, link_secret=None)
    handle = await harness.declare()
    async with (
        running_service(settings, fixed_client(harness.client)) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        response = await http.post(link_for(handle))
    assert response.status_code == 503
    await nothing_changed(harness, handle)
