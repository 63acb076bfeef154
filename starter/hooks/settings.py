"""The hook service's settings, from the environment."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from settings import DEFAULT_TASK_QUEUE, EnvSettings, SettingsError, TemporalSettings
from settings.errors import invalid
from settings.fields import comma_list, flag, host_port, seconds, split_host_port, whole_number

DEFAULT_ADDR = "127.0.0.1:8080"
DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_RPC_TIMEOUT = 10.0
"""Seconds one Temporal call of the hooks may take (WARROOM_HOOKS_RPC_TIMEOUT)."""
MAX_RPC_TIMEOUT = 300.0


def _basic_pairs(value: Any) -> Any:
    """``user:password[,user:password]`` as pairs; the refusal never quotes a password."""
    if not isinstance(value, str):
        return value
    pairs = []
    for pair in filter(None, (part.strip() for part in value.split(","))):
        user, sep, password = pair.partition(":")
        if not sep or not user or not password:
            raise invalid("expected user:password[,user:password]")
        pairs.append((user, password))
    return tuple(pairs)


class HookSettings(EnvSettings):
    """Where the hooks listen, who may call them, and where incidents go.

    ``from_env`` reads ``WARROOM_HOOKS_*``, ``WARROOM_PAGERDUTY_ROUTING_KEYS``,
    ``WARROOM_TASK_QUEUE`` and the Temporal variables.
    """

    address: Annotated[str, host_port(DEFAULT_ADDR)] = Field(
        DEFAULT_ADDR, validation_alias="WARROOM_HOOKS_ADDR"
    )
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    task_queue: str = Field(DEFAULT_TASK_QUEUE, validation_alias="WARROOM_TASK_QUEUE")
    tokens: Annotated[tuple[str, ...], comma_list()] = Field(
        (), repr=False, validation_alias="WARROOM_HOOKS_TOKENS"
    )
    basic: Annotated[tuple[tuple[str, str], ...], BeforeValidator(_basic_pairs)] = Field(
        (), repr=False, validation_alias="WARROOM_HOOKS_BASIC"
    )
    hmac_secret: str | None = Field(None, repr=False, validation_alias="WARROOM_HOOKS_HMAC_SECRET")
    hmac_tolerance_seconds: int = 300
    max_body: Annotated[int, whole_number(1024)] = Field(
        DEFAULT_MAX_BODY, validation_alias="WARROOM_HOOKS_MAX_BODY"
    )
    pagerduty_routing_keys: Annotated[tuple[str, ...], comma_list()] = Field(
        (), repr=False, validation_alias="WARROOM_PAGERDUTY_ROUTING_KEYS"
    )
    allow_open: Annotated[bool, flag()] = Field(False, validation_alias="WARROOM_HOOKS_OPEN")
    """Serve with no credentials, accepting anyone (``WARROOM_HOOKS_OPEN=1``): never by default."""
    rpc_timeout_seconds: Annotated[float, seconds(MAX_RPC_TIMEOUT)] = Field(
        DEFAULT_RPC_TIMEOUT, validation_alias="WARROOM_HOOKS_RPC_TIMEOUT"
    )
    """How long one Temporal call may take before the sender is told to deliver again (503)."""
    processes: Annotated[int, whole_number(1)] = Field(
        1, validation_alias="WARROOM_HOOKS_PROCESSES"
    )
    """Server processes (the hooks hold no state: more processes, more requests per second)."""

    @property
    def host(self) -> str:
        """The host part of ``address``."""
        return split_host_port(self.address, example=DEFAULT_ADDR)[0]

    @property
    def port(self) -> int:
        """The port part of ``address``."""
        return split_host_port(self.address, example=DEFAULT_ADDR)[1]

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
