"""Who is calling the decision API: a personal API token or an OIDC bearer token, to a person.

Fails closed: with neither configured, or their store or provider unreachable,
nobody is let in (503); a credential that is missing, unknown, revoked or
expired is a 401; a good credential naming nobody Warroom knows is a 403.
"""

from __future__ import annotations

from starter.web.oidc import OidcRefused, OidcUnavailable, OidcVerifier
from starter.web.people import Caller, People, UnknownPerson
from starter.web.store import TOKEN_PREFIX, CredentialStore, StoreUnavailable, TokenRefused

CHALLENGE = 'Bearer realm="warroom"'
"""The ``WWW-Authenticate`` header of every 401."""


class NotAuthenticated(Exception):
    """No credentials, or credentials this service does not take (401); the message says why."""


class NotAllowed(Exception):
    """Good credentials that may not act here: nobody Warroom knows (403)."""


class AuthUnavailable(Exception):
    """Credentials cannot be checked now, or no way to check them is configured (503)."""


NOT_CONFIGURED = (
    "no way to authenticate people is configured: set DATABASE_URL (personal API tokens, "
    "`warroom token create`) or WARROOM_OIDC_ISSUER, WARROOM_OIDC_AUDIENCE and "
    "WARROOM_OIDC_JWKS_URL"
)


class Authenticator:
    """Turns an ``Authorization`` header into the person it belongs to."""

    def __init__(
        self, people: People, tokens: CredentialStore | None, oidc: OidcVerifier | None
    ) -> None:
        self.people = people
        self.tokens = tokens
        self.oidc = oidc

    @property
    def configured(self) -> bool:
        """Whether any kind of people's credentials is taken."""
        return self.tokens is not None or self.oidc is not None

    async def caller(self, authorization: str | None) -> Caller:
        """The person ``authorization`` (the header's value) belongs to.

        Raises NotAuthenticated, NotAllowed or AuthUnavailable.
        """
        if not self.configured:
            raise AuthUnavailable(NOT_CONFIGURED)
        scheme, _, credential = (authorization or "").strip().partition(" ")
        credential = credential.strip()
        if not scheme:
            raise NotAuthenticated("credentials required: Authorization: Bearer <token>")
        if scheme.lower() != "bearer" or not credential:
            raise NotAuthenticated("expected Authorization: Bearer <token>")
        if credential.startswith(TOKEN_PREFIX):
            return await self._by_token(credential)
        if credential.count(".") == 2:
            return await self._by_oidc(credential)
        raise NotAuthenticated("bearer token not recognised")

    async def _by_token(self, token: str) -> Caller:
        if self.tokens is None:
            raise NotAuthenticated("personal API tokens are not taken here (no DATABASE_URL)")
        try:
            record = await self.tokens.token_owner(token)
        except TokenRefused as err:
            raise NotAuthenticated(str(err)) from err
        except StoreUnavailable as err:
            raise AuthUnavailable(f"cannot check the token: {err}") from err
        try:
            return self.people.caller(record.person, "token")
        except UnknownPerson as err:
            raise NotAllowed(f"token {record.id}: {err}") from err

    async def _by_oidc(self, token: str) -> Caller:
        if self.oidc is None:
            raise NotAuthenticated("OIDC bearer tokens are not taken here (no WARROOM_OIDC_*)")
        try:
            claims = await self.oidc.claims(token)
        except OidcRefused as err:
            raise NotAuthenticated(str(err)) from err
        except OidcUnavailable as err:
            raise AuthUnavailable(str(err)) from err
        claim = self.oidc.claim
        value = claims.get(claim)
        if not isinstance(value, str) or not value.strip():
            raise NotAllowed(f"the token has no {claim} claim to name a person by")
        if claim == "email" and claims.get("email_verified") is False:
            raise NotAllowed(f"the provider has not verified the email {value[:200]!r}")
        try:
            return self.people.by_claim(value, claim)
        except UnknownPerson as err:
            raise NotAllowed(str(err)) from err
