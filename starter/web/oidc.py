"""OIDC/JWT bearer tokens: signed by a key of the provider's JWKS, issuer, audience, expiry."""

from __future__ import annotations

import asyncio
from typing import Any

import jwt

ALGORITHMS = ("RS256", "ES256")
"""The signatures taken: the provider's asymmetric keys, never a shared secret (HS256)."""
LEEWAY_SECONDS = 30
"""Clock difference allowed between the provider and this service on ``exp``/``nbf``/``iat``."""
JWKS_CACHE_SECONDS = 300
"""How long the provider's key set is kept before it is fetched again (a new ``kid`` refetches)."""
JWKS_TIMEOUT_SECONDS = 5.0


class OidcRefused(ValueError):
    """Not a token of the configured provider for this service, or no longer valid (401)."""


class OidcUnavailable(RuntimeError):
    """The provider's key set could not be fetched: nobody is let in just now (503)."""


class OidcVerifier:
    """Checks bearer JWTs of one provider and returns the claim that names the person."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str,
        claim: str = "email",
        leeway: float = LEEWAY_SECONDS,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.claim = claim
        self.leeway = leeway
        self._keys = jwt.PyJWKClient(
            jwks_url, cache_keys=True, lifespan=JWKS_CACHE_SECONDS, timeout=JWKS_TIMEOUT_SECONDS
        )

    async def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of ``token``; OidcRefused says why it is not taken.

        The key set is fetched with blocking I/O, so the check runs in a thread.
        """
        return await asyncio.to_thread(self._verify, token)

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            key = self._keys.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as err:
            raise OidcUnavailable(f"the OIDC provider's keys could not be fetched: {err}") from err
        except jwt.PyJWKClientError as err:
            raise OidcRefused(f"bearer token not signed by a key of the provider: {err}") from err
        except (jwt.DecodeError, jwt.PyJWKError) as err:
            raise OidcRefused(f"bearer token is not a JWT: {err}") from err
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=list(ALGORITHMS),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as err:
            raise OidcRefused("bearer token expired") from err
        except jwt.InvalidAudienceError as err:
            raise OidcRefused(f"bearer token is not for this service (audience): {err}") from err
        except jwt.InvalidIssuerError as err:
            raise OidcRefused(f"bearer token is from another issuer: {err}") from err
        except jwt.InvalidTokenError as err:
            raise OidcRefused(f"bearer token refused: {err}") from err
        return claims
