"""Acknowledge links: the secret they are signed with, where they point, how long they last.

The worker signs a link into each page; the HTTP service checks it when the
person follows it. Both read these same variables.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, SecretStr

from settings.environment import EnvSettings
from settings.errors import invalid
from settings.fields import http_url, seconds

MIN_SECRET_CHARS = 32
"""An HMAC key shorter than its hash (32 bytes for SHA-256) is refused: it can be guessed."""


def _long_secret(value: Any) -> Any:
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    if isinstance(text, str) and len(text) < MIN_SECRET_CHARS:
        # Never quote a secret, not even a short one.
        raise invalid(f"expected at least {MIN_SECRET_CHARS} characters, got {len(text)}")
    return value


Secret = Annotated[SecretStr | None, BeforeValidator(_long_secret)]


class LinkSettings(EnvSettings):
    """``WARROOM_LINK_SECRET``, ``WARROOM_PUBLIC_URL`` and ``WARROOM_LINK_TTL``."""

    link_secret: Secret = Field(None, validation_alias="WARROOM_LINK_SECRET")
    """The HMAC key of acknowledge links; without it no link is made or taken."""
    public_url: Annotated[str | None, http_url(shown=lambda url: url.split("?")[0])] = Field(
        None, validation_alias="WARROOM_PUBLIC_URL"
    )
    """Where people reach Warroom's HTTP service (the base of acknowledge links)."""
    link_ttl_seconds: Annotated[float, seconds(7 * 86400)] = Field(
        86400.0, validation_alias="WARROOM_LINK_TTL"
    )
    """How long a page's acknowledge link works (``24h`` by default, at most a week)."""

    @property
    def link_ttl(self) -> timedelta:
        """How long a page's acknowledge link works."""
        return timedelta(seconds=self.link_ttl_seconds)

    @property
    def makes_links(self) -> bool:
        """Whether pages carry acknowledge links (a secret and a public URL are set)."""
        return self.link_secret is not None and self.public_url is not None
