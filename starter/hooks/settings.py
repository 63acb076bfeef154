"""The hook service's settings, from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from starter.connection import DEFAULT_TASK_QUEUE, SettingsError, TemporalSettings

DEFAULT_ADDR = "127.0.0.1:8080"
DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_RPC_TIMEOUT = 10.0
"""Seconds one Temporal call of the hooks may take (WARROOM_HOOKS_RPC_TIMEOUT)."""
MAX_RPC_TIMEOUT = 300.0
_YES = {"1", "true", "yes"}
_NO = {"", "0", "false", "no"}


class HookSettings(BaseModel):
    """Where the hooks listen, who may call them, and where incidents go."""

    model_config = ConfigDict(frozen=True)

    host: str = "127.0.0.1"
    port: int = 8080
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    task_queue: str = DEFAULT_TASK_QUEUE
    tokens: tuple[str, ...] = Field(default=(), repr=False)
    basic: tuple[tuple[str, str], ...] = Field(default=(), repr=False)
    hmac_secret: str | None = Field(default=None, repr=False)
    hmac_tolerance_seconds: int = 300
    max_body: int = DEFAULT_MAX_BODY
    pagerduty_routing_keys: tuple[str, ...] = Field(default=(), repr=False)
    allow_open: bool = False
    """Serve with no credentials, accepting anyone (``WARROOM_HOOKS_OPEN=1``): never by default."""
    rpc_timeout_seconds: float = Field(default=DEFAULT_RPC_TIMEOUT, gt=0)
    """How long one Temporal call may take before the sender is told to deliver again (503)."""

    @property
    def open(self) -> bool:
        """True when no credentials are configured: anyone on the network may post."""
        return not (self.tokens or self.basic or self.hmac_secret)

    @property
    def rpc_timeout(self) -> timedelta:
        """``rpc_timeout_seconds`` as the SDK takes it."""
        return timedelta(seconds=self.rpc_timeout_seconds)

    def require_credentials(self) -> None:
        """SettingsError unless credentials are configured or running open was asked for."""
        if self.open and not self.allow_open:
            raise SettingsError(
                "no credentials configured for the hooks: set WARROOM_HOOKS_TOKENS, "
                "WARROOM_HOOKS_BASIC or WARROOM_HOOKS_HMAC_SECRET, or WARROOM_HOOKS_OPEN=1 "
                "to accept alerts from anyone who can reach them"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> HookSettings:
        """Read ``WARROOM_HOOKS_*`` (and the Temporal variables); SettingsError on bad values."""
        addr = env.get("WARROOM_HOOKS_ADDR") or DEFAULT_ADDR
        host, sep, port = addr.rpartition(":")
        if not sep or not host or not (port.isascii() and port.isdigit()):
            raise SettingsError(f"WARROOM_HOOKS_ADDR: expected host:port, got {addr!r}")
        basic = []
        for pair in _split(env.get("WARROOM_HOOKS_BASIC")):
            user, sep, password = pair.partition(":")
            if not sep or not user or not password:
                raise SettingsError("WARROOM_HOOKS_BASIC: expected user:password[,user:password]")
            basic.append((user, password))
        max_body = env.get("WARROOM_HOOKS_MAX_BODY") or str(DEFAULT_MAX_BODY)
        if not (max_body.isascii() and max_body.isdigit()) or int(max_body) < 1024:
            raise SettingsError(f"WARROOM_HOOKS_MAX_BODY: expected bytes >= 1024, got {max_body!r}")
        open_flag = (env.get("WARROOM_HOOKS_OPEN") or "").strip().lower()
        if open_flag not in _YES | _NO:
            raise SettingsError(f"WARROOM_HOOKS_OPEN: expected 1 or 0, got {open_flag!r}")
        rpc_timeout = env.get("WARROOM_HOOKS_RPC_TIMEOUT") or str(DEFAULT_RPC_TIMEOUT)
        try:
            rpc_timeout_seconds = float(rpc_timeout)
        except ValueError:
            rpc_timeout_seconds = -1.0
        if not 0 < rpc_timeout_seconds <= MAX_RPC_TIMEOUT:
            raise SettingsError(
                f"WARROOM_HOOKS_RPC_TIMEOUT: expected seconds in (0, {MAX_RPC_TIMEOUT:g}], "
                f"got {rpc_timeout!r}"
            )
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
            allow_open=open_flag in _YES,
            rpc_timeout_seconds=rpc_timeout_seconds,
        )


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]
