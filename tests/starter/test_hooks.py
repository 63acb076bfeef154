"""Alert hooks over real HTTP, into a live dev server and worker."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    SignalWorkflowInput,
    StartWorkflowInput,
    WorkflowHandle,
)
from temporalio.contrib.pydantic import pydantic_data_converter

from incident import bounds
from incident.ids import incident_workflow_id
from incident.models import Phase, Resolve, Status
from incident.severity import Severity
from starter.api import IncidentHandle, decide
from starter.hooks.auth import sign
from starter.hooks.settings import HookSettings
from tests.support.checks import VOUCHED
from tests.support.harness import Harness
from tests.support.hooks import running_hooks
from tests.support.wait import eventually
from workflows.incident import IncidentWorkflow

FIRING_ENDS_AT = "0001-01-01T00:00:00Z"


def am_alert(name: str, fingerprint: str, status: str = "firing", **labels: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": name, "severity": "critical", "service": "agents", **labels},
        "annotations": {"summary": f"{name} on agents", "runbook_url": "https://runbooks/x"},
        "startsAt": "2026-11-24T10:00:00Z",
        "endsAt": FIRING_ENDS_AT if status == "firing" else "2026-11-24T10:30:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
        "fingerprint": fingerprint,
    }


def am_notification(group: str, alerts: list[dict[str, Any]], truncated: int = 0) -> dict[str, Any]:
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return {
        "version": "4",
        "groupKey": f'{{}}/{{severity="critical"}}:{{alertname="{group}"}}',
        "truncatedAlerts": truncated,
        "status": status,
        "receiver": "warroom",
        "groupLabels": {"alertname": group},
        "commonLabels": {"severity": "critical"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": alerts,
    }


@pytest.fixture
async def hooks(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    settings = HookSettings(
        task_queue=harness.task_queue, tokens=("s3cret",), basic=(("alertmanager", "pa55"),)
    )
    async with (
        running_hooks(settings, harness.client) as url,
        httpx.AsyncClient(base_url=url, headers={"Authorization": "Bearer s3cret"}) as http,
    ):
        yield http


def incident_of(harness: Harness, source: str, key: str) -> IncidentHandle:
    return harness.client.get_workflow_handle_for(
        IncidentWorkflow.run, incident_workflow_id(source, key)
    )


async def test_grouped_alertmanager_notification_opens_one_incident(
    harness: Harness, hooks: httpx.AsyncClient
) -> None:
    body = am_notification(
        "AgentRunsFailing", [am_alert("AgentRunsFailing", f"fp{i}", org="acme") for i in range(3)]
    )
    response = await hooks.post("/hooks/alertmanager", json=body)
    assert response.status_code == 202, response.text
    assert response.json()["alerts"] == 3
    incident = incident_of(harness, "alertmanager", body["groupKey"])
    state = await harness.until(incident, lambda s: len(s.alerts) == 3)
    assert (state.severity, state.service, state.org) == (Severity.P0, "agents", "acme")
    assert state.runbook_url == "https://runbooks/x"
    assert state.title == "AgentRunsFailing on agents"


async def test_repeated_and_duplicate_deliveries_land_on_the_same_incident(
    harness: Harness, hooks: httpx.AsyncClient
) -> None:
    body = am_notification("QueueDepthHigh", [am_alert("QueueDepthHigh", "q1")])
    for _ in range(5):  # Alertmanager HA: at-least-once, repeated on repeat_interval
        assert (await hooks.post("/hooks/alertmanager", json=body)).status_code == 202
    incident = incident_of(harness, "alertmanager", body["groupKey"])
    state = await harness.until(incident, lambda s: s.firings == 5)
    assert len(state.alerts) == 1 and state.alerts["q1"].firings == 5
    query = f'WorkflowId = "{incident.id}"'
    runs = [w async for w in harness.client.list_workflows(query)]
    assert len(runs) == 1


async def test_a_500_alert_group_is_one_temporal_call(
    harness: Harness, hooks: httpx.AsyncClient
) -> None:
    alerts = [am_alert("PodRestarts", f"pod-{i}", pod=f"agents-{i}") for i in range(500)]
    body = am_notification("PodRestarts", alerts, truncated=120)
    assert (await hooks.post("/hooks/alertmanager", json=body)).status_code == 202
    incident = incident_of(harness, "alertmanager", body["groupKey"])
    state = await harness.until(incident, lambda s: len(s.alerts) == 500)
    assert state.alerts_untracked == 120
    history = await incident.fetch_history()
    signals = [
        e
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    assert len(signals) == 1


async def test_resolved_calms_to_monitoring_and_a_new_firing_reopens(
    harness: Harness, hooks: httpx.AsyncClient
) -> None:
    firing = am_notification(
        "LatencyHigh", [am_alert("LatencyHigh", "l1"), am_alert("LatencyHigh", "l2")]
    )
    await hooks.post("/hooks/alertmanager", json=firing)
    incident = incident_of(harness, "alertmanager", firing["groupKey"])
    await harness.until(incident, lambda s: len(s.alerts) == 2)

    half = am_notification(
        "LatencyHigh",
        [am_alert("LatencyHigh", "l1", status="resolved"), am_alert("LatencyHigh", "l2")],
    )
    await hooks.post("/hooks/alertmanager", json=half)
    resolved = am_notification(
        "LatencyHigh",
        [
            am_alert("LatencyHigh", "l1", status="resolved"),
            am_alert("LatencyHigh", "l2", status="resolved"),
        ],
    )
    assert (await hooks.post("/hooks/alertmanager", json=resolved)).status_code == 202
    state = await harness.until(incident, lambda s: s.status is Status.MONITORING)
    assert state.phase is not Phase.CLOSED

    assert (await hooks.post("/hooks/alertmanager", json=firing)).status_code == 202
    state = await harness.until(incident, lambda s: s.reopened == 1)
    assert state.status is Status.INVESTIGATING


async def test_the_answer_names_the_incident_it_opened_or_updated(
    harness: Harness, hooks: httpx.AsyncClient
) -> None:
    body = am_notification("DiskFull", [am_alert("DiskFull", "d1", severity="critical")])
    opened = await hooks.post("/hooks/alertmanager", json=body)
    incident = incident_of(harness, "alertmanager", body["groupKey"])
    state = await harness.until(incident, lambda s: s.phase is not Phase.DETECTED)
    assert opened.json()["incident"]["incident_id"] == state.human_id
    again = await hooks.post("/hooks/alertmanager", json=body)
    assert again.json()["incident"]["incident_id"] == state.human_id


class _Calls(Interceptor):
    """Counts the hooks' calls to Temporal by kind."""

    def __init__(self) -> None:
        self.starts = 0
        self.signals = 0

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        calls = self

        class Counting(OutboundInterceptor):
            async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
                calls.starts += 1
                return await super().start_workflow(input)

            async def signal_workflow(self, input: SignalWorkflowInput) -> None:
                calls.signals += 1
                await super().signal_workflow(input)

        return Counting(next)


@pytest.fixture
async def counted(harness: Harness) -> AsyncIterator[tuple[httpx.AsyncClient, _Calls]]:
    calls = _Calls()
    config = harness.client.config()
    config["interceptors"] = [calls]
    client = Client(**config)
    settings = HookSettings(task_queue=harness.task_queue, tokens=("s3cret",))
    async with (
        running_hooks(settings, client) as url,
        httpx.AsyncClient(base_url=url, headers={"Authorization": "Bearer s3cret"}) as http,
    ):
        yield http, calls


async def test_a_repeat_is_one_signal_to_the_run_that_took_the_first(
    harness: Harness, counted: tuple[httpx.AsyncClient, _Calls]
) -> None:
    hooks, calls = counted
    body = am_notification("CacheMisses", [am_alert("CacheMisses", f"c{i}") for i in range(3)])
    opened = await hooks.post("/hooks/alertmanager", json=body)
    assert (calls.starts, calls.signals) == (1, 0)
    repeats = [await hooks.post("/hooks/alertmanager", json=body) for _ in range(3)]
    assert all(r.status_code == 202 for r in repeats)
    assert (calls.starts, calls.signals) == (1, 3)  # signal-with-start once, then signals
    incident = incident_of(harness, "alertmanager", body["groupKey"])
    state = await harness.until(incident, lambda s: s.firings == 12)
    assert {r.json()["incident"]["incident_id"] for r in [opened, *repeats]} == {state.human_id}


async def test_a_repeat_after_its_run_ended_opens_the_next_incident(
    harness: Harness, counted: tuple[httpx.AsyncClient, _Calls]
) -> None:
    hooks, calls = counted
    body = am_notification("ShardDown", [am_alert("ShardDown", "s1")])
    assert (await hooks.post("/hooks/alertmanager", json=body)).status_code == 202
    incident = incident_of(harness, "alertmanager", body["groupKey"])
    first = await harness.until(incident, lambda s: s.phase is not Phase.DETECTED)
    await incident.terminate("ended behind the hooks' back")
    again = await hooks.post("/hooks/alertmanager", json=body)
    assert again.status_code == 202, again.text
    # The signal to the ended run found nothing; signal-with-start opened the next one.
    assert (calls.starts, calls.signals) == (2, 1)
    state = await harness.until(incident, lambda s: s.phase is not Phase.DETECTED)
    assert state.human_id != first.human_id
    assert again.json()["incident"]["incident_id"] == state.human_id
    assert (await hooks.post("/hooks/alertmanager", json=body)).status_code == 202
    assert (calls.starts, calls.signals) == (2, 2)
    await harness.until(incident, lambda s: s.firings == 2)


async def test_resolved_alerts_for_no_incident_open_nothing(
    harness: Harness, hooks: httpx.AsyncClient
) -> None:
    body = am_notification("Ghost", [am_alert("Ghost", "g1", status="resolved")])
    response = await hooks.post("/hooks/alertmanager", json=body)
    assert response.status_code == 202
    assert response.json()["incident"]["opened_or_updated"] is False
    assert "incident_id" not in response.json()["incident"]
    runs = [
        w
        async for w in harness.client.list_workflows(
            f'WorkflowId = "{incident_workflow_id("alertmanager", body["groupKey"])}"'
        )
    ]
    assert runs == []


async def test_pagerduty_trigger_acknowledge_resolve(
    harness: Harness, hooks: httpx.AsyncClient
) -> None:
    trigger = {
        "routing_key": "R0UT1NG",
        "event_action": "trigger",
        "dedup_key": "disk-full-db-1",
        "payload": {
            "summary": "Disk 95% on db-1",
            "source": "db-1",
            "severity": "error",
            "component": "postgres",
        },
    }
    response = await hooks.post("/v2/enqueue", json=trigger)
    assert response.status_code == 202
    assert response.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "disk-full-db-1",
    }
    incident = incident_of(harness, "pagerduty", "disk-full-db-1")
    state = await harness.until(incident, lambda s: s.firings == 1)
    assert (state.severity, state.service, state.title) == (
        Severity.P1,
        "postgres",
        "Disk 95% on db-1",
    )

    ack = {"routing_key": "R0UT1NG", "event_action": "acknowledge", "dedup_key": "disk-full-db-1"}
    for _ in range(2):  # delivered twice: still one acknowledgement
        assert (await hooks.post("/v2/enqueue", json=ack)).status_code == 202
    state = await harness.until(incident, lambda s: s.acknowledged_at is not None)
    assert state.phase is Phase.RESPONDING
    assert [e.kind for e in state.timeline].count("acknowledged") == 1

    resolve = {"routing_key": "R0UT1NG", "event_action": "resolve", "dedup_key": "disk-full-db-1"}
    assert (await hooks.post("/v2/enqueue", json=resolve)).status_code == 202
    await harness.until(incident, lambda s: s.status is Status.MONITORING)


async def test_pagerduty_trigger_without_dedup_key_gets_one(hooks: httpx.AsyncClient) -> None:
    event = {
        "routing_key": "R",
        "event_action": "trigger",
        "payload": {"summary": "x", "source": "y", "severity": "info"},
    }
    response = await hooks.post("/v2/enqueue", json=event)
    assert response.status_code == 202 and len(response.json()["dedup_key"]) == 32
    bad = {"routing_key": "R", "event_action": "trigger"}
    response = await hooks.post("/v2/enqueue", json=bad)
    assert response.status_code == 400 and "payload is required" in response.text


async def test_grafana_and_generic_hooks(harness: Harness, hooks: httpx.AsyncClient) -> None:
    grafana = am_notification("CPUHigh", [am_alert("CPUHigh", "c1", severity="warning")])
    grafana.update(version="1", orgId=1, title="[FIRING:1] CPUHigh", state="alerting")
    grafana["alerts"][0].update(dashboardURL="http://grafana/d/1", valueString="[ A=97 ]")
    assert (await hooks.post("/hooks/grafana", json=grafana)).status_code == 202
    state = await harness.until(
        incident_of(harness, "grafana", grafana["groupKey"]), lambda s: s.firings == 1
    )
    assert state.severity is Severity.P2

    generic = {
        "source": "deploy-bot",
        "alerts": [
            {
                "dedup_key": "deploy-42",
                "name": "CanaryFailing",
                "severity": "SEV-2",
                "service": "checkout",
                "summary": "Canary error rate 12%",
            },
            {"dedup_key": "deploy-42", "name": "CanaryLatency", "severity": "warning"},
        ],
    }
    response = await hooks.post("/hooks/generic", json=generic)
    assert response.status_code == 202 and len(response.json()["incidents"]) == 1
    state = await harness.until(
        incident_of(harness, "deploy-bot", "deploy-42"), lambda s: len(s.alerts) == 2
    )
    assert (state.severity, state.service, state.title) == (
        Severity.P1,
        "checkout",
        "Canary error rate 12%",
    )


async def _no_incident(harness: Harness, group: str) -> bool:
    runs = [
        w
        async for w in harness.client.list_workflows(
            f'WorkflowId = "{incident_workflow_id("alertmanager", group)}"'
        )
    ]
    return runs == []


async def test_bad_input_gets_a_clear_answer_and_starts_nothing(
    harness: Harness, hooks: httpx.AsyncClient
) -> None:
    response = await hooks.post(
        "/hooks/alertmanager",
        content=b'{"version": "4", "alerts": [',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert "not valid JSON" in response.json()["error"]

    body = am_notification("Broken", [am_alert("Broken", "b1")])
    del body["alerts"][0]["fingerprint"]
    body["alerts"][0]["startsAt"] = "yesterday"
    response = await hooks.post("/hooks/alertmanager", json=body)
    assert response.status_code == 422
    fields = {p["field"] for p in response.json()["problems"]}
    assert fields == {"alerts.0.fingerprint", "alerts.0.startsAt"}
    assert "alerts.0.fingerprint: Field required" in response.json()["error"]

    wrong_version = {**am_notification("Broken", [am_alert("Broken", "b1")]), "version": "3"}
    response = await hooks.post("/hooks/alertmanager", json=wrong_version)
    assert response.status_code == 422 and "version" in response.text

    huge = am_notification("Huge", [am_alert("Huge", "h1", blob="x" * 2_000_000)])
    response = await hooks.post("/hooks/alertmanager", json=huge)
    assert response.status_code == 413

    assert await _no_incident(harness, body["groupKey"])
    assert await _no_incident(harness, huge["groupKey"])


async def test_credentials(harness: Harness, hooks: httpx.AsyncClient) -> None:
    body = am_notification("AuthCheck", [am_alert("AuthCheck", "a1")])
    raw = json.dumps(body).encode()
    base = str(hooks.base_url)
    async with httpx.AsyncClient(base_url=base) as anonymous:
        response = await anonymous.post("/hooks/alertmanager", content=raw)
        assert response.status_code == 401 and "credentials required" in response.text
        response = await anonymous.post(
            "/hooks/alertmanager", content=raw, headers={"Authorization": "Bearer nope"}
        )
        assert response.status_code == 401 and "not recognised" in response.text
        basic = base64.b64encode(b"alertmanager:wrong").decode()
        response = await anonymous.post(
            "/hooks/alertmanager", content=raw, headers={"Authorization": f"Basic {basic}"}
        )
        assert response.status_code == 401
        assert await _no_incident(harness, body["groupKey"])
        basic = base64.b64encode(b"alertmanager:pa55").decode()
        response = await anonymous.post(
            "/hooks/alertmanager",
            content=raw,
            headers={"Authorization": f"Basic {basic}", "Content-Type": "application/json"},
        )
        assert response.status_code == 202


async def test_hmac_signature(harness: Harness) -> None:
    settings = HookSettings(task_queue=harness.task_queue, hmac_secret="k3y")
    body = json.dumps(am_notification("Signed", [am_alert("Signed", "s1")])).encode()
    now = int(time.time())
    async with (
        running_hooks(settings, harness.client) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):

        def headers(stamp: int, signature: str) -> dict[str, str]:
            return {
                "X-Warroom-Timestamp": str(stamp),
                "X-Warroom-Signature": signature,
                "Content-Type": "application/json",
            }

        ok = await http.post(
            "/hooks/alertmanager", content=body, headers=headers(now, sign("k3y", now, body))
        )
        assert ok.status_code == 202
        tampered = await http.post(
            "/hooks/alertmanager", content=body + b" ", headers=headers(now, sign("k3y", now, body))
        )
        assert tampered.status_code == 401 and "does not match" in tampered.text
        stale = now - 3600
        old = await http.post(
            "/hooks/alertmanager", content=body, headers=headers(stale, sign("k3y", stale, body))
        )
        assert old.status_code == 401 and "from now" in old.text


async def test_temporal_down_is_a_503_so_the_sender_retries(harness: Harness) -> None:
    unreachable = await Client.connect(
        "127.0.0.1:9", lazy=True, data_converter=pydantic_data_converter
    )
    settings = HookSettings(task_queue=harness.task_queue, tokens=("s3cret",))
    body = am_notification("Down", [am_alert("Down", "d1")])
    async with (
        running_hooks(settings, unreachable) as url,
        httpx.AsyncClient(base_url=url, headers={"Authorization": "Bearer s3cret"}) as http,
    ):
        response = await http.post("/hooks/alertmanager", json=body)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert "deliver again" in response.json()["error"]
        assert (await http.get("/readyz")).status_code == 503
        assert (await http.get("/healthz")).status_code == 200


async def test_service_endpoints(hooks: httpx.AsyncClient) -> None:
    assert (await hooks.get("/readyz")).json() == {"status": "ready"}
    spec = (await hooks.get("/openapi.json")).json()
    assert {"/hooks/alertmanager", "/hooks/grafana", "/hooks/generic", "/v2/enqueue"} <= set(
        spec["paths"]
    )
    await hooks.post(
        "/hooks/alertmanager", content=b"{", headers={"Content-Type": "application/json"}
    )
    text = (await hooks.get("/metrics")).text
    assert (
        'warroom_hook_rejections_total{endpoint="alertmanager",reason="malformed_json"} 1.0' in text
    )
    assert "warroom_hook_request_seconds_bucket" in text


async def test_firing_after_close_opens_a_new_incident_linked_to_the_old(
    harness: Harness, hooks: httpx.AsyncClient
) -> None:
    body = am_notification("DiskNoise", [am_alert("DiskNoise", "n1", severity="info")])
    await hooks.post("/hooks/alertmanager", json=body)
    first = incident_of(harness, "alertmanager", body["groupKey"])
    old = await harness.until(first, lambda s: s.severity is Severity.P3)
    await decide(first, Resolve(actor="bob", root_cause="log rotation stuck", verified=VOUCHED))
    await harness.advance(first, timedelta(minutes=61))
    closed = await first.result()  # P3 closes on resolution
    assert closed.phase is Phase.CLOSED

    assert (await hooks.post("/hooks/alertmanager", json=body)).status_code == 202
    second = incident_of(harness, "alertmanager", body["groupKey"])
    new = await harness.until(second, lambda s: s.follows is not None)
    assert new.human_id != old.human_id
    assert new.follows == old.human_id
    assert any(e.kind == "linked" and old.human_id in e.text for e in new.timeline)


async def test_values_that_cannot_become_text_are_a_422(hooks: httpx.AsyncClient) -> None:
    # Found by fuzzing: JSON may carry lone surrogates, which no store can hold.
    ack = (
        '{"routing_key": "r", "event_action": "acknowledge", "dedup_key": "k",'
        ' "client": "\\ud8d8\\ud868"}'
    )
    response = await hooks.post(
        "/v2/enqueue", content=ack.encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422 and "invalid payload" in response.json()["error"]
    body = json.dumps(am_notification("Odd", [am_alert("Odd", "o1")])).replace(
        '"Odd on agents"', '"\\ud800"'
    )
    response = await hooks.post(
        "/hooks/alertmanager", content=body.encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422


async def test_a_generic_dedup_key_of_any_sender_length_opens_one_incident(
    harness: Harness, hooks: httpx.AsyncClient
) -> None:
    key = "deploy-bot/" + "/".join(f"step{i:05d}" for i in range(4000))  # 40 KiB
    alerts = [
        {"dedup_key": key, "name": name, "severity": "P1", "service": "checkout"}
        for name in ("CanaryFailing", "CanaryLatency")
    ]
    for _ in range(2):  # delivered twice: counted on one incident
        response = await hooks.post("/hooks/generic", json={"alerts": alerts})
        assert response.status_code == 202, response.text[:500]
    incident = incident_of(harness, "generic", key)
    state = await harness.until(incident, lambda s: s.firings == 4)
    assert len(state.alerts) == 2  # two alerts of one long key stay two alerts
    assert state.dedup_key == key
    await eventually(lambda: harness.paged())
    description = await incident.describe()
    assert len((await description.static_summary() or "").encode()) <= bounds.SUMMARY_BYTES
    details = await description.static_details() or ""
    assert len(details.encode()) <= bounds.DETAILS_BYTES and details.endswith(bounds.MARKER)

    too_long = [{**alerts[0], "dedup_key": "k" * (bounds.DEDUP_KEY_BYTES + 1)}]
    response = await hooks.post("/hooks/generic", json={"alerts": too_long})
    assert response.status_code == 422
    assert "alerts.0.dedup_key" in response.json()["error"]


async def test_pagerduty_keeps_its_255_character_dedup_key_contract(
    hooks: httpx.AsyncClient,
) -> None:
    event = {"routing_key": "R", "event_action": "acknowledge", "dedup_key": "k" * 256}
    response = await hooks.post("/v2/enqueue", json=event)
    assert response.status_code == 422 and "dedup_key" in response.json()["error"]


async def test_a_3000_character_service_label_is_cut_and_still_pages(
    harness: Harness, hooks: httpx.AsyncClient
) -> None:
    service = "checkout-" + "x" * 2991
    body = am_notification("LongService", [am_alert("LongService", "ls1", service=service)])
    response = await hooks.post("/hooks/alertmanager", json=body)
    assert response.status_code == 202, response.text[:500]
    incident = incident_of(harness, "alertmanager", body["groupKey"])
    state = await harness.until(incident, lambda s: s.firings == 1)
    assert state.service is not None and state.service.startswith("checkout-xxx")
    assert state.service.endswith(bounds.MARKER)  # cut where a reader can see it
    await eventually(lambda: harness.paged())


async def test_a_600_byte_cjk_summary_is_answered_and_pages(
    harness: Harness, hooks: httpx.AsyncClient
) -> None:
    summary = "結帳服務錯誤率過高" * 22 + "結帳"  # 200 characters, 600 bytes of UTF-8
    assert len(summary) == 200 and len(summary.encode()) == 600
    alert = am_alert("CheckoutErrors", "cjk1")
    alert["annotations"]["summary"] = summary
    body = am_notification("CheckoutErrors", [alert])
    response = await hooks.post("/hooks/alertmanager", json=body)
    assert response.status_code == 202, response.text[:500]
    incident = incident_of(harness, "alertmanager", body["groupKey"])
    state = await harness.until(incident, lambda s: s.firings == 1)
    assert state.title.startswith("結帳服務錯誤率過高")
    await eventually(lambda: harness.paged())
    shown = await (await incident.describe()).static_summary() or ""
    assert shown.startswith("結帳服務") and len(shown.encode()) <= bounds.SUMMARY_BYTES


async def test_more_than_128_labels_is_a_422_naming_the_field(
    harness: Harness, hooks: httpx.AsyncClient
) -> None:
    labels = {f"l{i}": "v" for i in range(129)}
    body = am_notification("Crowded", [am_alert("Crowded", "c1", **labels)])
    response = await hooks.post("/hooks/alertmanager", json=body)
    assert response.status_code == 422
    assert "alerts.0.labels: " in response.json()["error"] and "128" in response.json()["error"]
    assert await _no_incident(harness, body["groupKey"])


async def test_an_acknowledge_right_after_its_trigger_is_not_lost(
    harness: Harness, hooks: httpx.AsyncClient
) -> None:
    trigger = {
        "routing_key": "R",
        "event_action": "trigger",
        "dedup_key": "api-5xx-early-ack",
        "payload": {"summary": "API 5xx at 40%", "source": "api-1", "severity": "critical"},
    }
    ack = {"routing_key": "R", "event_action": "acknowledge", "dedup_key": "api-5xx-early-ack"}
    assert (await hooks.post("/v2/enqueue", json=trigger)).status_code == 202
    # Sent at once, while the incident is still being declared.
    response = await hooks.post("/v2/enqueue", json=ack)
    assert response.status_code == 202, response.text
    incident = incident_of(harness, "pagerduty", "api-5xx-early-ack")
    state = await harness.until(incident, lambda s: s.acknowledged_at is not None)
    assert state.acknowledged_by == "pagerduty"


async def test_generic_named_fields_are_cut_not_refused(
    harness: Harness, hooks: httpx.AsyncClient
) -> None:
    alert = {
        "dedup_key": "long-fields",
        "name": "N" * 300,
        "severity": "P2",
        "service": "billing-" + "y" * 2992,
        "summary": "請求服務延遲" * 2000,  # 36 KB
    }
    response = await hooks.post("/hooks/generic", json={"alerts": [alert]})
    assert response.status_code == 202, response.text[:500]
    state = await harness.until(incident_of(harness, "generic", "long-fields"), lambda s: True)
    assert state.service is not None and state.service.startswith("billing-yyy")
    assert state.service.endswith(bounds.MARKER)
    await eventually(lambda: harness.paged())
