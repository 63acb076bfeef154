"""The people's side of the HTTP service: how it authenticates people, from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, SecretStr, model_validator

from activities.redact import safe_url
from settings.errors import invalid
from settings.fields import existing_file, http_url
from settings.links import LinkSettings

Url = Annotated[str | None, http_url(shown=safe_url)]

DEFAULT_STATUS_NAME = "Service status"


class WebSettings(LinkSettings):
    """Where people's credentials are checked, and the secrets of links and Slack.

    ``from_env`` reads ``DATABASE_URL`` (per-person API tokens, used acknowledge
    links), ``WARROOM_DIRECTORY`` (the people), ``WARROOM_OIDC_ISSUER``,
    ``WARROOM_OIDC_AUDIENCE``, ``WARROOM_OIDC_JWKS_URL``, ``WARROOM_OIDC_CLAIM``,
    ``WARROOM_LINK_SECRET``, ``WARROOM_PUBLIC_URL``, ``WARROOM_SLACK_SIGNING_SECRET`` and
    ``WARROOM_STATUS_NAME`` (the public status page's heading). Every part is optional; a
    part that is not configured refuses everyone (fails closed), it never lets anyone
    through.
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
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias="WARROOM_SLACK_SIGNING_SECRET"
    )
    """The Slack app's signing secret; without it no Slack interaction is taken."""
    status_name: str = Field(
        DEFAULT_STATUS_NAME, min_length=1, max_length=100, validation_alias="WARROOM_STATUS_NAME"
    )
    """The public status page's heading and its feed's title (``Acme status``)."""

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
