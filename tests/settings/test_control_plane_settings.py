"""The reference control plane reads its environment through the settings layer too."""

from __future__ import annotations

import pytest

from settings import SettingsError
from starter.controlplane import ControlPlaneSettings


def test_bad_values_are_named_with_the_reason() -> None:
    with pytest.raises(SettingsError) as refused:
        ControlPlaneSettings.from_env({"CONTROL_PLANE_ADDR": "127.0.0.1:99999"})
    message = str(refused.value)
    assert "CONTROL_PLANE_ADDR: expected host:port such as 127.0.0.1:8090" in message
    assert "DATABASE_URL" in message


def test_defaults_and_secrets() -> None:
    settings = ControlPlaneSettings.from_env(
        {"DATABASE_URL": "postgresql://u:secret@db/x", "CONTROL_PLANE_TOKEN": "t0k"}
    )
    assert settings.address == "127.0.0.1:8090"
    assert "secret" not in repr(settings) and "t0k" not in repr(settings)
