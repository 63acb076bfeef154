"""What `warroom` reads from the environment; its flags and config file may say otherwise."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from settings import DEFAULT_TASK_QUEUE, EnvSettings, TemporalSettings


class CliSettings(EnvSettings):
    """The operator CLI's settings: where Temporal is, who acts, where the record is.

    ``from_env`` reads the Temporal variables, ``WARROOM_TASK_QUEUE``,
    ``WARROOM_ACTOR``, ``DATABASE_URL``, ``WARROOM_HOME`` (where `warroom up`
    keeps its data, ``.warroom``), ``WARROOM_POLICY`` (for severity names) and
    ``WARROOM_DIRECTORY`` (for who is on call).
    """

    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    task_queue: str = Field(DEFAULT_TASK_QUEUE, validation_alias="WARROOM_TASK_QUEUE")
    actor: str | None = Field(None, validation_alias="WARROOM_ACTOR")
    database_url: str | None = Field(None, repr=False, validation_alias="DATABASE_URL")
    home: Path = Field(Path(".warroom"), validation_alias="WARROOM_HOME")
    policy_path: Path | None = Field(None, validation_alias="WARROOM_POLICY")
    """Read only by the commands that name a severity: the others work without it."""
    directory_path: Path | None = Field(None, validation_alias="WARROOM_DIRECTORY")
    """The directory file: read only by `warroom oncall`, `override` and `directory`."""
