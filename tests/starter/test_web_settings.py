"""The people's side, without servers: its settings, its route table and the client's errors."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from incident.models import Acknowledge, Decision
from settings import SettingsError
from starter import api_client
from starter.hooks.app import create_app
from starter.hooks.settings import HookSettings
from starter.web import WebSettings, build_services
from starter.web.api import decision_kinds
from tests.support.web import LINK_SECRET, running_service, unreachable, web_settings


def test_oidc_needs_its_three_settings_together() -> None:
    with pytest.raises(SettingsError, match="WARROOM_OIDC_JWKS_URL is not set"):
        WebSettings.from_env(
            {"WARROOM_OIDC_ISSUER": "https://login.example.com/", "WARROOM_OIDC_AUDIENCE": "w"}
        )


def test_a_short_link_secret_is_refused_without_being_quoted() -> None:
    with pytest.raises(SettingsError) as refused:
        WebSettings.from_env({"WARROOM_LINK_SECRET": "hunter2"})
    assert "WARROOM_LINK_SECRET" in str(refused.value)
    assert "hunter2" not in str(refused.value)
    settings = WebSettings.from_env({"WARROOM_LINK_SECRET": LINK_SECRET})
    assert LINK_SECRET not in repr(settings)


def test_a_directory_that_cannot_be_read_is_refused_at_start(tmp_path: Path) -> None:
    broken = tmp_path / "directory.yaml"
    broken.write_text("version: 1\npeople:\n  Alice: {name: Alice}\n")
    settings = WebSettings.from_env({"WARROOM_DIRECTORY": str(broken)})
    with pytest.raises(SettingsError, match="WARROOM_DIRECTORY"):
        build_services(settings, unreachable(), rpc_timeout=HookSettings().rpc_timeout)


def every_decision_kind() -> set[type[Decision]]:
    found, pending = set(), list(Decision.__subclasses__())
    while pending:
        kind = pending.pop()
        found.add(kind)
        pending.extend(kind.__subclasses__())
    return found


def test_every_decision_has_its_route_named_by_its_update() -> None:
    kinds = decision_kinds()
    assert set(kinds.values()) == every_decision_kind()
    assert all(kind.update == update for update, kind in kinds.items())
    app = create_app(HookSettings(tokens=("t",)), unreachable())
    paths = app.openapi()["paths"]
    for update in kinds:
        operation = paths[f"/api/v1/incidents/{{incident}}/{update}"]["post"]
        body = json.dumps(operation.get("requestBody", {}))
        assert "actor" not in body and "verified_by" not in body


def answering(
    status: int, body: object, headers: dict[str, str] | None = None
) -> httpx.AsyncClient:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers)

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, api_client.Unauthorized),
        (403, api_client.Forbidden),
        (404, api_client.NotFound),
        (422, api_client.Invalid),
        (503, api_client.Unavailable),
        (500, api_client.ApiError),
    ],
)
async def test_the_client_raises_one_error_per_answer(
    status: int, error: type[api_client.ApiError]
) -> None:
    async with answering(status, {"error": "why"}, {"Retry-After": "5"}) as http:
        with pytest.raises(error, match="why") as raised:
            await api_client.send_decision(
                "http://warroom", "wrt_x", "INC-1", Acknowledge(actor="me"), http=http
            )
    assert raised.value.status == status
    if isinstance(raised.value, api_client.Unavailable):
        assert raised.value.retry_after == 5


async def test_the_client_sends_no_actor_and_reads_the_refusal_reason() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(409, json={"error": "rejected: x", "reason": "already acknowledged"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(api_client.Rejected, match=r"^already acknowledged$"):
            await api_client.send_decision(
                "http://warroom/",
                "wrt_x",
                "INC-7K3QX-D2MPA",
                Acknowledge(actor="me", reason="on it"),
                http=http,
            )
    assert seen[0].url.path == "/api/v1/incidents/INC-7K3QX-D2MPA/acknowledge"
    assert json.loads(seen[0].content) == {"reason": "on it"}
    assert seen[0].headers["authorization"] == "Bearer wrt_x"


async def test_a_service_that_cannot_be_reached_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(api_client.Unavailable, match="cannot reach"):
            await api_client.send_decision(
                "http://warroom", "wrt_x", "INC-1", {"decision": "acknowledge"}, http=http
            )


async def test_a_peoples_route_refuses_a_body_over_the_limit(tmp_path: Path) -> None:
    settings = web_settings(tmp_path)
    async with (
        running_service(settings, unreachable()) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        huge = b"x" * (HookSettings().max_body + 1)
        for path in ("/api/v1/incidents/INC-1/add_note", "/ack/t", "/slack/interactions"):
            response = await http.post(path, content=huge)
            assert response.status_code == 413, path
