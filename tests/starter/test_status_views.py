"""The status page's words and its cache, without a server: times read like a person wrote
them, a service shows its worst open incident, and Postgres is asked once per few seconds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from incident.impact import ComponentImpact
from incident.models import Status
from starter.web.status import status_router
from starter.web.status_record import (
    PublicIncident,
    PublicUpdate,
    StatusCache,
    StatusSnapshot,
    StatusUnavailable,
    snapshot,
)
from starter.web.status_views import headline, spoken_day, spoken_moment, summary

NOW = datetime(2026, 12, 3, 15, 49, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "words"),
    [
        (NOW - timedelta(minutes=5), "today at 15:44 UTC"),
        (NOW - timedelta(days=1), "yesterday at 15:49 UTC"),
        (datetime(2026, 12, 1, 9, 5, tzinfo=UTC), "Tue 1 Dec at 09:05 UTC"),
        (datetime(2025, 11, 30, 23, 0, tzinfo=UTC), "30 Nov 2025 at 23:00 UTC"),
    ],
)
def test_a_moment_reads_like_a_person_wrote_it(moment: datetime, words: str) -> None:
    assert spoken_moment(moment, NOW) == words


def test_a_day_of_history_is_named() -> None:
    assert spoken_day(NOW, NOW) == "Today"
    assert spoken_day(datetime(2026, 12, 1, tzinfo=UTC), NOW) == "Tuesday 1 December"


def _incident(
    service: str | None, impact: ComponentImpact, *, told: bool = False, minutes: int = 10
) -> PublicIncident:
    updates = (
        (PublicUpdate(1, NOW, Status.IDENTIFIED, impact, "We found the cause."),) if told else ()
    )
    return PublicIncident(
        id=f"INC-{service}-{impact.value}",
        service=service,
        started_at=NOW - timedelta(minutes=minutes),
        resolved_at=None,
        impact_now=impact,
        updates=updates,
    )


def test_a_service_shows_its_worst_open_incident_and_the_rest_are_operational() -> None:
    snap = snapshot(
        NOW,
        [
            _incident("checkout", ComponentImpact.DEGRADED),
            _incident("checkout", ComponentImpact.MAJOR_OUTAGE),
            _incident("billing", ComponentImpact.OPERATIONAL),  # a P3: customers see nothing
        ],
        [],
        ["api", "checkout", "billing"],
    )
    assert [(c.name, c.status) for c in snap.components] == [
        ("api", ComponentImpact.OPERATIONAL),
        ("billing", ComponentImpact.OPERATIONAL),
        ("checkout", ComponentImpact.MAJOR_OUTAGE),
    ]
    assert len(snap.active) == 2
    assert headline(snap) == "Major outage: checkout"
    shaped = summary(snap, name="Acme", page_url="https://acme.test/status", stale=False)
    assert shaped["status"]["indicator"] == "critical"
    assert set(shaped) >= {"page", "status", "components", "incidents", "scheduled_maintenances"}


def test_an_incident_customers_were_told_of_is_shown_even_when_it_is_operational() -> None:
    snap = snapshot(NOW, [_incident("billing", ComponentImpact.OPERATIONAL, told=True)], [], [])
    [incident] = snap.active
    assert incident.status is Status.IDENTIFIED
    assert headline(snap) == "All systems operational; we are looking into a problem"


def _empty() -> StatusSnapshot:
    return snapshot(NOW, [], [], ["api"])


async def test_the_record_is_read_once_per_few_seconds_however_many_ask() -> None:
    reads = 0
    clock = [0.0]

    async def read() -> StatusSnapshot:
        nonlocal reads
        reads += 1
        await asyncio.sleep(0.01)
        return _empty()

    cache = StatusCache(read, fresh_for=15, clock=lambda: clock[0])
    answers = await asyncio.gather(*(cache.get() for _ in range(50)))
    assert reads == 1 and all(stale is False for _, stale in answers)
    clock[0] = 14.9
    await cache.get()
    assert reads == 1
    clock[0] = 15.1
    await cache.get()
    assert reads == 2


async def test_postgres_away_serves_the_last_page_marked_stale_and_asks_again_later() -> None:
    clock = [0.0]
    up = [True]
    reads = 0

    async def read() -> StatusSnapshot:
        nonlocal reads
        reads += 1
        if not up[0]:
            raise StatusUnavailable("connection refused")
        return _empty()

    cache = StatusCache(read, fresh_for=15, retry_after=5, clock=lambda: clock[0])
    first, stale = await cache.get()
    assert stale is False
    up[0] = False
    clock[0] = 20
    kept, stale = await cache.get()
    assert kept is first and stale is True
    clock[0] = 24  # within retry_after: Postgres is left alone
    await cache.get()
    assert reads == 2
    up[0] = True
    clock[0] = 26
    _, stale = await cache.get()
    assert stale is False and reads == 3


async def test_postgres_away_from_the_start_is_unavailable() -> None:
    async def read() -> StatusSnapshot:
        raise StatusUnavailable("connection refused")

    with pytest.raises(StatusUnavailable):
        await StatusCache(read).get()


async def test_a_stale_page_says_since_when_it_could_not_be_refreshed() -> None:
    clock = [0.0]
    up = [True]

    async def read() -> StatusSnapshot:
        if not up[0]:
            raise StatusUnavailable("connection refused")
        return snapshot(NOW, [_incident("checkout", ComponentImpact.PARTIAL_OUTAGE)], [], [])

    app = FastAPI()
    cache = StatusCache(read, clock=lambda: clock[0])
    app.include_router(status_router(cache, name="Acme", public_url="https://acme.test"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://evil.test") as http:
        fresh = await http.get("/status")
        up[0], clock[0] = False, 60
        stale = await http.get("/status")
        summary_ = (await http.get("/status.json")).json()
    assert fresh.status_code == stale.status_code == 200
    assert "could not be refreshed" not in fresh.text
    assert "This page could not be refreshed just now" in stale.text
    assert "Partial outage: checkout" in stale.text
    assert "max-age=5" in stale.headers["cache-control"]
    assert summary_["stale"] is True
    # Links come from WARROOM_PUBLIC_URL, never from the Host a client sent.
    assert "https://acme.test/status/feed.atom" in stale.text and "evil.test" not in stale.text
