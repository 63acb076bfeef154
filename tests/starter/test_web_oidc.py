"""OIDC bearer tokens: a token of the configured provider, for this service, still valid, acts
as the person its email names; any other token is a 401, an unknown person a 403."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from starter.web.settings import WebSettings
from tests.support.harness import Harness
from tests.support.receiver import Received, RecordingReceiver
from tests.support.web import fixed_client, running_service, unreachable, web_settings

ISSUER = "https://login.example.com/"
AUDIENCE = "warroom-test"


@dataclass
class Provider:
    """An OIDC provider's signing keys, with its JWKS served over HTTP."""

    rsa_key: rsa.RSAPrivateKey
    ec_key: ec.EllipticCurvePrivateKey
    jwks_url: str

    def token(
        self, *, key: Any = None, kid: str = "rsa-1", algorithm: str = "RS256", **claims: Any
    ) -> str:
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "00u1",
            "email": "alice@example.com",
            "email_verified": True,
            "iat": now,
            "exp": now + 300,
            **claims,
        }
        return jwt.encode(body, key or self.rsa_key, algorithm=algorithm, headers={"kid": kid})


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    keys = [
        {**RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True), "kid": "rsa-1", "use": "sig"},
        {**ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True), "kid": "ec-1", "use": "sig"},
    ]
    document = json.dumps({"keys": keys}).encode()

    def jwks(_request: Received) -> tuple[int, bytes]:
        return 200, document

    async with RecordingReceiver(respond=jwks) as server:
        yield Provider(rsa_key, ec_key, f"{server.url}/.well-known/jwks.json")


def oidc_settings(folder: Path, provider: Provider, **values: Any) -> WebSettings:
    return web_settings(
        folder,
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        oidc_jwks_url=provider.jwks_url,
        **values,
    )


@pytest.fixture
async def service(provider: Provider, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        running_service(oidc_settings(tmp_path, provider), unreachable()) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        yield http


async def whoami(service: httpx.AsyncClient, token: str) -> httpx.Response:
    return await service.get("/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})


async def test_a_providers_token_names_the_person_of_its_email(
    service: httpx.AsyncClient, provider: Provider
) -> None:
    response = await whoami(service, provider.token())
    assert response.status_code == 200, response.text
    assert response.json() == {"person": "alice", "name": "Alice Ng", "verified_by": "oidc"}
    by_ec = await whoami(
        service, provider.token(key=provider.ec_key, kid="ec-1", algorithm="ES256")
    )
    assert by_ec.json()["person"] == "alice"
    by_case = await whoami(service, provider.token(email="Bob@Example.com"))
    assert by_case.json()["person"] == "bob"


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("wrong issuer", "issuer"),
        ("wrong audience", "audience"),
        ("expired", "expired"),
        ("bad signature", "Signature verification failed"),
        ("unknown key", "signing key"),
        ("shared secret", "bearer token"),
        ("not a JWT", "not a JWT"),
    ],
)
async def test_any_other_token_is_a_401(
    service: httpx.AsyncClient, provider: Provider, case: str, reason: str
) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    makers: dict[str, Callable[[], str]] = {
        "wrong issuer": lambda: provider.token(iss="https://evil.example.com/"),
        "wrong audience": lambda: provider.token(aud="another-app"),
        "expired": lambda: provider.token(exp=int(time.time()) - 120),
        "bad signature": lambda: provider.token(key=stranger),
        "unknown key": lambda: provider.token(kid="rsa-9"),
        # HS256 keyed with something public must never pass for the provider's signature.
        "shared secret": lambda: provider.token(key="x" * 32, algorithm="HS256"),
        "not a JWT": lambda: "a.b.c",
    }
    token = makers[case]()
    response = await whoami(service, token)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert reason in response.json()["error"]


async def test_a_good_token_naming_nobody_known_is_a_403(
    service: httpx.AsyncClient, provider: Provider
) -> None:
    unknown = await whoami(service, provider.token(email="eve@example.com"))
    assert unknown.status_code == 403
    assert "'eve@example.com' matches no person" in unknown.json()["error"]
    unverified = await whoami(service, provider.token(email_verified=False))
    assert unverified.status_code == 403
    assert "not verified" in unverified.json()["error"]
    no_claim = await whoami(service, provider.token(email=None))
    assert no_claim.status_code == 403


async def test_the_claim_may_name_a_handle(provider: Provider, tmp_path: Path) -> None:
    settings = oidc_settings(tmp_path, provider, oidc_claim="preferred_username")
    async with (
        running_service(settings, unreachable()) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        response = await whoami(http, provider.token(preferred_username="bob"))
    assert response.json()["person"] == "bob"


async def test_an_oidc_decision_lands_as_the_person(
    harness: Harness, provider: Provider, tmp_path: Path
) -> None:
    handle = await harness.declare()
    async with (
        running_service(oidc_settings(tmp_path, provider), fixed_client(harness.client)) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        response = await http.post(
            f"/api/v1/incidents/{handle.id}/add_note",
            json={"text": "looking at the canary"},
            headers={"Authorization": f"Bearer {provider.token(email='bob@example.com')}"},
        )
    assert response.status_code == 200, response.text
    assert response.json()["event"]["actor"] == "bob"
    state = await harness.state(handle)
    assert state.timeline[-1].actor == "bob"
