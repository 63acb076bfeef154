"""The people's side of the HTTP service: how it authenticates people, from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import BeforeValidator, Field, SecretStr, model_validator

from activities.redact import safe_url
from settings import EnvSettings
from settings.errors import invalid
from settings.fields import existing_file, http_url

MIN_SECRET_CHARS = 32
"""An HMAC key shorter than its hash (32 bytes for SHA-256) is refused: it can be guessed."""

Url = Annotated[str | None, http_url(shown=safe_url)]


def _long_secret(value: Any) -> Any:
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    if isinstance(text, str) and len(text) < MIN_SECRET_CHARS:
        # Never quote a secret, not even a short one.
        raise invalid(f"expected at least {MIN_SECRET_CHARS} characters, got {len(text)}")
    return value


Secret = Annotated[SecretStr | None, BeforeValidator(_long_secret)]


class WebSettings(EnvSettings):
    """Where people's credentials are checked, and the secrets of links and Slack.

    ``from_env`` reads ``DATABASE_URL`` (per-person API tokens, used acknowledge
    links), ``WARROOM_DIRECTORY`` (the people), ``WARROOM_OIDC_ISSUER``,
    ``WARROOM_OIDC_AUDIENCE``, ``WARROOM_OIDC_JWKS_URL``, ``WARROOM_OIDC_CLAIM``,
    ``WARROOM_LINK_SECRET``, ``WARROOM_PUBLIC_URL`` and
    ``WARROOM_SLACK_SIGNING_SECRET``. Every part is optional; a part that is not
    configured refuses everyone (fails closed), it never lets anyone through.
    """

    database_url: str | None = Field(None, repr=False, validation_alias="DATABASE_URL")
    """Postgres with the ``api_tokens`` and ``used_ack_links`` tables (``warroom db upgrade``)."""
    directory_path: Annotated[Path | None, existing_file()] = Field(
        None, validation_alias="WARROOM_DIRECTORY"
    )
    """The directory YAML: who the people are and how to recognise them."""
    oidc_issuer: str | None = Field(None, validation_alias="WARROOM_OIDC_ISSUER")
    """The ``iss`` an OIDC bearer token must carry."""
    oidc_audience: str | None = Field(None, validation_alias="WARROOM_OIDC_AUDIENCE")
    """The ``aud`` an OIDC bearer token must carry (Warroom's client ID at the provider)."""
    oidc_jwks_url: Url = Field(None, validation_alias="WARROOM_OIDC_JWKS_URL")
    """Where the provider publishes its signing keys (JWKS)."""
    oidc_claim: str = Field("email", min_length=1, validation_alias="WARROOM_OIDC_CLAIM")
    """The claim naming the person: matched against each person's email contact methods,
    then against their handles."""
    link_secret: Secret = Field(None, validation_alias="WARROOM_LINK_SECRET")
    """The HMAC key of acknowledge links; without it no link is made or taken."""
    public_url: Url = Field(None, validation_alias="WARROOM_PUBLIC_URL")
    """Where people reach this service (the base of acknowledge links)."""
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias="WARROOM_SLACK_SIGNING_SECRET"
    )
    """The Slack app's signing secret; without it no Slack interaction is taken."""

    @model_validator(mode="after")
    def _oidc_whole(self) -> Self:
        parts = {
            "WARROOM_OIDC_ISSUER": self.oidc_issuer,
            "WARROOM_OIDC_AUDIENCE": self.oidc_audience,
            "WARROOM_OIDC_JWKS_URL": self.oidc_jwks_url,
        }
        missing = [name for name, value in parts.items() if not value]
        if missing and len(missing) < len(parts):
            raise invalid(
                f"OIDC needs all of {', '.join(parts)}; {', '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} not set"
            )
        return self

    @property
    def oidc(self) -> bool:
        """Whether OIDC bearer tokens are taken."""
        return bool(self.oidc_issuer and self.oidc_audience and self.oidc_jwks_url)
