"""The worker's settings, read once from the environment at start."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, TypeAdapter, ValidationError

from activities.channels import Channel
from activities.redact import safe_url
from starter.connection import DEFAULT_TASK_QUEUE, SettingsError, TemporalSettings

__all__ = ["DEFAULT_UI_URL", "SettingsError", "WorkerSettings"]

DEFAULT_UI_URL = "http://localhost:8233"
"""The local dev server's Web UI, linked from notices."""
DEFAULT_CACHED_INCIDENTS = 1000
"""Incidents a worker keeps in memory (the SDK's default workflow cache size)."""

_CHANNELS = TypeAdapter(list[Channel])
_HTTP_URL = TypeAdapter(HttpUrl)


class WorkerSettings(BaseModel):
    """Everything ``python -m worker`` needs to know."""

    model_config = ConfigDict(frozen=True)

    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    task_queue: str = DEFAULT_TASK_QUEUE
    policy_path: Path | None = None
    """The policy YAML; None means the shipped runbook defaults."""
    channels: list[Channel] = Field(default_factory=list)
    prometheus_url: str | None = None
    """Prometheus for the SLO probes; None judges recovery on alerts alone."""
    ui_url: str | None = DEFAULT_UI_URL
    metrics_addr: str | None = None
    """``host:port`` to serve the SDK's Prometheus metrics on; None is off."""
    cached_incidents: int = DEFAULT_CACHED_INCIDENTS
    """Open incidents kept in memory; one evicted is replayed from history when it next wakes."""
    control_plane_url: str | None = None
    """The control plane containment actions call (``WARROOM_CONTROL_PLANE_URL``)."""
    control_plane_token: str | None = Field(default=None, repr=False)
    database_url: str | None = Field(default=None, repr=False)
    """Postgres for the incident record (``DATABASE_URL``); the worker needs one."""

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """The settings as logs show them: URLs without their credentials."""
        for name, value in super().__repr_args__():
            if name in ("prometheus_url", "control_plane_url") and isinstance(value, str):
                yield name, safe_url(value)
            else:
                yield name, value

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> WorkerSettings:
        """Read the ``TEMPORAL_*`` and ``WARROOM_*`` variables; unset or empty means default.

        ``WARROOM_TASK_QUEUE``, ``WARROOM_POLICY`` (a file), ``WARROOM_CHANNELS``
        (a JSON list of channel objects) or ``WARROOM_CHANNELS_FILE`` (a JSON or
        YAML file holding that list), ``WARROOM_PROMETHEUS_URL``,
        ``WARROOM_UI_URL``, ``WARROOM_METRICS_ADDR`` and
        ``WARROOM_CACHED_INCIDENTS``.

        Raises SettingsError whose message starts with the variable's name and
        says what is wrong, e.g. ``WARROOM_CHANNELS: item 0: url: Input should
        be a valid URL``.
        """
        return cls(
            temporal=TemporalSettings.from_env(env),
            task_queue=_get(env, "WARROOM_TASK_QUEUE") or DEFAULT_TASK_QUEUE,
            policy_path=_policy(env),
            channels=_channels(env),
            prometheus_url=_url(env, "WARROOM_PROMETHEUS_URL"),
            ui_url=_url(env, "WARROOM_UI_URL") or DEFAULT_UI_URL,
            metrics_addr=_address(env, "WARROOM_METRICS_ADDR"),
            cached_incidents=_count(env, "WARROOM_CACHED_INCIDENTS", DEFAULT_CACHED_INCIDENTS),
            control_plane_url=_url(env, "WARROOM_CONTROL_PLANE_URL"),
            control_plane_token=_get(env, "WARROOM_CONTROL_PLANE_TOKEN") or None,
            database_url=_get(env, "DATABASE_URL") or None,
        )


def _get(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


def _policy(env: Mapping[str, str]) -> Path | None:
    value = _get(env, "WARROOM_POLICY")
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise SettingsError(f"WARROOM_POLICY: no such file: {path}")
    return path


def _url(env: Mapping[str, str], name: str) -> str | None:
    value = _get(env, name)
    if not value:
        return None
    try:
        _HTTP_URL.validate_python(value)
    except ValidationError as err:
        # The value may hold credentials (userinfo, a token): show it without them.
        raise SettingsError(f"{name}: {err.errors()[0]['msg']}, got {safe_url(value)!r}") from None
    # Kept as the operator wrote it, minus a trailing slash: paths are appended to it.
    return value.rstrip("/")


def _address(env: Mapping[str, str], name: str) -> str | None:
    value = _get(env, name)
    if not value:
        return None
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(f"{name}: expected host:port such as 127.0.0.1:9464, got {value!r}")
    return value


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    value = _get(env, name)
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise SettingsError(f"{name}: expected a whole number of at least 1, got {value!r}")
    return int(value)


def _channels(env: Mapping[str, str]) -> list[Channel]:
    inline = _get(env, "WARROOM_CHANNELS")
    file = _get(env, "WARROOM_CHANNELS_FILE")
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
