"""`warroom` refuses a setting it cannot use in one line, exit 2, before calling anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from starter.cli.base import EXIT_USAGE
from tests.support.processes import cli_env, warroom


async def test_a_bad_temporal_address_is_named(env: WorkflowEnvironment) -> None:
    code, _, err = await _warroom(env, "list", address="temporal-without-a-port")
    assert code == EXIT_USAGE
    assert err.strip() == (
        "warroom: TEMPORAL_ADDRESS: expected host:port such as localhost:7233, "
        "got 'temporal-without-a-port'"
    )


async def test_a_missing_policy_file_is_named_by_a_command_that_needs_it(
    env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WARROOM_POLICY", "/no/such/policy.yaml")
    code, _, err = await _warroom(env, "declare", "Checkout down", "--severity", "SEV-1")
    assert code == EXIT_USAGE
    assert err.strip() == (
        "warroom: /no/such/policy.yaml: cannot read policy file: No such file or directory"
    )


async def test_a_decision_no_one_can_be_named_for_is_refused_not_recorded_as_unknown(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    nameless = {
        **cli_env(env.client.service_client.config.target_host),
        "XDG_CONFIG_HOME": str(tmp_path),  # no config file there
    }
    for unset in ("WARROOM_ACTOR", "USER", "USERNAME"):
        nameless.pop(unset, None)
    for args in (("ack", "INC-ZZZZZ-ZZZZZ"), ("declare", "Checkout down", "--severity", "P1")):
        done = await warroom(*args, env=nameless)
        assert done.code == EXIT_USAGE, done
        assert done.err.strip().startswith("warroom: who is acting?")
        assert "--as NAME" in done.err and "WARROOM_ACTOR" in done.err
        assert "config.toml" in done.err and "Traceback" not in done.err
    # Named after the command, the same decision gets as far as looking the incident up.
    named = await warroom("ack", "INC-ZZZZZ-ZZZZZ", "--as", "bob", env=nameless)
    assert (named.code, named.err.strip()) == (3, "warroom: no incident INC-ZZZZZ-ZZZZZ")


async def _warroom(
    env: WorkflowEnvironment, *args: str, address: str | None = None, within: float = 60
) -> tuple[int, str, str]:
    done = await warroom(
        *args,
        env=cli_env(address or env.client.service_client.config.target_host),
        within=within,
    )
    return done.code, done.out, done.err
