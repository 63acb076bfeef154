"""Connecting to Temporal: local dev server, self-hosted with mTLS, or Temporal Cloud."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from temporalio.client import Client, TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter

DEFAULT_TASK_QUEUE = "warroom"
_TRUE = {"1", "true", "yes", "on"}


class TemporalSettings(BaseModel):
    """Where Temporal is and how to authenticate."""

    model_config = ConfigDict(frozen=True)

    address: str = "localhost:7233"
    namespace: str = "default"
    api_key: str | None = None
    tls: bool = False
    tls_cert_path: Path | None = None
    tls_key_path: Path | None = None
    tls_ca_path: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> TemporalSettings:
        """Read ``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY`` and TLS vars."""

        def path(name: str) -> Path | None:
            value = env.get(name)
            return Path(value) if value else None

        return cls(
            address=env.get("TEMPORAL_ADDRESS") or "localhost:7233",
            namespace=env.get("TEMPORAL_NAMESPACE") or "default",
            api_key=env.get("TEMPORAL_API_KEY") or None,
            tls=env.get("TEMPORAL_TLS", "").strip().lower() in _TRUE,
            tls_cert_path=path("TEMPORAL_TLS_CERT"),
            tls_key_path=path("TEMPORAL_TLS_KEY"),
            tls_ca_path=path("TEMPORAL_TLS_CA"),
        )

    def tls_config(self) -> TLSConfig | bool:
        """The TLS setting to connect with (Temporal Cloud API keys need TLS)."""
        files = (self.tls_cert_path, self.tls_key_path, self.tls_ca_path)
        if any(files):
            return TLSConfig(
                client_cert=self.tls_cert_path.read_bytes() if self.tls_cert_path else None,
                client_private_key=self.tls_key_path.read_bytes() if self.tls_key_path else None,
                server_root_ca_cert=self.tls_ca_path.read_bytes() if self.tls_ca_path else None,
            )
        return self.tls or self.api_key is not None


async def connect(settings: TemporalSettings, **kwargs: Any) -> Client:
    """A client with the pydantic data converter; extra keyword arguments go to Client.connect."""
    return await Client.connect(
        settings.address,
        namespace=settings.namespace,
        api_key=settings.api_key,
        tls=settings.tls_config(),
        data_converter=pydantic_data_converter,
        **kwargs,
    )
