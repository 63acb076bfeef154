"""The ticket tracker's webhook: where action-item changes are posted, and the token sent."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr

from settings.environment import EnvSettings
from settings.fields import http_url


def _shown(url: str) -> str:
    # A webhook URL often carries its secret in the path or query: show the host only.
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/')[0].rsplit('@')[-1]}/…"


class TicketSettings(EnvSettings):
    """``WARROOM_TICKET_WEBHOOK_URL`` and ``WARROOM_TICKET_WEBHOOK_TOKEN``."""

    webhook_url: Annotated[str | None, http_url(shown=_shown)] = Field(
        None, validation_alias="WARROOM_TICKET_WEBHOOK_URL"
    )
    """Where each action item's creation, completion, reassignment and reopening is posted
    as JSON; None: no tracker is told."""
    webhook_token: SecretStr | None = Field(None, validation_alias="WARROOM_TICKET_WEBHOOK_TOKEN")
    """Sent as ``Authorization: Bearer …`` when set."""
