"""Pages reach people, under time skipping: a handoff between two steps pages the new
person; acknowledging from the link in a page stops every repeat page, for everyone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from activities.ack_links import link_maker
from activities.contact import Senders
from directory.load import parse_directory
from directory.models import Directory
from incident.models import Declaration
from incident.policy import Policy
from incident.severity import Severity
from settings import ContactSettings
from starter.api import IncidentHandle, declare_incident
from tests.support.harness import Harness
from tests.support.web import LINK_SECRET, fixed_client, running_service, web_settings
from tests.support.workers import running_worker
from worker.run import People

MIN = timedelta(minutes=1)


def directory(now: datetime) -> dict[str, Any]:
    """Ann is on call; Ben covers from 5 minutes from now (a handoff mid-incident).
    Checkout pages the primary schedule every 10 minutes, three times in all."""
    return {
        "version": "handoff-1",
        "people": {
            "ann": {"name": "Ann Archer", "contact": [{"kind": "console", "address": "ann"}]},
            "ben": {  # two methods, both at once
                "name": "Ben Baker",
                "contact": [
                    {"kind": "console", "address": "ben"},
                    {"kind": "console", "address": "ben", "label": "phone"},
                ],
            },
        },
        "teams": {"shop": {"name": "Shop", "members": ["ann", "ben"], "schedules": ["primary"]}},
        "schedules": {
            "primary": {
                "time_zone": "Europe/London",
                "layers": [
                    {
                        "name": "weekly",
                        "rotation": "weekly",
                        "start": (now - timedelta(days=3)).date().isoformat(),
                        "members": ["ann"],
                    }
                ],
                "overrides": [
                    {
                        "person": "ben",
                        "start": (now + 5 * MIN).isoformat(),
                        "end": (now + timedelta(hours=6)).isoformat(),
                    }
                ],
            }
        },
        "escalation_policies": {
            "shop-default": {
                "levels": [{"targets": [{"schedule": "primary"}], "delay": "10m"}],
                "repeat": 2,
            }
        },
        "services": {"checkout": {"team": "shop", "escalation_policy": "shop-default"}},
    }


@pytest.fixture
async def paging(
    bare_harness: Harness, policy: Policy, tmp_path: Path
) -> AsyncIterator[tuple[Harness, str]]:
    """A worker paging the directory's people on the harness's console, with acknowledge
    links served by the HTTP service; yields the harness and the service's URL."""
    harness = bare_harness
    now = datetime.now(UTC)  # each incident's virtual clock starts at the real time
    text = yaml.safe_dump(directory(now))
    people = parse_directory(text)
    path = tmp_path / "shop.yaml"
    path.write_text(text)
    settings = web_settings(tmp_path, database_url=harness.database_url, directory_path=path)

    async def source() -> Directory:
        return people

    async with (
        running_service(settings, fixed_client(harness.client)) as url,
        httpx.AsyncClient() as http,
    ):
        senders = Senders(ContactSettings(console_url=f"{harness.receiver.url}/console"), http)
        links = link_maker(url, LINK_SECRET, timedelta(hours=2))
        async with running_worker(
            harness, policy, people=People(directory=source, senders=senders, ack_links=links)
        ):
            yield harness, url


def pages(harness: Harness) -> list[dict[str, Any]]:
    """The pages the console got, oldest first."""
    return [r.json() for r in harness.receiver.received if r.path == "/console"]


async def declare(harness: Harness) -> IncidentHandle:
    handle = await declare_incident(
        harness.client,
        Declaration(
            title="Checkout failing", severity=Severity.P1, service="checkout", actor="dana"
        ),
        task_queue=harness.task_queue,
    )
    await harness.until(handle, lambda s: any(k.startswith("page:") for k in s.steps_taken))
    await harness.settle(handle)
    return handle


async def test_a_handoff_mid_incident_pages_the_new_person_at_the_next_step(
    paging: tuple[Harness, str],
) -> None:
    harness, _ = paging
    handle = await declare(harness)
    assert [p["person"] for p in pages(harness)] == ["Ann Archer"]
    await harness.advance(handle, 10 * MIN)  # Ben took over at 5 min; round 2 is at 10
    assert [p["person"] for p in pages(harness)][-2:] == ["Ben Baker", "Ben Baker"]
    state = await harness.state(handle)
    paged = [e.text for e in state.timeline if e.kind == "paged"]
    assert paged[0] == "Paged Ann Archer (level 1: schedule primary): console delivered"
    assert paged[-1] == (
        "Paged Ben Baker (level 1: schedule primary): console delivered; phone delivered"
    )


async def test_acknowledging_from_the_link_stops_every_repeat_page(
    paging: tuple[Harness, str],
) -> None:
    harness, _ = paging
    handle = await declare(harness)
    [page] = pages(harness)
    async with httpx.AsyncClient() as http:
        shown = await http.get(page["ack_url"])
        assert shown.status_code == 200 and "Ann Archer" in shown.text
        assert (await harness.state(handle)).acknowledged_at is None  # looking changes nothing
        done = await http.post(page["ack_url"])
        assert done.status_code == 200, done.text
    state = await harness.state(handle)
    assert state.acknowledged_by == "ann"
    [ack] = [e for e in state.timeline if e.kind == "acknowledged"]
    assert (ack.actor, ack.via) == ("ann", "link")
    await harness.advance(handle, 60 * MIN)  # both repeats and Ben's handoff come and go
    assert [p["person"] for p in pages(harness)] == ["Ann Archer"]
    assert not [t for t in await harness.timers(handle) if t.kind in ("page", "follow_up")]
