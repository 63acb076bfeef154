"""The worker's settings, from the environment."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from activities.channels import Channel
from starter.connection import DEFAULT_TASK_QUEUE, TemporalSettings

_CHANNELS = TypeAdapter(list[Channel])


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable and the problem."""


class WorkerSettings(BaseModel):
    """Everything ``python -m worker`` needs to know."""

    model_config = ConfigDict(frozen=True)

    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    task_queue: str = DEFAULT_TASK_QUEUE
    policy_path: Path | None = None
    channels: list[Channel] = Field(default_factory=list)
    prometheus_url: str | None = None
    ui_url: str | None = "http://localhost:8233"
    metrics_addr: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> WorkerSettings:
        """Read the ``WARROOM_*`` and ``TEMPORAL_*`` variables; SettingsError on bad values."""
        policy = env.get("WARROOM_POLICY")
        return cls(
            temporal=TemporalSettings.from_env(env),
            task_queue=env.get("WARROOM_TASK_QUEUE") or DEFAULT_TASK_QUEUE,
            policy_path=Path(policy) if policy else None,
            channels=_channels(env),
            prometheus_url=(env.get("WARROOM_PROMETHEUS_URL") or "").rstrip("/") or None,
            ui_url=(env.get("WARROOM_UI_URL") or "http://localhost:8233").rstrip("/"),
            metrics_addr=_address(env, "WARROOM_METRICS_ADDR"),
        )


def _address(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if not value:
        return None
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise SettingsError(f"{name}: expected host:port such as 127.0.0.1:9464, got {value!r}")
    return value


def _channels(env: Mapping[str, str]) -> list[Channel]:
    inline = env.get("WARROOM_CHANNELS")
    file = env.get("WARROOM_CHANNELS_FILE")
    if inline and file:
        raise SettingsError("WARROOM_CHANNELS and WARROOM_CHANNELS_FILE are both set; use one")
    if inline:
        name = "WARROOM_CHANNELS"
        try:
            data: Any = json.loads(inline)
        except json.JSONDecodeError as err:
            raise SettingsError(f"{name}: not valid JSON: {err}") from err
    elif file:
        name = "WARROOM_CHANNELS_FILE"
        try:
            data = yaml.safe_load(Path(file).read_text())  # YAML is a superset of JSON
        except OSError as err:
            raise SettingsError(f"{name}: cannot read {file}: {err.strerror}") from err
        except yaml.YAMLError as err:
            raise SettingsError(f"{name}: {file} is not valid JSON or YAML: {err}") from err
    else:
        return []
    try:
        return _CHANNELS.validate_python(data)
    except ValidationError as err:
        problems = "; ".join(
            f"{'item ' if isinstance(e['loc'][0], int) else ''}"
            f"{': '.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in err.errors()
        )
        raise SettingsError(f"{name}: {problems}") from err
