"""Credentials in URLs stay out of errors, outcomes, the timeline, history and logs."""

from __future__ import annotations

import logging
import uuid

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.channels import Channel
from activities.contain import ContainmentActivities
from activities.notify import NotifyActivities
from activities.probe import ProbeActivities
from activities.redact import safe_url, scrub
from dev.ports import free_port
from incident.containment import ActionKind, ContainmentCall
from incident.notices import NoticeKind
from incident.policy import load_policy
from tests.activities.test_notify import notice
from tests.support.receiver import Received, RecordingReceiver
from worker.settings import WorkerSettings

SECRETS = ("alice-basic", "hunter2-pw", "XXXXsecret", "tok-abc123", "cp-bearer-9f8e7d")


def slack_like(base: str) -> str:
    """A Slack-style webhook: the path is the credential, plus userinfo and a query token."""
    host = base.removeprefix("http://")
    return f"http://alice-basic:hunter2-pw@{host}/services/T000/B000/XXXXsecret?token=tok-abc123"


def assert_no_secret(*texts: object) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in str(text), f"{secret!r} shown in {text!r}"


def causes(err: BaseException) -> list[str]:
    """The error and every cause Temporal would put into history with it."""
    found = []
    cause: BaseException | None = err
    while cause is not None:
        found.append(f"{type(cause).__name__}: {cause}")
        cause = cause.__cause__
    return found


# --- the shape of a safe URL ---------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://hooks.slack.com/services/T0A1B2C3/B0D4E5F6/abcDEF123ghiJKL456?x=1",
            "https://hooks.slack.com/services/***/***/***",
        ),
        ("http://u:p@prometheus:9090/", "http://prometheus:9090/"),
        ("http://prometheus:9090", "http://prometheus:9090"),
        ("https://cp.example.com/api/v1?token=abc#frag", "https://cp.example.com/api/v1"),
        (
            "postgresql://warroom:pw@db.internal:5432/warroom",
            "postgresql://db.internal:5432/warroom",
        ),
        ("postgresql://db/x?password=pw&sslmode=require", "postgresql://db/x"),
        ("http://[::1]:8080/hooks/abcdef0123456789", "http://[::1]:8080/hooks/***"),
        ("user:pw@prometheus:9090", "***@prometheus:9090"),
        ("not a url", "not a url"),
    ],
)
def test_a_safe_url_keeps_where_and_drops_every_credential(url: str, shown: str) -> None:
    assert safe_url(url) == shown


def test_scrub_removes_every_secret_piece_from_text() -> None:
    url = "http://alice-basic:hunter2-pw@127.0.0.1:9/services/T000/B000/XXXXsecret?token=tok-abc123"
    text = (
        f"POST {url} failed; Cannot POST /services/T000/B000/XXXXsecret?token=tok-abc123 "
        "(auth alice-basic:hunter2-pw, bearer cp-bearer-9f8e7d)"
    )
    scrubbed = scrub(text, [url], extra=["cp-bearer-9f8e7d"])
    assert_no_secret(scrubbed)
    assert "http://127.0.0.1:9/services/***/***/***" in scrubbed


# --- activities: errors, outcomes and logs ---------------------------------------------


async def test_an_unreachable_channel_shows_no_credential(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="warroom")
    url = slack_like(f"http://127.0.0.1:{free_port()}")
    channel = Channel.model_validate({"name": "slack", "kind": "slack", "url": url})
    async with httpx.AsyncClient() as http:
        notify = NotifyActivities(channels=[channel], http=http)
        with pytest.raises(ApplicationError) as failed:
            await ActivityEnvironment().run(notify.deliver, notice(NoticeKind.ESCALATION))
    assert failed.value.message == "channels not reachable yet: slack"
    assert "channel slack unreachable: connection refused" in caplog.text
    assert_no_secret(*causes(failed.value), caplog.text)


async def test_a_channel_echoing_its_url_in_a_refusal_shows_no_credential(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Many servers answer "Cannot POST /the/path?query": the outcome goes on the timeline.
    def echo(request: Received) -> tuple[int, bytes]:
        return 404, f"Cannot {request.method} {request.path}".encode()

    caplog.set_level(logging.DEBUG, logger="warroom")
    async with RecordingReceiver(respond=echo) as receiver:
        channel = Channel.model_validate(
            {"name": "slack", "kind": "slack", "url": slack_like(receiver.url)}
        )
        async with httpx.AsyncClient() as http:
            notify = NotifyActivities(channels=[channel], http=http)
            report = await ActivityEnvironment().run(notify.deliver, notice(NoticeKind.ESCALATION))
    (outcome,) = report.outcomes
    assert (outcome.delivered, outcome.status_code) == (False, 404)
    assert outcome.detail == "Cannot POST /services/***/***/***?***"
    assert_no_secret(report.model_dump_json(), caplog.text)


async def test_unreachable_prometheus_shows_no_credential() -> None:
    port = free_port()
    url = f"http://alice-basic:hunter2-pw@127.0.0.1:{port}/prom/XXXXsecret?token=tok-abc123"
    async with httpx.AsyncClient() as http:
        probe = ProbeActivities(http=http, prometheus_url=url)
        result = await ActivityEnvironment().run(probe.check_slos, load_policy().recovery.probes)
    assert not result.healthy
    assert result.error == (
        f"Prometheus at http://127.0.0.1:{port}/prom/*** unreachable: connection refused"
    )
    assert_no_secret(result.model_dump_json())


async def test_prometheus_echoing_its_url_shows_no_credential() -> None:
    def echo(request: Received) -> tuple[int, bytes]:
        return 502, f"bad gateway for {request.path} as alice-basic".encode()

    async with RecordingReceiver(respond=echo) as server:
        url = slack_like(server.url).replace("/services/T000/B000/", "/prom/")
        async with httpx.AsyncClient() as http:
            probe = ProbeActivities(http=http, prometheus_url=url)
            result = await ActivityEnvironment().run(
                probe.check_slos, load_policy().recovery.probes
            )
    assert result.error is not None and "answered 502" in result.error
    assert_no_secret(result.model_dump_json())


def contain_call() -> ContainmentCall:
    return ContainmentCall(
        incident=f"INC-{uuid.uuid4().hex[:6].upper()}",
        action_id=1,
        kind=ActionKind.DISABLE_TRIGGER,
        target="nightly-digest",
    )


async def test_an_unreachable_control_plane_shows_no_credential() -> None:
    port = free_port()
    base = f"http://alice-basic:hunter2-pw@127.0.0.1:{port}/gw/XXXXsecret"
    async with httpx.AsyncClient() as http:
        contain = ContainmentActivities(http=http, base_url=base, token="cp-bearer-9f8e7d")
        with pytest.raises(ApplicationError) as failed:
            await ActivityEnvironment().run(contain.execute, contain_call())
    assert failed.value.type == "ControlPlaneUnavailable"
    assert failed.value.message == (
        f"control plane at http://127.0.0.1:{port}/gw/*** unreachable: connection refused"
    )
    assert_no_secret(*causes(failed.value))


@pytest.mark.parametrize("status", [401, 502])
async def test_a_control_plane_echoing_the_request_shows_no_credential(status: int) -> None:
    def echo(request: Received) -> tuple[int, bytes]:
        auth = request.headers.get("authorization", "")
        return status, f"{request.method} {request.path} refused for {auth}".encode()

    async with RecordingReceiver(respond=echo) as server:
        base = slack_like(server.url).replace("/services/T000/B000/", "/gw/").split("?")[0]
        async with httpx.AsyncClient() as http:
            contain = ContainmentActivities(http=http, base_url=base, token="cp-bearer-9f8e7d")
            with pytest.raises(ApplicationError) as failed:
                await ActivityEnvironment().run(contain.execute, contain_call())
    assert f"answered {status}" in failed.value.message or f"({status})" in failed.value.message
    assert "/api/v1/agents/triggers/nightly-digest" in failed.value.message
    assert_no_secret(*causes(failed.value))


# --- settings: what a repr or a refusal shows ------------------------------------------


def test_worker_settings_show_no_credential() -> None:
    settings = WorkerSettings.from_env(
        {
            "WARROOM_PROMETHEUS_URL": "http://alice-basic:hunter2-pw@prometheus:9090",
            "WARROOM_CONTROL_PLANE_URL": "https://alice-basic:hunter2-pw@cp.example.com",
            "WARROOM_CONTROL_PLANE_TOKEN": "cp-bearer-9f8e7d",
            "WARROOM_CHANNELS": (
                '[{"name": "slack", "kind": "slack", "url": "https://hooks.slack.com/services/'
                'T000/B000/XXXXsecret?token=tok-abc123", "headers": {"X-Key": "tok-abc123"}}]'
            ),
            "DATABASE_URL": "postgresql://warroom:hunter2-pw@db:5432/warroom",
        }
    )
    assert_no_secret(repr(settings), str(settings), repr(settings.channels))
    assert "http://prometheus:9090" in repr(settings)
    assert "https://hooks.slack.com/services/***/***/***" in repr(settings)
    # The values themselves are intact: only what is shown is redacted.
    assert settings.prometheus_url == "http://alice-basic:hunter2-pw@prometheus:9090"
    assert "XXXXsecret" in str(settings.channels[0].url)


def test_a_refused_url_setting_shows_no_credential() -> None:
    from worker.settings import SettingsError

    with pytest.raises(SettingsError) as refused:
        WorkerSettings.from_env({"WARROOM_PROMETHEUS_URL": "alice-basic:hunter2-pw@prom:9090"})
    assert refused.value.args[0].startswith("WARROOM_PROMETHEUS_URL: ")
    assert_no_secret(str(refused.value))
