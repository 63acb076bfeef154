"""The hook service's settings, from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from starter.connection import DEFAULT_TASK_QUEUE, SettingsError, TemporalSettings

DEFAULT_ADDR = "127.0.0.1:8080"
DEFAULT_MAX_BODY = 1024 * 1024


class HookSettings(BaseModel):
    """Where the hooks listen, who may call them, and where incidents go."""

    model_config = ConfigDict(frozen=True)

    host: str = "127.0.0.1"
    port: int = 8080
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    task_queue: str = DEFAULT_TASK_QUEUE
    tokens: tuple[str, ...] = ()
    basic: tuple[tuple[str, str], ...] = ()
    hmac_secret: str | None = Field(default=None, repr=False)
    hmac_tolerance_seconds: int = 300
    max_body: int = DEFAULT_MAX_BODY
    pagerduty_routing_keys: tuple[str, ...] = ()

    @property
    def open(self) -> bool:
        """True when no credentials are configured: anyone on the network may post."""
        return not (self.tokens or self.basic or self.hmac_secret)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> HookSettings:
        """Read ``WARROOM_HOOKS_*`` (and the Temporal variables); SettingsError on bad values."""
        addr = env.get("WARROOM_HOOKS_ADDR") or DEFAULT_ADDR
        host, sep, port = addr.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise SettingsError(f"WARROOM_HOOKS_ADDR: expected host:port, got {addr!r}")
        basic = []
        for pair in _split(env.get("WARROOM_HOOKS_BASIC")):
            user, sep, password = pair.partition(":")
            if not sep or not user or not password:
                raise SettingsError("WARROOM_HOOKS_BASIC: expected user:password[,user:password]")
            basic.append((user, password))
        max_body = env.get("WARROOM_HOOKS_MAX_BODY") or str(DEFAULT_MAX_BODY)
        if not max_body.isdigit() or int(max_body) < 1024:
            raise SettingsError(f"WARROOM_HOOKS_MAX_BODY: expected bytes >= 1024, got {max_body!r}")
        return cls(
            host=host,
            port=int(port),
            temporal=TemporalSettings.from_env(env),
            task_queue=env.get("WARROOM_TASK_QUEUE") or DEFAULT_TASK_QUEUE,
            tokens=tuple(_split(env.get("WARROOM_HOOKS_TOKENS"))),
            basic=tuple(basic),
            hmac_secret=env.get("WARROOM_HOOKS_HMAC_SECRET") or None,
            max_body=int(max_body),
            pagerduty_routing_keys=tuple(_split(env.get("WARROOM_PAGERDUTY_ROUTING_KEYS"))),
        )


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]
