"""The worker's settings, read once from the environment at start."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Self

import yaml
from pydantic import Field, TypeAdapter, ValidationError

from activities.channels import Channel
from activities.redact import safe_url
from settings import (
    DEFAULT_TASK_QUEUE,
    ContactSettings,
    EnvSettings,
    LinkSettings,
    SettingsError,
    StatuspageSettings,
    TemporalSettings,
    TicketSettings,
)
from settings.fields import existing_file, host_port, http_url, whole_number

__all__ = ["DEFAULT_UI_URL", "SettingsError", "WorkerSettings"]

DEFAULT_UI_URL = "http://localhost:8233"
"""The local dev server's Web UI, linked from notices."""
DEFAULT_CACHED_INCIDENTS = 1000
"""Incidents a worker keeps in memory (the SDK's default workflow cache size)."""

_CHANNELS = TypeAdapter(list[Channel])

# Shown without credentials in a refusal: a URL may carry them.
Url = Annotated[str | None, http_url(shown=safe_url)]


class WorkerSettings(EnvSettings):
    """Everything ``python -m worker`` needs to know, each from its variable."""

    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    contact: ContactSettings = Field(default_factory=ContactSettings)
    """How pages reach people (SMTP, Slack, Twilio, PagerDuty, console)."""
    links: LinkSettings = Field(default_factory=LinkSettings)
    statuspage: StatuspageSettings = Field(default_factory=StatuspageSettings)
    """An Atlassian Statuspage customer updates are published to (off unless configured)."""
    """Acknowledge links in pages (made when a link secret and the public URL are set)."""
    tickets: TicketSettings = Field(default_factory=TicketSettings)
    """The ticket tracker's webhook for action items (none: no tracker is told)."""
    task_queue: str = Field(DEFAULT_TASK_QUEUE, validation_alias="WARROOM_TASK_QUEUE")
    policy_path: Annotated[Path | None, existing_file()] = Field(
        None, validation_alias="WARROOM_POLICY"
    )
    """The policy YAML; None means the shipped runbook defaults."""
    directory_path: Annotated[Path | None, existing_file()] = Field(
        None, validation_alias="WARROOM_DIRECTORY"
    )
    """The directory YAML: people, schedules, escalation policies; None pages no one by name."""
    channels: list[Channel] = Field(default_factory=list)
    """From ``WARROOM_CHANNELS`` or ``WARROOM_CHANNELS_FILE`` (see ``channels_from_env``)."""
    prometheus_url: Url = Field(None, validation_alias="WARROOM_PROMETHEUS_URL")
    """Prometheus for the SLO probes; None judges recovery on alerts alone."""
    ui_url: Url = Field(DEFAULT_UI_URL, validation_alias="WARROOM_UI_URL")
    metrics_addr: Annotated[str | None, host_port("127.0.0.1:9464")] = Field(
        None, validation_alias="WARROOM_METRICS_ADDR"
    )
    """``host:port`` to serve the SDK's Prometheus metrics on; None is off."""
    cached_incidents: Annotated[int, whole_number(1)] = Field(
        DEFAULT_CACHED_INCIDENTS, validation_alias="WARROOM_CACHED_INCIDENTS"
    )
    """Open incidents kept in memory; one evicted is replayed from history when it next wakes."""
    control_plane_url: Url = Field(None, validation_alias="WARROOM_CONTROL_PLANE_URL")
    """The control plane containment actions call."""
    control_plane_token: str | None = Field(
        None, repr=False, validation_alias="WARROOM_CONTROL_PLANE_TOKEN"
    )
    database_url: str | None = Field(None, repr=False, validation_alias="DATABASE_URL")
    """Postgres for the incident record; the worker needs one."""

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """The settings as logs show them: URLs without their credentials."""
        for name, value in super().__repr_args__():
            if name in ("prometheus_url", "control_plane_url") and isinstance(value, str):
                yield name, safe_url(value)
            else:
                yield name, value

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, **given: Any) -> Self:
        """Read the ``TEMPORAL_*`` and ``WARROOM_*`` variables; unset or empty means default.

        ``WARROOM_TASK_QUEUE``, ``WARROOM_POLICY`` (a file), ``WARROOM_DIRECTORY`` (a
        file), ``WARROOM_CHANNELS``
        (a JSON list of channel objects) or ``WARROOM_CHANNELS_FILE`` (a JSON or
        YAML file holding that list), ``WARROOM_PROMETHEUS_URL``,
        ``WARROOM_UI_URL``, ``WARROOM_METRICS_ADDR``, ``WARROOM_CACHED_INCIDENTS``,
        ``WARROOM_CONTROL_PLANE_URL``, ``WARROOM_CONTROL_PLANE_TOKEN`` and
        ``DATABASE_URL``.

        Raises SettingsError whose message starts with the variable's name and
        says what is wrong, e.g. ``WARROOM_CHANNELS: item 0: url: Input should
        be a valid URL``.
        """
        given.setdefault("channels", channels_from_env(env))
        return super().from_env(env, **given)


def channels_from_env(env: Mapping[str, str]) -> list[Channel]:
    """The channels of ``WARROOM_CHANNELS`` (JSON) or ``WARROOM_CHANNELS_FILE`` (JSON or YAML).

    A channel list is a document, not a value: its refusals name the item and
    the field (``WARROOM_CHANNELS: item 1: url: ...``), and a file's its path.
    """
    inline = env.get("WARROOM_CHANNELS", "").strip()
    file = env.get("WARROOM_CHANNELS_FILE", "").strip()
    if inline and file:
        raise SettingsError("WARROOM_CHANNELS: WARROOM_CHANNELS_FILE is set too; use one of them")
    data: Any
    if inline:
        name = "WARROOM_CHANNELS"
        try:
            data = json.loads(inline)
        except json.JSONDecodeError as err:
            raise SettingsError(f"{name}: not valid JSON: {err}") from err
    elif file:
        path = Path(file).expanduser()
        name = f"WARROOM_CHANNELS_FILE: {path}"
        try:
            text = path.read_text()
        except OSError as err:
            raise SettingsError(f"{name}: cannot read: {err.strerror}") from err
        try:
            data = yaml.safe_load(text)  # YAML is a superset of JSON: one parser for both
        except yaml.YAMLError as err:
            raise SettingsError(f"{name}: not valid JSON or YAML: {err}") from err
    else:
        return []
    if not isinstance(data, list):
        raise SettingsError(
            f"{name}: expected a list of channel objects, got {type(data).__name__}"
        )
    try:
        channels = _CHANNELS.validate_python(data)
    except ValidationError as err:
        raise SettingsError(f"{name}: {_problems(err)}") from err
    seen: set[str] = set()
    for index, channel in enumerate(channels):
        # Delivery remembers which channels took a notice by name; a repeated
        # name would make the second channel look as if it already had it.
        if channel.name in seen:
            raise SettingsError(f"{name}: item {index}: name {channel.name!r} is used twice")
        seen.add(channel.name)
    return channels


def _problems(err: ValidationError) -> str:
    """``item 0: url: Input should be a valid URL; item 1: kind: ...``."""
    problems = []
    for error in err.errors():
        index, *field = error["loc"]
        where = ": ".join([f"item {index}", *(str(part) for part in field)])
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)
