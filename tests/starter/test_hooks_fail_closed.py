"""The hooks fail closed: odd input is a clear 4xx, never a 500, and no credentials, no start."""

from __future__ import annotations

import os
import random
import re
import string
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.client import Client

from dev.ports import free_port
from settings import SettingsError
from starter.hooks.app import create_app
from starter.hooks.auth import sign
from starter.hooks.settings import HookSettings
from tests.support.harness import Harness
from tests.support.hooks import running_hooks
from tests.support.processes import DEVNULL, PIPE, python_m, run, start, stop
from tests.support.wait import eventually

TOKEN = "fail-closed-token"
ROUTES = {"alertmanager", "grafana", "pagerduty", "generic", "status", "other"}
SENDER_KINDS = {"alertmanager", "grafana", "pagerduty", "generic"}


@pytest.fixture
async def signed(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    """Hooks that take HMAC-signed deliveries and PagerDuty events by routing key."""
    settings = HookSettings(
        task_queue=harness.task_queue, hmac_secret="k3y", pagerduty_routing_keys=("R0UT1NG",)
    )
    async with (
        running_hooks(settings, harness.client) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        yield http


async def test_a_timestamp_that_is_not_unix_seconds_is_a_401(signed: httpx.AsyncClient) -> None:
    body = b'{"alerts": [{"dedup_key": "k", "name": "N"}]}'
    for stamp in (b"9" * 400, b"\xb2\xb3", b"-5", b"1e9"):  # huge, superscript digits, signs
        headers = {
            b"X-Warroom-Timestamp": stamp,
            b"X-Warroom-Signature": sign("k3y", int(time.time()), body).encode(),
            b"Content-Type": b"application/json",
        }
        response = await signed.post("/hooks/generic", content=body, headers=headers)
        assert response.status_code == 401, (stamp, response.status_code, response.text)
        assert "Unix seconds" in response.json()["error"]


async def test_a_routing_key_that_is_not_ascii_is_a_401(signed: httpx.AsyncClient) -> None:
    for routing_key in ("R0UT1NGé", "路由", "\u0000"):
        event = {"routing_key": routing_key, "event_action": "acknowledge", "dedup_key": "k"}
        response = await signed.post("/v2/enqueue", json=event)
        assert response.status_code == 401, (routing_key, response.status_code, response.text)
        assert "routing_key not recognised" in response.text


def _series(text: str) -> dict[str, set[tuple[str, ...]]]:
    """Each metric's label sets, from the Prometheus text exposition."""
    found: dict[str, set[tuple[str, ...]]] = {}
    for line in text.splitlines():
        match = re.match(
            r"^(warroom_hook_\w+?)(?:_total|_bucket|_count|_sum|_created)?\{(.*)\} ", line
        )
        if match:
            labels = tuple(
                sorted(f"{k}={v}" for k, v in re.findall(r'(\w+)="([^"]*)"', match.group(2)))
            )
            found.setdefault(match.group(1), set()).add(labels)
    return found


async def test_metric_label_sets_stay_bounded_whatever_clients_send(harness: Harness) -> None:
    settings = HookSettings(task_queue=harness.task_queue, tokens=(TOKEN,))
    rng = random.Random(7)

    def word() -> str:
        return "".join(rng.choices(string.ascii_lowercase + string.digits, k=12))

    async with (
        running_hooks(settings, harness.client) as url,
        httpx.AsyncClient(base_url=url) as anonymous,
        httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as http,
    ):
        for i in range(100):
            client = http if i % 2 else anonymous
            assert (await client.post(f"/hooks/{word()}", json={})).status_code in (401, 404)
            assert (await client.get(f"/{word()}")).status_code == 404
            # Resolved alerts of no incident: counted, and nothing is opened.
            resolved = {
                "source": word(),
                "alerts": [{"dedup_key": word(), "name": "Gone", "status": "resolved"}],
            }
            assert (await http.post("/hooks/generic", json=resolved)).status_code == 202
            malformed = await http.post(
                "/hooks/generic", content=b"{", headers={"Content-Type": "application/json"}
            )
            assert malformed.status_code == 422
        text = (await http.get("/metrics")).text
    series = _series(text)
    assert series, text
    for name, label_sets in series.items():
        for labels in label_sets:
            values = dict(label.split("=", 1) for label in labels)
            if "endpoint" in values:
                assert values["endpoint"] in ROUTES, (name, labels)
            if "source" in values:
                assert values["source"] in SENDER_KINDS, (name, labels)
    # Bounded by routes x statuses x reasons, not by what 300 clients made up.
    assert sum(len(s) for s in series.values()) < 60, series


def test_hooks_without_credentials_refuse_to_be_built() -> None:
    with pytest.raises(SettingsError, match="WARROOM_HOOKS_OPEN=1"):
        create_app(HookSettings(), _no_client)
    create_app(HookSettings(allow_open=True), _no_client)  # asked for explicitly: fine
    create_app(HookSettings(tokens=("t",)), _no_client)


async def _no_client() -> Client:  # never called: building the app connects nothing
    raise AssertionError("not connected")


def _hooks_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    return {**env, "TEMPORAL_ADDRESS": "127.0.0.1:9", **extra}


@pytest.mark.slow
async def test_the_hook_service_without_credentials_refuses_to_start() -> None:
    port = free_port()
    refused = await run(
        *python_m("starter.hooks"),
        env=_hooks_env(WARROOM_HOOKS_ADDR=f"127.0.0.1:{port}"),
        stderr=PIPE,
        within=30,
    )
    assert refused.code == 2
    message = refused.err
    assert "no credentials" in message and "WARROOM_HOOKS_TOKENS" in message
    assert "WARROOM_HOOKS_OPEN=1" in message and "Traceback" not in message


@pytest.mark.slow
async def test_the_hook_service_runs_open_only_when_told_to() -> None:
    port = free_port()
    process = await start(
        *python_m("starter.hooks"),
        env=_hooks_env(WARROOM_HOOKS_ADDR=f"127.0.0.1:{port}", WARROOM_HOOKS_OPEN="1"),
        stdout=DEVNULL,
        stderr=PIPE,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

            async def healthy() -> bool:
                try:
                    return (await http.get("/healthz")).status_code == 200
                except httpx.HTTPError:
                    return False

            await eventually(healthy, within=30)
    finally:
        stopped = await stop(process)
    assert "anyone who can reach" in stopped.err


def test_running_open_and_the_call_timeout_come_from_the_environment() -> None:
    env = {"WARROOM_HOOKS_OPEN": "1", "WARROOM_HOOKS_RPC_TIMEOUT": "2.5"}
    settings = HookSettings.from_env(env)
    assert settings.allow_open and settings.rpc_timeout.total_seconds() == 2.5
    assert not HookSettings.from_env({}).allow_open
    for env, problem in (
        ({"WARROOM_HOOKS_OPEN": "maybe"}, "WARROOM_HOOKS_OPEN"),
        ({"WARROOM_HOOKS_RPC_TIMEOUT": "0"}, "WARROOM_HOOKS_RPC_TIMEOUT"),
        ({"WARROOM_HOOKS_RPC_TIMEOUT": "nan"}, "WARROOM_HOOKS_RPC_TIMEOUT"),
        ({"WARROOM_HOOKS_ADDR": "127.0.0.1:\u0668\u0660"}, "WARROOM_HOOKS_ADDR"),
    ):
        with pytest.raises(SettingsError, match=problem):
            HookSettings.from_env(env)
