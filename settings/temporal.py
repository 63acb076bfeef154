"""Connecting to Temporal: local dev server, self-hosted with mTLS, or Temporal Cloud."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import Field, model_validator
from temporalio.client import Client, TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from settings.environment import EnvSettings
from settings.errors import invalid
from settings.fields import existing_file, flag, host_port

DEFAULT_TASK_QUEUE = "warroom"
"""The task queue the worker polls and every client starts incidents on, unless told otherwise."""

DEFAULT_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"


class TemporalSettings(EnvSettings):
    """Where Temporal is and how to authenticate.

    ``tls`` turns on TLS with the system's root certificates; the certificate
    paths add a client certificate (mTLS) and/or a private CA. An ``api_key``
    (Temporal Cloud) always connects over TLS.

    ``from_env`` reads ``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``,
    ``TEMPORAL_API_KEY``, ``TEMPORAL_TLS`` (1/true/yes/on), ``TEMPORAL_TLS_CERT``,
    ``TEMPORAL_TLS_KEY`` and ``TEMPORAL_TLS_CA``; unset or empty variables take
    the defaults. A value that cannot be used (an address without a port, an
    unknown TLS flag, a certificate file that does not exist, a client
    certificate without its key) raises SettingsError naming the variable.
    """

    address: Annotated[str, host_port(DEFAULT_ADDRESS)] = Field(
        DEFAULT_ADDRESS, validation_alias="TEMPORAL_ADDRESS"
    )
    namespace: str = Field(DEFAULT_NAMESPACE, validation_alias="TEMPORAL_NAMESPACE")
    # Kept out of repr so a logged settings object never shows the key.
    api_key: str | None = Field(None, repr=False, validation_alias="TEMPORAL_API_KEY")
    tls: Annotated[bool, flag()] = Field(False, validation_alias="TEMPORAL_TLS")
    tls_cert_path: Annotated[Path | None, existing_file()] = Field(
        None, validation_alias="TEMPORAL_TLS_CERT"
    )
    tls_key_path: Annotated[Path | None, existing_file()] = Field(
        None, validation_alias="TEMPORAL_TLS_KEY"
    )
    tls_ca_path: Annotated[Path | None, existing_file()] = Field(
        None, validation_alias="TEMPORAL_TLS_CA"
    )

    @model_validator(mode="after")
    def _certificate_with_its_key(self) -> Self:
        if (self.tls_cert_path is None) != (self.tls_key_path is None):
            given, missing = (
                ("TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY")
                if self.tls_cert_path
                else ("TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CERT")
            )
            raise invalid(f"{given}: a client certificate needs its key; set {missing} too")
        return self

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


class TemporalConnectError(RuntimeError):
    """Connecting to Temporal failed; ``address`` and ``reason`` say where and why."""

    def __init__(self, message: str, *, address: str, reason: str) -> None:
        super().__init__(message)
        self.address = address
        self.reason = reason


class TemporalUnreachable(TemporalConnectError):
    """Nothing at the address answered as Temporal (refused, no such host, TLS failed)."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(
            f"cannot reach Temporal at {address} ({reason})", address=address, reason=reason
        )


class TemporalCredentialsRefused(TemporalConnectError):
    """Temporal answered and refused the API key, the client certificate or the namespace."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(
            f"Temporal at {address} refused the credentials ({reason})",
            address=address,
            reason=reason,
        )


async def connect(
    settings: TemporalSettings, *, metrics_addr: str | None = None, **kwargs: Any
) -> Client:
    """A client for ``settings`` speaking pydantic models (``pydantic_data_converter``).

    ``metrics_addr`` (``host:port``) serves the SDK's Prometheus metrics for
    this client and the workers built on it. Extra keyword arguments
    (``identity``, ``lazy``, ...) go to Client.connect. Raises
    TemporalUnreachable or TemporalCredentialsRefused when the connection
    fails (a ``lazy`` client connects, and fails, on its first call instead).
    """
    kwargs.setdefault("data_converter", pydantic_data_converter)
    if metrics_addr:
        metrics = PrometheusConfig(bind_address=metrics_addr)
        kwargs["runtime"] = Runtime(telemetry=TelemetryConfig(metrics=metrics))
    try:
        return await Client.connect(
            settings.address,
            namespace=settings.namespace,
            api_key=settings.api_key,
            tls=settings.tls_config(),
            **kwargs,
        )
    except RuntimeError as err:
        raise connect_failure(settings.address, err) from err


# The gRPC code names core puts in the text of a refused connection.
_REFUSED_CREDENTIALS = re.compile(r"\b(Unauthenticated|PermissionDenied)\b")


def connect_failure(address: str, err: RuntimeError) -> TemporalConnectError:
    """What a RuntimeError from Client.connect means, as an error of its own type.

    The SDK's core reports a failed connection as a plain RuntimeError whose
    text is all there is ("Failed client connect: ... Connection refused",
    "... Status { code: Unauthenticated, ... }"): no status code, no cause
    object. This is the one place in Warroom that reads an SDK error's text;
    everything else catches the types raised here.
    """
    text = " ".join(str(err).split())
    if _REFUSED_CREDENTIALS.search(text):
        return TemporalCredentialsRefused(address, text[:160])
    reason = "connection refused" if "Connection refused" in text else text[:160]
    return TemporalUnreachable(address, reason)
