"""Connecting to Temporal: a failed connection comes back as an error of its own type."""

from __future__ import annotations

import pytest

from dev.ports import free_port
from settings import (
    TemporalConnectError,
    TemporalCredentialsRefused,
    TemporalSettings,
    TemporalUnreachable,
    connect,
)
from settings.temporal import connect_failure


async def test_nothing_listening_is_unreachable_with_the_reason() -> None:
    address = f"127.0.0.1:{free_port()}"
    with pytest.raises(TemporalUnreachable) as failed:
        await connect(TemporalSettings(address=address))
    assert str(failed.value) == f"cannot reach Temporal at {address} (connection refused)"
    assert (failed.value.address, failed.value.reason) == (address, "connection refused")
    # Callers that caught the SDK's RuntimeError still catch it.
    assert isinstance(failed.value, RuntimeError)


async def test_a_host_that_does_not_resolve_is_unreachable() -> None:
    with pytest.raises(TemporalUnreachable) as failed:
        await connect(TemporalSettings(address="no-such-host.invalid:7233"))
    assert "cannot reach Temporal at no-such-host.invalid:7233 (" in str(failed.value)
    assert "dns error" in failed.value.reason


@pytest.mark.parametrize("code", ["Unauthenticated", "PermissionDenied"])
def test_refused_credentials_are_told_apart_from_an_unreachable_server(code: str) -> None:
    # What core says when the server answers the connection's first call with a refusal.
    text = (
        "Failed client connect: `get_system_info` call error after connection: "
        f'Status {{ code: {code}, message: "Request unauthorized.", source: None }}'
    )
    failure = connect_failure("cloud.example.com:7233", RuntimeError(text))
    assert isinstance(failure, TemporalCredentialsRefused)
    assert str(failure).startswith("Temporal at cloud.example.com:7233 refused the credentials (")
    assert "Request unauthorized." in failure.reason


def test_anything_else_is_unreachable_in_core_s_own_words() -> None:
    failure = connect_failure("t:7233", RuntimeError("Failed client connect: tls handshake eof"))
    assert type(failure) is TemporalUnreachable
    assert failure.reason == "Failed client connect: tls handshake eof"
    assert isinstance(failure, TemporalConnectError)
