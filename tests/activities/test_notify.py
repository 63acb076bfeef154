"""Notices rendered from the runbook's templates and delivered over real HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import notify as notify_module
from activities.channels import Channel
from activities.notify import NotifyActivities
from incident.models import Phase, Status
from incident.notices import IncidentBrief, Notice, NoticeKind
from incident.severity import Severity
from tests.support.receiver import Received, RecordingReceiver

AT = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)


def notice(kind: NoticeKind, **extra: object) -> Notice:
    brief = IncidentBrief(
        human_id="INC-7K3QXD",
        title="Agent run success rate below 90%",
        severity=Severity.P0,
        severity_name="Critical",
        phase=Phase.RESPONDING,
        status=Status.IDENTIFIED,
        service="agents",
        org="acme",
        impact="40% of agent runs fail",
        commander="dana",
        roles={"Incident commander": "dana", "Communications lead": "cleo"},
        declared_at=AT - timedelta(minutes=75),
        duration=timedelta(minutes=75),
        root_cause="v42 retry policy",
        resolved_at=AT,
        next_update_due=AT + timedelta(minutes=15),
        postmortem_schedule_by=AT + timedelta(hours=24),
        postmortem_complete_by=AT + timedelta(hours=72),
        action_items=2,
    )
    fields: dict[str, object] = {
        "key": f"{kind.value}:1",
        "kind": kind,
        "audience": "VP Engineering",
        "contact": "Phone",
        "headline": "P0 INC-7K3QXD: P0 unresolved after 15m",
        "reason": "P0 unresolved after 15m",
        "message": "Rollback to v41 in progress",
        "at": AT,
        "incident": brief,
    }
    fields.update(extra)
    return Notice.model_validate(fields)


def activities(*channels: Channel) -> NotifyActivities:
    return NotifyActivities(channels=channels, http=httpx.AsyncClient(), ui_url=None)


INTERNAL = [k for k in NoticeKind if k is not NoticeKind.CUSTOMER_UPDATE]
"""Notices for the team; a customer update is for customers and carries none of this."""


@pytest.mark.parametrize("kind", INTERNAL)
def test_every_template_renders_the_facts(kind: NoticeKind) -> None:
    text = activities().render(notice(kind))
    assert "None" not in text
    assert "INC-7K3QXD" in text
    assert "P0" in text


@pytest.mark.parametrize("kind", INTERNAL)
def test_every_notice_names_the_room_bridge_and_runbook_when_there_are_some(
    kind: NoticeKind,
) -> None:
    assert "Room:" not in activities().render(notice(kind))
    assert "Bridge:" not in activities().render(notice(kind))
    where = {
        "room_url": "https://app.slack.com/client/T0/C0ROOM",
        "bridge_url": "https://meet/b",
        "runbook_url": "https://runbooks/agents-down",
    }
    brief = notice(kind).incident.model_copy(update=where)
    text = activities().render(notice(kind, incident=brief))
    assert (
        "\nRoom: https://app.slack.com/client/T0/C0ROOM\nBridge: https://meet/b\n"
        "Runbook: https://runbooks/agents-down\n"
    ) in text


def test_a_customer_update_says_only_what_customers_may_read() -> None:
    where = {
        "room_url": "https://app.slack.com/client/T0/C0ROOM",
        "bridge_url": "https://meet/b",
        "runbook_url": "https://runbooks/agents-down",
        "status_page_url": "https://status.example.com",
    }
    brief = notice(NoticeKind.CUSTOMER_UPDATE).incident.model_copy(update=where)
    text = activities().render(
        notice(
            NoticeKind.CUSTOMER_UPDATE,
            incident=brief,
            headline="agents: identified",
            message="We have found the cause and are rolling back.",
        )
    )
    assert text.splitlines()[:4] == [
        "agents: identified",
        "2026-11-24 14:30 UTC",
        "",
        "We have found the cause and are rolling back.",
    ]
    assert "Status page: https://status.example.com" in text
    for internal in ("INC-7K3QXD", "P0", "dana", "C0ROOM", "meet/b", "runbooks/", "v42", "acme"):
        assert internal not in text


def test_escalation_notice_says_who_why_and_how() -> None:
    text = activities().render(notice(NoticeKind.ESCALATION))
    assert "ESCALATION NOTICE" in text
    assert "To: VP Engineering (via Phone)" in text
    assert "Reason for Escalation:\nP0 unresolved after 15m" in text
    assert "Duration: 1h 15m" in text


def test_declaration_names_commander_and_next_update() -> None:
    text = activities().render(notice(NoticeKind.DECLARATION))
    assert "INCIDENT DECLARED" in text
    assert "Incident Commander: @dana" in text
    assert "Next Update: 2026-11-24 14:45 UTC" in text


def test_automatic_status_update_is_marked() -> None:
    text = activities().render(notice(NoticeKind.STATUS_UPDATE, automatic=True))
    assert "Automatic update: no status update was posted in time." in text
    human = activities().render(notice(NoticeKind.STATUS_UPDATE))
    assert "Automatic" not in human


def test_resolution_and_postmortem_deadlines() -> None:
    text = activities().render(notice(NoticeKind.RESOLUTION))
    assert "Root Cause:\nv42 retry policy" in text
    assert "Post-mortem to be final by: 2026-11-27 14:30 UTC" in text
    reminder = activities().render(notice(NoticeKind.POSTMORTEM_REMINDER))
    assert "Schedule within: 2026-11-25 14:30 UTC" in reminder


def channel(
    receiver: RecordingReceiver, name: str, kind: str = "webhook", **extra: object
) -> Channel:
    return Channel.model_validate(
        {"name": name, "kind": kind, "url": f"{receiver.url}/{name}", **extra}
    )


async def test_webhook_and_slack_bodies_with_idempotency_key() -> None:
    async with RecordingReceiver() as receiver:
        notify = activities(channel(receiver, "ops"), channel(receiver, "slack", kind="slack"))
        report = await ActivityEnvironment().run(notify.deliver, notice(NoticeKind.ESCALATION))
    assert [o.delivered for o in report.outcomes] == [True, True]
    webhook, slack = receiver.received
    body = webhook.json()
    assert body["kind"] == "escalation" and body["audience"] == "VP Engineering"
    assert body["incident"]["human_id"] == "INC-7K3QXD"
    assert "ESCALATION NOTICE" in body["text"]
    assert webhook.headers["idempotency-key"].endswith(":escalation:1")
    assert slack.json()["text"].startswith("*P0 INC-7K3QXD: P0 unresolved after 15m*\n```")


async def test_channels_serving_customers_get_no_internal_brief_or_link() -> None:
    customers = ["customers"]
    update = notice(
        NoticeKind.CUSTOMER_UPDATE,
        to="customers",
        headline="agents: identified",
        message="We found the cause and are rolling back.",
    )
    async with RecordingReceiver() as receiver:
        notify = NotifyActivities(
            channels=(
                channel(receiver, "customers", audiences=customers),
                channel(receiver, "slack", kind="slack", audiences=customers),
            ),
            http=httpx.AsyncClient(),
            ui_url="http://localhost:8233",
        )
        report = await ActivityEnvironment().run(notify.deliver, update)
    assert [o.delivered for o in report.outcomes] == [True, True]
    webhook, slack = receiver.received
    for body in (webhook.body.decode(), slack.body.decode()):
        assert "We found the cause and are rolling back." in body
        for internal in ("INC-7K3QXD", "dana", "cleo", "v42", "acme", "localhost:8233", "P0"):
            assert internal not in body, internal
    assert webhook.json()["service"] == "agents"
    assert webhook.headers["idempotency-key"].endswith(":customer_update:1")


async def test_a_4xx_is_reported_not_retried_and_others_still_get_it() -> None:
    def respond(request: Received) -> tuple[int, bytes]:
        return (404, b"no such hook") if request.path == "/gone" else (200, b"{}")

    async with RecordingReceiver(respond=respond) as receiver:
        notify = activities(channel(receiver, "gone"), channel(receiver, "ops"))
        report = await ActivityEnvironment().run(notify.deliver, notice(NoticeKind.DECLARATION))
    rejected = report.rejected
    assert [(o.channel, o.status_code, o.detail) for o in rejected] == [
        ("gone", 404, "no such hook")
    ]
    assert [r.path for r in receiver.received] == ["/gone", "/ops"]


async def test_a_5xx_retries_without_resending_to_channels_that_took_it() -> None:
    answers = {"/flaky": [503, 200]}

    def respond(request: Received) -> tuple[int, bytes]:
        codes = answers.get(request.path)
        return (codes.pop(0) if codes else 200), b"{}"

    async with RecordingReceiver(respond=respond) as receiver:
        notify = activities(channel(receiver, "ops"), channel(receiver, "flaky"))
        env = ActivityEnvironment()
        beats: list[object] = []
        env.on_heartbeat = lambda *details: beats.append(details[0])
        with pytest.raises(ApplicationError) as failed:
            await env.run(notify.deliver, notice(NoticeKind.ESCALATION))
        assert not failed.value.non_retryable
        assert "flaky" in failed.value.message
        # Temporal's retry carries the last heartbeat: "ops" already has the notice.
        env.info = dataclasses.replace(env.info, heartbeat_details=[beats[-1]], attempt=2)
        report = await env.run(notify.deliver, notice(NoticeKind.ESCALATION))
    assert sorted(o.channel for o in report.outcomes if o.delivered) == ["flaky", "ops"]
    assert [r.path for r in receiver.received] == ["/ops", "/flaky", "/flaky"]


async def test_min_severity_filters_channels() -> None:
    async with RecordingReceiver() as receiver:
        notify = activities(channel(receiver, "execs", min_severity="P0"))
        p2 = notice(NoticeKind.DECLARATION)
        p2 = p2.model_copy(
            update={"incident": p2.incident.model_copy(update={"severity": Severity.P2})}
        )
        report = await ActivityEnvironment().run(notify.deliver, p2)
    assert report.outcomes == [] and receiver.received == []


async def test_a_slow_channel_does_not_stop_the_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    # If the worker dies mid-delivery, Temporal retries once heartbeats stop, not after
    # the whole start-to-close timeout: a P0 page is late by seconds, not a minute.
    monkeypatch.setattr(notify_module, "HEARTBEAT_EVERY", 0.1)

    async def answer_slowly(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(1.0)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer_slowly, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    slow = Channel.model_validate(
        {"name": "slow", "kind": "webhook", "url": f"http://127.0.0.1:{port}/hook"}
    )
    async with server:
        env = ActivityEnvironment()
        beats: list[object] = []
        env.on_heartbeat = lambda *details: beats.append(details[0])
        report = await env.run(activities(slow).deliver, notice(NoticeKind.ESCALATION))
    assert [o.delivered for o in report.outcomes] == [True]
    assert len(beats) >= 5  # every 0.1 s through the 1 s the channel took to answer
    assert beats[0] == [] and beats[-1] == [report.outcomes[0].model_dump(mode="json")]


def test_the_templates_carry_the_runbooks_missing_fields() -> None:
    base = notice(NoticeKind.STATUS_UPDATE).incident
    brief = base.model_copy(
        update={
            "users_affected": "1,200",
            "traffic_percent": 12.5,
            "revenue_impact": "$4k an hour",
            "data_loss": False,
            "impact_duration": timedelta(minutes=40),
            "current_actions": ["roll back v42 - dana"],
            "next_steps": ["watch the error rate"],
            "eta": "16:00 UTC",
            "tried": ["Roll back agents: in force"],
            "ask": "approve a failover to us-west",
            "postmortem_scheduled_for": AT + timedelta(hours=20),
        }
    )
    render = activities().render
    update = render(notice(NoticeKind.STATUS_UPDATE, incident=brief))
    assert "- roll back v42 - dana" in update and "- watch the error rate" in update
    assert "ETA: 16:00 UTC" in update
    resolved = render(notice(NoticeKind.RESOLUTION, incident=brief))
    assert "Users affected: 1,200 (12.5% of traffic)" in resolved
    assert "Duration of impact: 40m" in resolved and "Data loss: No" in resolved
    assert "Post-mortem scheduled: 2026-11-25 10:30 UTC" in resolved
    escalation = render(notice(NoticeKind.ESCALATION, incident=brief))
    assert "- Roll back agents: in force" in escalation
    assert "approve a failover to us-west" in escalation
    exec_brief = render(notice(NoticeKind.EXECUTIVE_BRIEF, incident=brief))
    assert "ETA 16:00 UTC" in exec_brief and "revenue $4k an hour" in exec_brief
    item = render(notice(NoticeKind.ACTION_ITEM, audience="dana", message="#1 (P1): canary"))
    assert "#1 (P1): canary" in item and "action-item-done INC-7K3QXD" in item
