"""Connecting to Temporal: local dev server, self-hosted with mTLS, or Temporal Cloud."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from temporalio.client import Client, TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

DEFAULT_TASK_QUEUE = "warroom"
"""The task queue the worker polls and every client starts incidents on, unless told otherwise."""

DEFAULT_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable and what is wrong."""


class TemporalSettings(BaseModel):
    """Where Temporal is and how to authenticate.

    ``tls`` turns on TLS with the system's root certificates; the certificate
    paths add a client certificate (mTLS) and/or a private CA. An ``api_key``
    (Temporal Cloud) always connects over TLS.
    """

    model_config = ConfigDict(frozen=True)

    address: str = DEFAULT_ADDRESS
    namespace: str = DEFAULT_NAMESPACE
    # Kept out of repr so a logged settings object never shows the key.
    api_key: str | None = Field(default=None, repr=False)
    tls: bool = False
    tls_cert_path: Path | None = None
    tls_key_path: Path | None = None
    tls_ca_path: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> TemporalSettings:
        """Read ``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``,
        ``TEMPORAL_TLS`` (1/true/yes/on), ``TEMPORAL_TLS_CERT``, ``TEMPORAL_TLS_KEY``
        and ``TEMPORAL_TLS_CA``; unset or empty variables take the defaults.

        Raises SettingsError naming the variable when a value cannot be used:
        an address without a port, an unknown TLS flag, a certificate file
        that does not exist, a client certificate without its key.
        """
        address = _get(env, "TEMPORAL_ADDRESS") or DEFAULT_ADDRESS
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise SettingsError(
                f"TEMPORAL_ADDRESS: expected host:port such as {DEFAULT_ADDRESS}, got {address!r}"
            )
        tls = _get(env, "TEMPORAL_TLS").lower()
        if tls not in _TRUE | _FALSE:
            raise SettingsError(f"TEMPORAL_TLS: expected 1/true/yes or 0/false/no, got {tls!r}")
        cert, key = _file(env, "TEMPORAL_TLS_CERT"), _file(env, "TEMPORAL_TLS_KEY")
        if (cert is None) != (key is None):
            given, missing = (
                ("TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY")
                if cert
                else ("TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CERT")
            )
            raise SettingsError(f"{given}: a client certificate needs its key; set {missing} too")
        return cls(
            address=address,
            namespace=_get(env, "TEMPORAL_NAMESPACE") or DEFAULT_NAMESPACE,
            api_key=_get(env, "TEMPORAL_API_KEY") or None,
            tls=tls in _TRUE,
            tls_cert_path=cert,
            tls_key_path=key,
            tls_ca_path=_file(env, "TEMPORAL_TLS_CA"),
        )

    def tls_config(self) -> TLSConfig | bool:
        """The ``tls`` argument for Client.connect: a TLSConfig when files are given,
        else True when TLS is on or an API key is set (Temporal Cloud needs TLS)."""
        if self.tls_cert_path or self.tls_key_path or self.tls_ca_path:
            return TLSConfig(
                client_cert=self.tls_cert_path.read_bytes() if self.tls_cert_path else None,
                client_private_key=self.tls_key_path.read_bytes() if self.tls_key_path else None,
                server_root_ca_cert=self.tls_ca_path.read_bytes() if self.tls_ca_path else None,
            )
        return self.tls or self.api_key is not None


async def connect(
    settings: TemporalSettings, *, metrics_addr: str | None = None, **kwargs: Any
) -> Client:
    """A client for ``settings`` speaking pydantic models (``pydantic_data_converter``).

    ``metrics_addr`` (``host:port``) serves the SDK's Prometheus metrics for
    this client and the workers built on it. Extra keyword arguments
    (``identity``, ``lazy``, ...) go to Client.connect.
    """
    kwargs.setdefault("data_converter", pydantic_data_converter)
    if metrics_addr:
        metrics = PrometheusConfig(bind_address=metrics_addr)
        kwargs["runtime"] = Runtime(telemetry=TelemetryConfig(metrics=metrics))
    return await Client.connect(
        settings.address,
        namespace=settings.namespace,
        api_key=settings.api_key,
        tls=settings.tls_config(),
        **kwargs,
    )


def _get(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


def _file(env: Mapping[str, str], name: str) -> Path | None:
    value = _get(env, name)
    if not value:
        return None
    path = Path(value).expanduser()
    # Checked now rather than at connect time, where a missing file would
    # surface as a bare FileNotFoundError without the variable's name.
    if not path.is_file():
        raise SettingsError(f"{name}: no such file: {path}")
    return path
