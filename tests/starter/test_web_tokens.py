"""The decision API with personal tokens: a decision is made as the token's person, never as
whoever the body names; a token that is unknown, revoked or expired changes nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from click.testing import CliRunner, Result

from incident.containment import ActionState
from incident.models import Acknowledge, Alert, Phase, Resolve, Role
from starter import api_client
from starter.api import IncidentHandle, decide
from starter.cli.main import cli
from starter.sample import sample_directory_file
from starter.web.store import CredentialStore, token_digest
from tests.support.checks import VOUCHED
from tests.support.harness import Harness
from tests.support.wait import eventually
from tests.support.web import fixed_client, running_service, unreachable, web_settings


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[CredentialStore]:
    credentials = CredentialStore(database_url)
    yield credentials
    await credentials.close()


@pytest.fixture
async def api(harness: Harness, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = web_settings(tmp_path, database_url=harness.database_url)
    async with (
        running_service(settings, fixed_client(harness.client)) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        yield http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def unacknowledged(harness: Harness, handle: IncidentHandle) -> None:
    state = await harness.state(handle)
    assert state.acknowledged_by is None and state.phase is Phase.TRIAGED


async def test_a_token_acknowledges_as_its_person(
    harness: Harness, api: httpx.AsyncClient, store: CredentialStore
) -> None:
    handle = await harness.declare()
    token, _ = await store.create_token("alice", None)
    response = await api.post(
        f"/api/v1/incidents/{handle.id}/acknowledge",
        json={"reason": "on it"},
        headers=bearer(token),
    )
    assert response.status_code == 200, response.text
    receipt = response.json()
    assert receipt["event"]["actor"] == "alice"
    assert receipt["event"]["via"] == "token"
    state = await harness.state(handle)
    assert state.acknowledged_by == "alice"


async def test_the_incident_is_named_by_its_human_id_too(
    harness: Harness, api: httpx.AsyncClient, store: CredentialStore
) -> None:
    handle = await harness.declare()
    human_id = (await harness.state(handle)).human_id
    token, _ = await store.create_token("bob", None)

    async def shown() -> httpx.Response | None:
        # Visibility indexes a new incident's ID a moment after it opens.
        response = await api.get(f"/api/v1/incidents/{human_id}", headers=bearer(token))
        return response if response.status_code == 200 else None

    summary = (await eventually(shown)).json()
    assert (summary["human_id"], summary["phase"], summary["severity"]) == (
        human_id,
        "triaged",
        "P0",
    )
    assert summary["timeline"], "the summary carries the latest timeline events"


async def test_a_body_naming_an_actor_is_refused_and_changes_nothing(
    harness: Harness, api: httpx.AsyncClient, store: CredentialStore
) -> None:
    handle = await harness.declare()
    token, _ = await store.create_token("bob", None)
    response = await api.post(
        f"/api/v1/incidents/{handle.id}/acknowledge",
        json={"actor": "the-ceo", "reason": "trust me"},
        headers=bearer(token),
    )
    assert response.status_code == 422
    assert "actor is set by Warroom from your credentials" in response.json()["error"]
    await unacknowledged(harness, handle)


@pytest.mark.parametrize("kind", ["unknown", "revoked", "expired", "missing", "not bearer"])
async def test_a_token_that_is_not_good_is_a_401_and_changes_nothing(
    harness: Harness,
    api: httpx.AsyncClient,
    store: CredentialStore,
    database_url: str,
    kind: str,
) -> None:
    handle = await harness.declare()
    token, token_id = await store.create_token("alice", datetime.now(UTC) + timedelta(days=1))
    headers = bearer(token)
    if kind == "unknown":
        headers = bearer("wrt_" + "x" * 43)
    elif kind == "revoked":
        assert await store.revoke(token_id) is not None
    elif kind == "expired":
        conn = await asyncpg.connect(database_url)
        await conn.execute(
            "UPDATE api_tokens SET expires_at = now() - interval '1 minute' WHERE id = $1",
            token_id,
        )
        await conn.close()
    elif kind == "missing":
        headers = {}
    else:
        headers = {"Authorization": f"Basic {token}"}
    response = await api.post(f"/api/v1/incidents/{handle.id}/acknowledge", headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    reason = response.json()["error"]
    expected = {
        "unknown": "not recognised",
        "revoked": "revoked",
        "expired": "expired",
        "missing": "credentials required",
        "not bearer": "Bearer",
    }[kind]
    assert expected in reason
    await unacknowledged(harness, handle)


async def test_a_token_of_someone_not_in_the_directory_is_a_403(
    harness: Harness, api: httpx.AsyncClient, store: CredentialStore
) -> None:
    handle = await harness.declare()
    token, _ = await store.create_token("mallory", None)
    response = await api.post(f"/api/v1/incidents/{handle.id}/acknowledge", headers=bearer(token))
    assert response.status_code == 403
    assert "'mallory' is not a person in the directory" in response.json()["error"]
    await unacknowledged(harness, handle)


async def test_answers_for_unknown_incidents_rejections_and_malformed_bodies(
    harness: Harness, api: httpx.AsyncClient, store: CredentialStore
) -> None:
    handle = await harness.declare()
    token, _ = await store.create_token("alice", None)
    unknown = await api.post(
        "/api/v1/incidents/incident-manual-nothing-here/acknowledge", headers=bearer(token)
    )
    assert unknown.status_code == 404, unknown.text
    no_such_decision = await api.post(
        f"/api/v1/incidents/{handle.id}/make_it_stop", headers=bearer(token)
    )
    assert no_such_decision.status_code == 404
    assert "acknowledge" in no_such_decision.json()["error"]
    malformed = await api.post(
        f"/api/v1/incidents/{handle.id}/assign_role",
        json={"role": "incident_commander"},
        headers=bearer(token),
    )
    assert malformed.status_code == 422
    assert "person" in malformed.json()["error"]
    first = await api.post(f"/api/v1/incidents/{handle.id}/acknowledge", headers=bearer(token))
    assert first.status_code == 200
    again = await api.post(f"/api/v1/incidents/{handle.id}/acknowledge", headers=bearer(token))
    assert again.status_code == 409
    assert "acknowledged" in again.json()["reason"]


async def test_whoami_names_the_tokens_person(
    api: httpx.AsyncClient, store: CredentialStore
) -> None:
    token, _ = await store.create_token("alice", None)
    response = await api.get("/api/v1/whoami", headers=bearer(token))
    assert response.json() == {"person": "alice", "name": "Alice Ng", "verified_by": "token"}


async def test_temporal_unreachable_is_a_503_to_send_again(
    database_url: str, store: CredentialStore, tmp_path: Path
) -> None:
    token, _ = await store.create_token("alice", None)
    settings = web_settings(tmp_path, database_url=database_url)
    async with (
        running_service(settings, unreachable()) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        response = await http.post(
            "/api/v1/incidents/incident-manual-x/acknowledge", headers=bearer(token)
        )
    assert response.status_code == 503
    assert response.headers["retry-after"]


async def test_without_people_credentials_configured_nobody_gets_in(tmp_path: Path) -> None:
    settings = web_settings(tmp_path)  # no DATABASE_URL, no OIDC
    async with (
        running_service(settings, unreachable()) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        response = await http.post(
            "/api/v1/incidents/incident-manual-x/acknowledge", headers=bearer("wrt_anything")
        )
        whoami = await http.get("/api/v1/whoami", headers=bearer("wrt_anything"))
    assert response.status_code == whoami.status_code == 503
    assert "no way to authenticate people is configured" in response.json()["error"]


async def test_the_database_keeps_only_the_tokens_hash(
    database_url: str, store: CredentialStore
) -> None:
    token, token_id = await store.create_token("alice", None)
    conn = await asyncpg.connect(database_url)
    row = await conn.fetchrow("SELECT * FROM api_tokens WHERE id = $1", token_id)
    await conn.close()
    assert row is not None
    assert token not in json.dumps({k: str(v) for k, v in dict(row).items()})
    assert row["token_sha256"] == token_digest(token)


async def test_the_python_client_sends_as_the_token_and_raises_typed_errors(
    harness: Harness, api: httpx.AsyncClient, store: CredentialStore
) -> None:
    handle = await harness.declare()
    token, token_id = await store.create_token("bob", None)
    base = str(api.base_url)
    receipt = await api_client.send_decision(
        base, token, handle.id, Acknowledge(actor="ignored", reason="from the client")
    )
    assert receipt.event.actor == "bob"
    with pytest.raises(api_client.Rejected, match="acknowledged"):
        await api_client.send_decision(base, token, handle.id, {"decision": "acknowledge"})
    with pytest.raises(api_client.NotFound):
        await api_client.send_decision(base, token, "incident-manual-none", {"decision": "close"})
    with pytest.raises(api_client.Invalid, match="person"):
        await api_client.send_decision(
            base, token, handle.id, {"decision": "assign_role", "role": "scribe"}
        )
    await store.revoke(token_id)
    with pytest.raises(api_client.Unauthorized, match="revoked"):
        await api_client.send_decision(
            base, token, handle.id, {"decision": "add_note", "text": "x"}
        )


def token(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, ["token", *args], env=env)


def test_warroom_token_create_list_revoke(database_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": database_url, "WARROOM_DIRECTORY": "", "WARROOM_HOME": str(tmp_path)}
    made = token(env, "create", "alice", "--expires", "30d")
    assert made.exit_code == 0, made.output
    assert "not shown again" in made.output
    secret = next(w for w in made.output.split() if w.startswith("wrt_"))
    token_id = int(made.output.split()[1])
    listed = token(env, "list", "alice")
    assert listed.exit_code == 0 and f"{token_id:>5}  alice" in listed.output
    assert secret not in listed.output, "a token is shown once, when it is made"
    revoked = token(env, "revoke", str(token_id))
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in token(env, "list", "alice").output
    assert token(env, "revoke", "999999").exit_code == 3


def test_warroom_token_create_refuses_someone_not_in_the_directory(
    database_url: str, tmp_path: Path
) -> None:
    directory = web_settings(tmp_path).directory_path
    env = {
        "DATABASE_URL": database_url,
        "WARROOM_DIRECTORY": str(directory),
        "WARROOM_HOME": str(tmp_path),
    }
    refused = token(env, "create", "mallory")
    assert refused.exit_code == 3
    assert "'mallory' is not a person" in refused.output
    bad_expiry = token(env, "create", "alice", "--expires", "soon")
    assert bad_expiry.exit_code == 2
    assert token(env, "create", "Not A Handle").exit_code == 2


def test_warroom_token_create_reads_the_directory_warroom_up_pages(
    database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "directory_path").write_text(str(sample_directory_file()))
    env = {"DATABASE_URL": database_url, "WARROOM_DIRECTORY": "", "WARROOM_HOME": str(tmp_path)}
    assert token(env, "create", "carol").exit_code == 0
    refused = token(env, "create", "mallory")
    assert refused.exit_code == 3
    assert f"'mallory' is not a person in {sample_directory_file()}" in refused.output


def test_warroom_token_without_a_usable_database_is_exit_4(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": "postgresql://warroom:secret@127.0.0.1:1/warroom",
        "WARROOM_DIRECTORY": "",
        "WARROOM_HOME": str(tmp_path),
    }
    listed = token(env, "list")
    assert listed.exit_code == 4
    assert "cannot use the database" in listed.output and "secret" not in listed.output


async def test_the_cli_decides_through_the_api_as_the_tokens_person(
    harness: Harness, api: httpx.AsyncClient, store: CredentialStore
) -> None:
    handle = await harness.declare()
    token, _ = await store.create_token("alice", None)
    env = {"WARROOM_API_URL": str(api.base_url), "WARROOM_API_TOKEN": token}

    async def warroom(*args: str) -> Result:
        return await asyncio.to_thread(CliRunner().invoke, cli, list(args), env=env)

    # --as is a claim: through the API the token says who acts.
    done = await warroom("--as", "mallory", "ack", handle.id, "--reason", "on it")
    assert done.exit_code == 0, done.output
    state = await harness.state(handle)
    assert state.acknowledged_by == "alice"
    assert [(e.actor, e.via) for e in state.timeline if e.kind == "acknowledged"] == [
        ("alice", "token")
    ]
    again = await warroom("ack", handle.id)
    assert again.exit_code == 1 and "already acknowledged by alice" in again.output
    forged = await asyncio.to_thread(
        CliRunner().invoke, cli, ["ack", handle.id], env={**env, "WARROOM_API_TOKEN": "wrt_x"}
    )
    assert forged.exit_code == 6


async def test_a_person_without_the_role_cannot_assign_resolve_or_approve_their_own(
    harness: Harness, api: httpx.AsyncClient, store: CredentialStore
) -> None:
    handle = await harness.declare()
    alice, _ = await store.create_token("alice", None)
    bob, _ = await store.create_token("bob", None)

    async def decide(token: str, decision: str, **body: object) -> httpx.Response:
        return await api.post(
            f"/api/v1/incidents/{handle.id}/{decision}", json=body, headers=bearer(token)
        )

    took = await decide(alice, "assign_role", role="incident_commander", person="alice")
    assert took.status_code == 200, took.text
    refused = await decide(bob, "assign_role", role="technical_lead", person="bob")
    assert refused.status_code == 409
    assert "bob cannot assign roles: only the incident commander (alice) can" in refused.text
    refused = await decide(bob, "resolve", root_cause="bad deploy")
    assert refused.status_code == 409 and "bob cannot resolve the incident" in refused.text
    proposed = await decide(
        alice, "propose_containment", kind="rollback_deployment", target="agents-api"
    )
    assert proposed.status_code == 200, proposed.text
    own = await decide(alice, "approve_containment", action_id=1)
    assert own.status_code == 409 and "cannot approve it too" in own.text
    state = await harness.state(handle)
    assert (
        state.roles == {Role.INCIDENT_COMMANDER: "alice"} and state.resolution_declared_at is None
    )
    assert [a.state for a in state.containment] == [ActionState.AWAITING_APPROVAL]


async def test_a_closed_incident_takes_action_items_over_the_api_and_refuses_the_rest(
    harness: Harness, api: httpx.AsyncClient, store: CredentialStore
) -> None:
    disk = Alert(fingerprint="d1", name="DiskNoise", labels={"severity": "info", "service": "disk"})
    handle = await harness.fire("api-after-close", disk)
    await decide(handle, Resolve(actor="bob", root_cause="log rotation stuck", verified=VOUCHED))
    await harness.advance(handle, timedelta(minutes=61))  # a P3 closes on resolution
    closed = await handle.result()
    token, _ = await store.create_token("bob", None)

    added = await api.post(
        f"/api/v1/incidents/{closed.human_id}/add_action_item",
        json={"description": "alert on inode use", "owner": "erin", "priority": "P2"},
        headers=bearer(token),
    )
    assert added.status_code == 200, added.text
    assert added.json()["event"]["actor"] == "bob"
    shown = await api.get(f"/api/v1/incidents/{closed.human_id}", headers=bearer(token))
    assert shown.status_code == 200, shown.text
    assert "Action item #1" in json.dumps(shown.json())

    refused = await api.post(
        f"/api/v1/incidents/{closed.human_id}/acknowledge", headers=bearer(token)
    )
    assert refused.status_code == 409, refused.text
    assert f"{closed.human_id} is closed" in refused.text
    assert "only its action items still do" in refused.text
