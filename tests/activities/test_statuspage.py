"""Customer updates published to an Atlassian Statuspage, against a stand-in that keeps its
REST contract: ``Authorization: OAuth <key>``, incidents created, listed, searched and
patched under ``/v1/pages/{page_id}/``."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notify import NotifyActivities
from activities.statuspage import StatuspageConnector
from incident.impact import ComponentImpact
from incident.lifecycle import Incident
from incident.models import Declaration, PostCustomerUpdate, ProbeResult, Resolve
from incident.notices import Notice, NoticeKind
from incident.policy import load_policy
from incident.severity import Severity
from settings import SettingsError, StatuspageSettings
from tests.support.checks import VOUCHED
from tests.support.receiver import Received, RecordingReceiver

KEY = "sp-api-key-0123456789abcdef"
PAGE = "pg7k3qx"
COMPONENT = "cmp-checkout"
T0 = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


@dataclass
class FakeStatuspage:
    """Statuspage's incidents API, as far as Warroom uses it; ``down`` answers 503."""

    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)
    down: bool = False

    def __call__(self, request: Received) -> tuple[int, bytes]:
        if self.down:
            return 503, b'{"error": "Service Unavailable"}'
        if request.headers.get("authorization") != f"OAuth {KEY}":
            return 401, b'{"error": "Could not authenticate"}'
        url = urlsplit(request.path)
        base = f"/v1/pages/{PAGE}/incidents"
        if not url.path.startswith(base):
            return 404, b'{"error": "Page not found"}'
        rest = url.path[len(base) :].strip("/")
        if request.method == "GET" and rest == "unresolved":
            listed = [i for i in self.incidents.values() if i["status"] != "resolved"]
            return 200, json.dumps(listed).encode()
        if request.method == "GET" and rest == "":
            q = parse_qs(url.query).get("q", [""])[0]
            listed = [i for i in self.incidents.values() if q in json.dumps(i)]
            return 200, json.dumps(listed).encode()
        fields = request.json()["incident"] if request.body else {}
        if request.method == "POST" and rest == "":
            incident_id = uuid.uuid4().hex[:12]
            self.incidents[incident_id] = {
                "id": incident_id,
                "name": fields["name"],
                "status": fields["status"],
                "components": [],
                "incident_updates": [],
            }
            self._update(incident_id, fields)
            return 201, json.dumps(self.incidents[incident_id]).encode()
        if request.method == "PATCH" and rest in self.incidents:
            self._update(rest, fields)
            return 200, json.dumps(self.incidents[rest]).encode()
        return 404, b'{"error": "Incident not found"}'

    def _update(self, incident_id: str, fields: dict[str, Any]) -> None:
        incident = self.incidents[incident_id]
        incident["status"] = fields["status"]
        incident["metadata"] = fields.get("metadata", {})
        incident["incident_updates"].insert(0, {"status": fields["status"], "body": fields["body"]})
        for component, status in fields.get("components", {}).items():
            incident["components"] = [{"id": component, "status": status}]


@pytest.fixture
async def statuspage() -> AsyncIterator[tuple[FakeStatuspage, RecordingReceiver]]:
    fake = FakeStatuspage()
    async with RecordingReceiver(respond=fake) as server:
        yield fake, server


def _customer_notices(incident: Incident, decision: PostCustomerUpdate, at: datetime) -> Notice:
    _, effects = incident.apply(decision, at)
    [notice] = [n for n in effects.notices if n.kind is NoticeKind.CUSTOMER_UPDATE]
    return notice


def _incident() -> Incident:
    incident, _ = Incident.open(
        human_id="INC-7K3QX-D2MPA",
        source="manual",
        dedup_key=None,
        declaration=Declaration(
            title="db01 fenced after split brain",
            severity=Severity.P1,
            service="checkout",
            actor="alice",
        ),
        alerts=[],
        policy=load_policy(),
        now=T0,
    )
    return incident


async def _deliver(server: RecordingReceiver, notice: Notice, *, key: str = KEY) -> Any:
    async with httpx.AsyncClient() as http:
        connector = StatuspageConnector(
            http=http,
            page_id=PAGE,
            api_key=key,
            components={"checkout": COMPONENT},
            base_url=server.url,
        )
        notify = NotifyActivities(channels=[], http=http, statuspage=connector)
        return await ActivityEnvironment().run(notify.deliver, notice)


async def test_the_first_update_creates_the_incident_and_later_ones_update_it(
    statuspage: tuple[FakeStatuspage, RecordingReceiver],
) -> None:
    fake, server = statuspage
    incident = _incident()
    first = _customer_notices(incident, PostCustomerUpdate(actor="cleo"), T0 + 5 * MIN)
    report = await _deliver(server, first)
    [outcome] = report.outcomes
    assert (outcome.channel, outcome.delivered) == ("statuspage", True)
    [made] = fake.incidents.values()
    assert made["name"] == "Partial outage of checkout (INC-7K3QX-D2MPA)"
    assert made["status"] == "investigating"
    assert made["components"] == [{"id": COMPONENT, "status": "partial_outage"}]
    posted = next(r for r in server.received if r.method == "POST").json()["incident"]
    assert posted["component_ids"] == [COMPONENT] and posted["deliver_notifications"] is True
    assert "db01" not in json.dumps(posted)  # the internal title stays inside

    second = _customer_notices(
        incident,
        PostCustomerUpdate(actor="cleo", message="Fix deployed.", impact=ComponentImpact.DEGRADED),
        T0 + 30 * MIN,
    )
    await _deliver(server, second)
    assert len(fake.incidents) == 1
    assert made["incident_updates"][0] == {"status": "investigating", "body": "Fix deployed."}
    assert made["components"] == [{"id": COMPONENT, "status": "degraded_performance"}]

    incident.apply(Resolve(actor="bob", root_cause="bad deploy", verified=VOUCHED), T0 + 40 * MIN)
    check = next(t for t in incident.pending() if t.key == "recovery_check")
    incident.timer_due(check, check.due)
    incident.on_probe(ProbeResult(at=check.due, healthy=True, configured=False), check.due)
    last = _customer_notices(incident, PostCustomerUpdate(actor="cleo"), check.due + MIN)
    await _deliver(server, last)
    assert len(fake.incidents) == 1
    assert made["status"] == "resolved"
    assert made["components"] == [{"id": COMPONENT, "status": "operational"}]
    # Delivered again (a handed-over run, a lost answer): found by search, not posted twice.
    await _deliver(server, last)
    assert len(fake.incidents) == 1 and len(made["incident_updates"]) == 3


async def test_the_same_words_later_are_posted_again(
    statuspage: tuple[FakeStatuspage, RecordingReceiver],
) -> None:
    fake, server = statuspage
    incident = _incident()
    for minutes in (5, 35, 65):  # the progress template, word for word, on the cadence
        words = PostCustomerUpdate(actor="cleo", message="Still investigating.")
        await _deliver(server, _customer_notices(incident, words, T0 + minutes * MIN))
    [made] = fake.incidents.values()
    assert [u["body"] for u in made["incident_updates"]] == ["Still investigating."] * 3


async def test_a_retry_after_a_lost_answer_creates_nothing_twice(
    statuspage: tuple[FakeStatuspage, RecordingReceiver],
) -> None:
    fake, server = statuspage
    notice = _customer_notices(_incident(), PostCustomerUpdate(actor="cleo"), T0 + 5 * MIN)
    await _deliver(server, notice)
    report = await _deliver(server, notice)  # Temporal retried: the answer never came back
    assert len(fake.incidents) == 1
    [made] = fake.incidents.values()
    assert len(made["incident_updates"]) == 1
    assert "already has this update" in report.outcomes[0].detail
    assert [r.method for r in server.received].count("POST") == 1


async def test_a_refused_api_key_is_named_and_never_shown(
    statuspage: tuple[FakeStatuspage, RecordingReceiver], caplog: pytest.LogCaptureFixture
) -> None:
    fake, server = statuspage
    wrong = "sp-wrong-key-9876543210fedcba"
    notice = _customer_notices(_incident(), PostCustomerUpdate(actor="cleo"), T0 + 5 * MIN)
    with caplog.at_level(logging.DEBUG):
        report = await _deliver(server, notice, key=wrong)
    [outcome] = report.outcomes
    assert not outcome.delivered
    assert "Statuspage refused the API key (401: Could not authenticate)" in outcome.detail
    assert "WARROOM_STATUSPAGE_API_KEY" in outcome.detail
    assert wrong not in outcome.detail and wrong not in caplog.text
    assert not fake.incidents


async def test_statuspage_down_is_retried(
    statuspage: tuple[FakeStatuspage, RecordingReceiver],
) -> None:
    fake, server = statuspage
    fake.down = True
    notice = _customer_notices(_incident(), PostCustomerUpdate(actor="cleo"), T0 + 5 * MIN)
    with pytest.raises(ApplicationError, match="channels not reachable yet: statuspage"):
        await _deliver(server, notice)
    fake.down = False
    await _deliver(server, notice)
    assert len(fake.incidents) == 1


async def test_other_notices_never_reach_the_status_page(
    statuspage: tuple[FakeStatuspage, RecordingReceiver],
) -> None:
    _, server = statuspage
    _, effects = Incident.open(
        human_id="INC-7K3QX-D2MPB",
        source="manual",
        dedup_key=None,
        declaration=Declaration(title="x", severity=Severity.P1, service="checkout", actor="a"),
        alerts=[],
        policy=load_policy(),
        now=T0,
    )
    for notice in effects.notices:
        await _deliver(server, notice)
    assert server.received == []


def test_the_settings_read_the_component_map_and_refuse_half_a_configuration() -> None:
    settings = StatuspageSettings.from_env(
        {
            "WARROOM_STATUSPAGE_API_KEY": KEY,
            "WARROOM_STATUSPAGE_PAGE_ID": PAGE,
            "WARROOM_STATUSPAGE_COMPONENTS": "checkout=abc123, api = def456",
        }
    )
    assert settings.components == {"checkout": "abc123", "api": "def456"}
    assert settings.url == "https://api.statuspage.io"
    assert KEY not in repr(settings)
    with pytest.raises(SettingsError, match="set WARROOM_STATUSPAGE_PAGE_ID too"):
        StatuspageSettings.from_env({"WARROOM_STATUSPAGE_API_KEY": KEY})
    with pytest.raises(SettingsError, match="WARROOM_STATUSPAGE_COMPONENTS: expected service="):
        StatuspageSettings.from_env(
            {
                "WARROOM_STATUSPAGE_API_KEY": KEY,
                "WARROOM_STATUSPAGE_PAGE_ID": PAGE,
                "WARROOM_STATUSPAGE_COMPONENTS": "checkout",
            }
        )
