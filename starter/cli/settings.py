"""What `warroom` reads from the environment; its flags and config file may say otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, SecretStr, model_validator

from activities.redact import safe_url
from settings import DEFAULT_TASK_QUEUE, EnvSettings, TemporalSettings
from settings.errors import invalid
from settings.fields import http_url


class CliSettings(EnvSettings):
    """The operator CLI's settings: where Temporal is, who acts, where the record is.

    ``from_env`` reads the Temporal variables, ``WARROOM_TASK_QUEUE``,
    ``WARROOM_ACTOR``, ``DATABASE_URL``, ``WARROOM_HOME`` (where `warroom up`
    keeps its data, ``.warroom``), ``WARROOM_POLICY`` (for severity names) and
    ``WARROOM_DIRECTORY`` (for who is on call; else the file `warroom up`
    pages, see ``Context.directory_path``), ``WARROOM_API_URL`` and
    ``WARROOM_API_TOKEN`` (decisions through the HTTP service, as a verified person).
    """

    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    task_queue: str = Field(DEFAULT_TASK_QUEUE, validation_alias="WARROOM_TASK_QUEUE")
    actor: str | None = Field(None, validation_alias="WARROOM_ACTOR")
    database_url: str | None = Field(None, repr=False, validation_alias="DATABASE_URL")
    home: Path = Field(Path(".warroom"), validation_alias="WARROOM_HOME")
    policy_path: Path | None = Field(None, validation_alias="WARROOM_POLICY")
    """Read only by the commands that name a severity: the others work without it."""
    directory_path: Path | None = Field(None, validation_alias="WARROOM_DIRECTORY")
    """The directory file: read only by `warroom oncall`, `override`, `directory` and `token`."""
    api_url: Annotated[str | None, http_url(shown=safe_url)] = Field(
        None, validation_alias="WARROOM_API_URL"
    )
    """Warroom's HTTP service: when set, decisions go through it as the person
    ``WARROOM_API_TOKEN`` belongs to, instead of straight to Temporal."""
    api_token: SecretStr | None = Field(None, validation_alias="WARROOM_API_TOKEN")
    """A personal API token (`warroom token create`) or an OIDC bearer token."""

    @model_validator(mode="after")
    def _token_with_url(self) -> Self:
        if self.api_url and self.api_token is None:
            raise invalid(
                "WARROOM_API_URL is set but WARROOM_API_TOKEN is not: decisions through the "
                "API are taken as the token's person (`warroom token create PERSON`)"
            )
        return self
