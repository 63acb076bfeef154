"""The hooks' settings from the environment: every variable, clear refusals, no secret shown."""

from __future__ import annotations

import pytest

from settings import SettingsError, TemporalSettings
from starter.hooks.settings import HookSettings


def refusal(env: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as refused:
        HookSettings.from_env(env)
    return str(refused.value)


def test_an_empty_environment_means_loopback_and_no_credentials() -> None:
    settings = HookSettings.from_env({})
    assert (settings.host, settings.port, settings.address) == ("127.0.0.1", 8080, "127.0.0.1:8080")
    assert settings.temporal == TemporalSettings()
    assert settings.task_queue == "warroom"
    assert settings.open and not settings.allow_open
    assert settings.max_body == 1024 * 1024
    assert settings.rpc_timeout.total_seconds() == 10
    assert settings.processes == 1


def test_every_variable_is_read() -> None:
    settings = HookSettings.from_env(
        {
            "WARROOM_HOOKS_ADDR": "0.0.0.0:9080",
            "TEMPORAL_ADDRESS": "temporal.internal:7233",
            "WARROOM_TASK_QUEUE": "warroom-eu",
            "WARROOM_HOOKS_TOKENS": "t1, t2",
            "WARROOM_HOOKS_BASIC": "am:pw1,grafana:pw2",
            "WARROOM_HOOKS_HMAC_SECRET": "k3y",
            "WARROOM_HOOKS_MAX_BODY": "2048",
            "WARROOM_PAGERDUTY_ROUTING_KEYS": "r1,r2",
            "WARROOM_HOOKS_OPEN": "no",
            "WARROOM_HOOKS_RPC_TIMEOUT": "30s",
            "WARROOM_HOOKS_PROCESSES": "4",
        }
    )
    assert (settings.host, settings.port) == ("0.0.0.0", 9080)
    assert settings.temporal.address == "temporal.internal:7233"
    assert settings.task_queue == "warroom-eu"
    assert settings.tokens == ("t1", "t2")
    assert settings.basic == (("am", "pw1"), ("grafana", "pw2"))
    assert settings.hmac_secret == "k3y"
    assert settings.max_body == 2048
    assert settings.pagerduty_routing_keys == ("r1", "r2")
    assert not settings.allow_open and not settings.open
    assert settings.rpc_timeout_seconds == 30.0
    assert settings.processes == 4
    for secret in ("t1", "pw1", "k3y", "r1"):
        assert f"'{secret}'" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"WARROOM_HOOKS_ADDR": "x"},
            "WARROOM_HOOKS_ADDR: expected host:port such as 127.0.0.1:8080, got 'x'",
        ),
        ({"WARROOM_HOOKS_MAX_BODY": "1000"}, "WARROOM_HOOKS_MAX_BODY: expected a whole number"),
        ({"WARROOM_HOOKS_PROCESSES": "two"}, "WARROOM_HOOKS_PROCESSES: expected a whole number"),
        ({"WARROOM_HOOKS_PROCESSES": "0"}, "WARROOM_HOOKS_PROCESSES: expected a whole number"),
        ({"WARROOM_HOOKS_RPC_TIMEOUT": "301"}, "WARROOM_HOOKS_RPC_TIMEOUT: expected seconds"),
        ({"TEMPORAL_ADDRESS": "temporal"}, "TEMPORAL_ADDRESS: expected host:port"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(env: dict[str, str], message: str) -> None:
    assert refusal(env).startswith(message)


def test_a_malformed_basic_credential_is_refused_without_showing_it() -> None:
    message = refusal({"WARROOM_HOOKS_BASIC": "am-without-a-password-s3cr3t"})
    assert message == "WARROOM_HOOKS_BASIC: expected user:password[,user:password]"
