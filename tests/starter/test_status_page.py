"""The public status page: what customers see, from the incident record alone.

Incidents are played by the real rules and written by the real store into a
database of their own; the HTTP service runs on loopback with a Temporal that
cannot be reached, so every answer here came from Postgres.
"""

from __future__ import annotations

import asyncio
import json
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from activities.store import StoreActivities
from dev.ports import free_port
from incident.impact import ComponentImpact
from incident.lifecycle import Incident
from incident.models import (
    Acknowledge,
    AddNote,
    Declaration,
    PostCustomerUpdate,
    ProbeResult,
    Resolve,
)
from incident.policy import load_policy
from incident.records import pending_batch
from incident.severity import Severity
from starter.postgres import upgrade
from tests.support.checks import VOUCHED
from tests.support.web import running_service, unreachable, web_settings

MIN = timedelta(minutes=1)
ATOM = "{http://www.w3.org/2005/Atom}"
TITLE = "Primary db01 fenced after split brain in eu-west-1b"
NOTE = "rotated the pgbouncer password for svc_checkout"
HOSTILE = 'Payments fail for some cards <script>alert("x")</script> & more'


@pytest.fixture
async def record_url(database_url: str) -> str:
    """An empty, migrated database of this test's own: its page shows only its incidents."""
    name = f"status_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(database_url)
    await admin.execute(f"CREATE DATABASE {name}")
    await admin.close()
    url = database_url.replace("/postgres?", f"/{name}?")
    await upgrade(url)
    return url


def declare(severity: Severity, service: str, at: datetime) -> Incident:
    incident, _ = Incident.open(
        human_id=f"INC-{uuid.uuid4().hex[:5].upper()}-{uuid.uuid4().hex[:5].upper()}",
        source="manual",
        dedup_key=None,
        declaration=Declaration(title=TITLE, severity=severity, service=service, actor="alice"),
        alerts=[],
        policy=load_policy(),
        now=at,
    )
    incident.apply(Acknowledge(actor="bob", reason="on it"), at + MIN)
    incident.apply(AddNote(actor="bob", text=NOTE), at + 2 * MIN)
    return incident


def resolve(incident: Incident, at: datetime) -> None:
    """Resolved by the rules: root cause, the quiet window, the probes in bounds."""
    incident.apply(Resolve(actor="bob", root_cause="bad deploy", verified=VOUCHED), at)
    check = next(t for t in incident.pending() if t.key == "recovery_check")
    incident.timer_due(check, check.due)
    incident.on_probe(ProbeResult(at=check.due, healthy=True, configured=False), check.due)
    assert incident.state.resolved_at is not None


async def write(url: str, incident: Incident) -> None:
    """Everything the store has not taken yet, through the worker's own activity."""
    store = StoreActivities(url)
    try:
        while True:
            batch = pending_batch(
                incident.state,
                f"wf-{incident.state.human_id}",
                incident.postmortem_deadlines(),
                incident.customer_impact(),
            )
            if batch is None:
                return
            await ActivityEnvironment().run(store.record, batch)
            incident.mark_recorded(
                batch, batch.events[-1].at if batch.events else datetime.now(UTC)
            )
    finally:
        await store.close()


@asynccontextmanager
async def status_page(tmp_path: Path, url: str | None) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP service over ``url``, Temporal unreachable: the page reads Postgres only."""
    settings = web_settings(tmp_path, database_url=url, status_name="Acme status")
    async with (
        running_service(settings, unreachable()) as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        yield http


async def test_an_open_incident_shows_its_service_in_outage_with_only_the_customer_updates(
    record_url: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    earlier = declare(Severity.P3, "search", now - timedelta(days=40))
    resolve(earlier, now - timedelta(days=40) + 10 * MIN)
    await write(record_url, earlier)
    incident = declare(Severity.P1, "checkout", now - 20 * MIN)
    incident.apply(PostCustomerUpdate(actor="cleo", message=HOSTILE), now - 15 * MIN)
    await write(record_url, incident)

    async with status_page(tmp_path, record_url) as http:
        page = await http.get("/status")
        summary = (await http.get("/status.json")).json()
        feed = await http.get("/status/feed.atom")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "max-age=15" in page.headers["cache-control"]
    html = page.text
    assert "Partial outage: checkout" in html
    assert "Partial outage of checkout" in html  # the incident's name: never its title
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; more" in html
    assert "<script>" not in html
    assert "ongoing for 20 min" in html
    assert "today at" in html and "All times are UTC" in html
    for internal in (TITLE, NOTE, "cleo", "bob", "alice", "bad deploy"):
        for shape in (html, json.dumps(summary), feed.text):
            assert internal not in shape

    components = {c["name"]: c["status"] for c in summary["components"]}
    assert components == {"checkout": "partial_outage", "search": "operational"}
    assert summary["status"] == {"indicator": "major", "description": "Partial outage: checkout"}
    [active] = summary["incidents"]
    assert (active["id"], active["status"], active["impact"]) == (
        incident.state.human_id,
        "investigating",
        "major",
    )
    assert [u["body"] for u in active["incident_updates"]] == [HOSTILE]
    assert summary["history"] == []  # the P3 was 40 days ago, and customers never heard of it


async def test_after_resolution_the_service_is_operational_and_the_incident_is_history(
    record_url: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    incident = declare(Severity.P0, "checkout", now - 3 * 60 * MIN)
    incident.apply(PostCustomerUpdate(actor="cleo"), now - 170 * MIN)
    await write(record_url, incident)
    async with status_page(tmp_path, record_url) as http:
        during = (await http.get("/status.json")).json()
    assert [(c["name"], c["status"]) for c in during["components"]] == [
        ("checkout", "major_outage")
    ]
    assert during["status"]["indicator"] == "critical"

    resolve(incident, now - 150 * MIN)
    incident.apply(PostCustomerUpdate(actor="cleo"), now - 80 * MIN)
    await write(record_url, incident)
    async with status_page(tmp_path, record_url) as http:
        after = (await http.get("/status.json")).json()
        html = (await http.get("/status")).text

    assert [(c["name"], c["status"]) for c in after["components"]] == [("checkout", "operational")]
    assert after["status"]["indicator"] == "none"
    assert after["incidents"] == []
    [past] = after["history"]
    assert (past["name"], past["status"], past["impact"]) == (
        "Major outage of checkout",
        "resolved",
        "critical",
    )
    assert [u["status"] for u in past["incident_updates"]] == ["resolved", "investigating"]
    assert "is resolved" in past["incident_updates"][0]["body"]
    assert "All systems operational" in html
    assert "Past incidents" in html and "Major outage of checkout" in html
    assert "lasted 1 h 30 min" in html


async def test_the_feed_is_atom_with_every_text_escaped(record_url: str, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    incident = declare(Severity.P1, "api", now - 30 * MIN)
    incident.apply(
        PostCustomerUpdate(actor="cleo", message=HOSTILE, impact=ComponentImpact.DEGRADED),
        now - 25 * MIN,
    )
    await write(record_url, incident)
    async with status_page(tmp_path, record_url) as http:
        answer = await http.get("/status/feed.atom")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(answer.content)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert (feed.findtext(f"{ATOM}{required}") or "").strip()
    assert feed.findtext(f"{ATOM}title") == "Acme status: incidents"
    datetime.fromisoformat(feed.findtext(f"{ATOM}updated") or "")
    [entry] = feed.findall(f"{ATOM}entry")
    assert (entry.findtext(f"{ATOM}id") or "").endswith(f"/status#{incident.state.human_id}")
    assert entry.findtext(f"{ATOM}title") == "Degraded performance of api (investigating)"
    datetime.fromisoformat(entry.findtext(f"{ATOM}updated") or "")
    content = entry.find(f"{ATOM}content")
    assert content is not None and content.get("type") == "html"
    # The HTML inside is escaped once more for XML: the message comes back as escaped HTML.
    assert "&lt;script&gt;" in (content.text or "")
    assert "<script>" not in answer.text


async def test_postgres_unreachable_is_a_503_that_says_so(tmp_path: Path) -> None:
    away = f"postgresql://postgres:db-secret-pw@127.0.0.1:{free_port()}/postgres"
    async with status_page(tmp_path, away) as http:
        page = await http.get("/status")
        summary = await http.get("/status.json")
        feed = await http.get("/status/feed.atom")
    for answer in (page, summary, feed):
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "30"
        assert "Traceback" not in answer.text and "db-secret-pw" not in answer.text
        assert "127.0.0.1" not in answer.text  # where the database is stays inside
    assert "The status page cannot be shown just now" in page.text
    assert summary.json()["error"].startswith("The status page cannot be shown just now")


async def test_without_a_record_there_is_no_status_page(tmp_path: Path) -> None:
    async with status_page(tmp_path, None) as http:
        answer = await http.get("/status.json")
    assert answer.status_code == 503
    assert "has no status page" in answer.json()["error"]


@pytest.mark.slow
async def test_a_browser_shows_the_outage(record_url: str, tmp_path: Path) -> None:
    webdriver = pytest.importorskip("selenium.webdriver")
    if not (Path("/usr/bin/chromium").exists() and Path("/usr/bin/chromedriver").exists()):
        pytest.skip("needs Debian's chromium and chromium-driver")
    now = datetime.now(UTC)
    incident = declare(Severity.P0, "checkout", now - 12 * MIN)
    incident.apply(PostCustomerUpdate(actor="cleo"), now - 10 * MIN)
    await write(record_url, incident)
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument("--window-size=500,900")  # as narrow as headless Chromium goes
    service = webdriver.ChromeService(executable_path="/usr/bin/chromedriver")
    settings = web_settings(tmp_path, database_url=record_url, status_name="Acme status")
    async with running_service(settings, unreachable()) as base:
        browser = await asyncio.to_thread(webdriver.Chrome, options=options, service=service)
        try:
            await asyncio.to_thread(browser.get, f"{base}/status")
            banner = browser.find_element("css selector", ".banner").text
            components = browser.find_element("css selector", "ul.components").text
            overflow = browser.execute_script(
                "const e = document.documentElement; return e.scrollWidth - e.clientWidth"
            )
            browser.save_screenshot(str(tmp_path / "status.png"))
        finally:
            await asyncio.to_thread(browser.quit)
    assert banner == "Major outage: checkout"
    assert "checkout" in components and "Major outage" in components
    assert overflow <= 0  # nothing runs off a phone's screen
