"""Worker and Temporal settings from the environment: defaults, every variable, clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.channels import Channel
from incident.severity import Severity
from settings import DEFAULT_TASK_QUEUE, TemporalSettings, connect
from worker.settings import SettingsError, WorkerSettings

OPS = {"name": "ops", "kind": "webhook", "url": "https://hooks.example.com/warroom"}
SLACK = {
    "name": "slack-execs",
    "kind": "slack",
    "url": "https://hooks.slack.com/services/T0/B0/x",
    "min_severity": "P0",
    "headers": {"X-Team": "sre"},
}


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def refusal(env: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as refused:
        WorkerSettings.from_env(env)
    return str(refused.value)


# --- defaults and every variable --------------------------------------------


def test_an_empty_environment_means_the_local_dev_stack() -> None:
    settings = WorkerSettings.from_env({})
    assert settings.temporal == TemporalSettings(
        address="localhost:7233", namespace="default", api_key=None, tls=False
    )
    assert settings.task_queue == DEFAULT_TASK_QUEUE == "warroom"
    assert settings.policy_path is None
    assert settings.directory_path is None
    assert settings.channels == []
    assert settings.prometheus_url is None
    assert settings.ui_url == "http://localhost:8233"
    assert settings.metrics_addr is None
    assert settings.cached_incidents == 1000
    assert settings.temporal.tls_config() is False


def test_empty_variables_count_as_unset() -> None:
    blank = {
        name: "  "
        for name in [
            "TEMPORAL_ADDRESS",
            "TEMPORAL_NAMESPACE",
            "TEMPORAL_API_KEY",
            "TEMPORAL_TLS",
            "TEMPORAL_TLS_CERT",
            "TEMPORAL_TLS_KEY",
            "TEMPORAL_TLS_CA",
            "WARROOM_TASK_QUEUE",
            "WARROOM_POLICY",
            "WARROOM_DIRECTORY",
            "WARROOM_CHANNELS",
            "WARROOM_CHANNELS_FILE",
            "WARROOM_PROMETHEUS_URL",
            "WARROOM_UI_URL",
            "WARROOM_METRICS_ADDR",
            "WARROOM_CACHED_INCIDENTS",
        ]
    }
    assert WorkerSettings.from_env(blank) == WorkerSettings.from_env({})


def test_every_variable_is_read(tmp_path: Path) -> None:
    env = {
        "TEMPORAL_ADDRESS": "temporal.internal:7233",
        "TEMPORAL_NAMESPACE": "incidents",
        "TEMPORAL_TLS": "yes",
        "TEMPORAL_TLS_CERT": write(tmp_path / "client.pem", "CERT"),
        "TEMPORAL_TLS_KEY": write(tmp_path / "client.key", "KEY"),
        "TEMPORAL_TLS_CA": write(tmp_path / "ca.pem", "CA"),
        "WARROOM_TASK_QUEUE": "warroom-eu",
        "WARROOM_POLICY": write(tmp_path / "policy.yaml", "version: x\n"),
        "WARROOM_DIRECTORY": write(tmp_path / "directory.yaml", "version: x\n"),
        "WARROOM_CHANNELS": json.dumps([OPS, SLACK]),
        "WARROOM_PROMETHEUS_URL": "http://prometheus:9090/",
        "WARROOM_UI_URL": "https://temporal.example.com/",
        "WARROOM_METRICS_ADDR": "0.0.0.0:9464",
        "WARROOM_CACHED_INCIDENTS": "12000",
    }
    settings = WorkerSettings.from_env(env)
    assert settings.temporal == TemporalSettings(
        address="temporal.internal:7233",
        namespace="incidents",
        tls=True,
        tls_cert_path=tmp_path / "client.pem",
        tls_key_path=tmp_path / "client.key",
        tls_ca_path=tmp_path / "ca.pem",
    )
    assert settings.task_queue == "warroom-eu"
    assert settings.policy_path == tmp_path / "policy.yaml"
    assert settings.directory_path == tmp_path / "directory.yaml"
    assert [c.name for c in settings.channels] == ["ops", "slack-execs"]
    assert settings.channels[1].min_severity is Severity.P0
    assert settings.channels[1].headers == {"X-Team": "sre"}
    # Paths are appended to these, so a trailing slash is dropped.
    assert settings.prometheus_url == "http://prometheus:9090"
    assert settings.ui_url == "https://temporal.example.com"
    assert settings.metrics_addr == "0.0.0.0:9464"
    assert settings.cached_incidents == 12000


@pytest.mark.parametrize("flag", ["1", "true", "TRUE", "yes", "on"])
def test_tls_flag_spellings(flag: str) -> None:
    assert TemporalSettings.from_env({"TEMPORAL_TLS": flag}).tls is True


@pytest.mark.parametrize("flag", ["0", "false", "no", "off"])
def test_tls_off_spellings(flag: str) -> None:
    assert TemporalSettings.from_env({"TEMPORAL_TLS": flag}).tls is False


def test_temporal_cloud_api_key_implies_tls_and_stays_out_of_logs() -> None:
    settings = TemporalSettings.from_env(
        {
            "TEMPORAL_ADDRESS": "eu-west-1.aws.api.temporal.io:7233",
            "TEMPORAL_NAMESPACE": "warroom.a1b2c",
            "TEMPORAL_API_KEY": "secret-key-123",
        }
    )
    assert settings.api_key == "secret-key-123"
    assert settings.tls is False
    assert settings.tls_config() is True
    assert "secret-key-123" not in repr(settings)
    assert "secret-key-123" not in repr(WorkerSettings(temporal=settings))


def test_mtls_files_are_read_into_the_tls_config(tmp_path: Path) -> None:
    settings = TemporalSettings.from_env(
        {
            "TEMPORAL_TLS_CERT": write(tmp_path / "client.pem", "CERT"),
            "TEMPORAL_TLS_KEY": write(tmp_path / "client.key", "KEY"),
        }
    )
    config = settings.tls_config()
    assert isinstance(config, TLSConfig)
    assert (config.client_cert, config.client_private_key, config.server_root_ca_cert) == (
        b"CERT",
        b"KEY",
        None,
    )


def test_a_private_ca_alone_verifies_the_server(tmp_path: Path) -> None:
    settings = TemporalSettings.from_env({"TEMPORAL_TLS_CA": write(tmp_path / "ca.pem", "CA")})
    config = settings.tls_config()
    assert isinstance(config, TLSConfig)
    assert (config.client_cert, config.server_root_ca_cert) == (None, b"CA")


# --- channels ---------------------------------------------------------------


def test_channels_from_a_yaml_file(tmp_path: Path) -> None:
    channels = tmp_path / "channels.yaml"
    channels.write_text(
        """
        - name: ops
          kind: webhook
          url: https://hooks.example.com/warroom
        - name: slack-execs
          kind: slack
          url: https://hooks.slack.com/services/T0/B0/x
          min_severity: P0
          headers: {X-Team: sre}
        """.replace("\n        ", "\n")
    )
    settings = WorkerSettings.from_env({"WARROOM_CHANNELS_FILE": str(channels)})
    assert settings.channels == [Channel.model_validate(OPS), Channel.model_validate(SLACK)]


def test_channels_from_a_json_file(tmp_path: Path) -> None:
    channels = write(tmp_path / "channels.json", json.dumps([OPS]))
    settings = WorkerSettings.from_env({"WARROOM_CHANNELS_FILE": channels})
    assert settings.channels == [Channel.model_validate(OPS)]


# --- refusals name the variable ---------------------------------------------


def test_a_channel_with_a_bad_url_names_variable_item_and_field() -> None:
    bad = [OPS, {**OPS, "name": "pager", "url": "not a url"}]
    message = refusal({"WARROOM_CHANNELS": json.dumps(bad)})
    assert message.startswith("WARROOM_CHANNELS: item 1: url: Input should be a valid URL")


def test_every_problem_of_every_channel_is_listed() -> None:
    bad = [{"name": "a", "kind": "email", "url": "https://x.example", "colour": "red"}]
    assert refusal({"WARROOM_CHANNELS": json.dumps(bad)}) == (
        "WARROOM_CHANNELS: item 0: kind: Input should be 'webhook' or 'slack'; "
        "item 0: colour: Extra inputs are not permitted"
    )


def test_channels_that_are_not_json() -> None:
    message = refusal({"WARROOM_CHANNELS": "[{name: ops}"})
    assert message.startswith("WARROOM_CHANNELS: not valid JSON: ")


def test_channels_that_are_not_a_list() -> None:
    assert refusal({"WARROOM_CHANNELS": json.dumps(OPS)}) == (
        "WARROOM_CHANNELS: expected a list of channel objects, got dict"
    )


def test_two_channels_with_one_name() -> None:
    twice = json.dumps([OPS, {**SLACK, "name": "ops"}])
    assert refusal({"WARROOM_CHANNELS": twice}) == (
        "WARROOM_CHANNELS: item 1: name 'ops' is used twice"
    )


def test_channels_both_inline_and_from_a_file(tmp_path: Path) -> None:
    message = refusal(
        {
            "WARROOM_CHANNELS": json.dumps([OPS]),
            "WARROOM_CHANNELS_FILE": write(tmp_path / "c.json", "[]"),
        }
    )
    assert message.startswith("WARROOM_CHANNELS: WARROOM_CHANNELS_FILE is set too")


def test_a_channels_file_that_is_missing(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert refusal({"WARROOM_CHANNELS_FILE": str(missing)}) == (
        f"WARROOM_CHANNELS_FILE: {missing}: cannot read: No such file or directory"
    )


def test_a_channels_file_that_is_not_yaml(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "- name: [unclosed\n")
    message = refusal({"WARROOM_CHANNELS_FILE": path})
    assert message.startswith(f"WARROOM_CHANNELS_FILE: {path}: not valid JSON or YAML:")


def test_a_channels_file_with_a_bad_channel_names_file_and_item(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "- {name: ops, kind: webhook, url: hooks}\n")
    message = refusal({"WARROOM_CHANNELS_FILE": path})
    assert message.startswith(
        f"WARROOM_CHANNELS_FILE: {path}: item 0: url: Input should be a valid URL"
    )


def test_an_empty_channels_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "")
    assert refusal({"WARROOM_CHANNELS_FILE": path}) == (
        f"WARROOM_CHANNELS_FILE: {path}: expected a list of channel objects, got NoneType"
    )


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("TEMPORAL_ADDRESS", "localhost", "TEMPORAL_ADDRESS: expected host:port"),
        ("TEMPORAL_ADDRESS", "localhost:http", "TEMPORAL_ADDRESS: expected host:port"),
        ("TEMPORAL_TLS", "maybe", "TEMPORAL_TLS: expected 1/true/yes or 0/false/no, got 'maybe'"),
        ("TEMPORAL_TLS_CA", "/no/such/ca.pem", "TEMPORAL_TLS_CA: no such file: /no/such/ca.pem"),
        ("WARROOM_POLICY", "/no/such/policy.yaml", "WARROOM_POLICY: no such file: /no/such/"),
        (
            "WARROOM_DIRECTORY",
            "/no/such/directory.yaml",
            "WARROOM_DIRECTORY: no such file: /no/such/",
        ),
        (
            "WARROOM_PROMETHEUS_URL",
            "prometheus:9090",
            "WARROOM_PROMETHEUS_URL: URL scheme should be 'http' or 'https'",
        ),
        ("WARROOM_UI_URL", "not a url", "WARROOM_UI_URL: Input should be a valid URL"),
        ("WARROOM_METRICS_ADDR", "9464", "WARROOM_METRICS_ADDR: expected host:port"),
        ("WARROOM_METRICS_ADDR", "127.0.0.1:99999", "WARROOM_METRICS_ADDR: expected host:port"),
        ("WARROOM_CACHED_INCIDENTS", "0", "WARROOM_CACHED_INCIDENTS: expected a whole number"),
        ("WARROOM_CACHED_INCIDENTS", "lots", "WARROOM_CACHED_INCIDENTS: expected a whole number"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(name: str, value: str, expected: str) -> None:
    message = refusal({name: value})
    assert message.startswith(expected)
    assert repr(value) in message or value in message


def test_a_client_certificate_without_its_key(tmp_path: Path) -> None:
    cert = write(tmp_path / "client.pem", "CERT")
    assert refusal({"TEMPORAL_TLS_CERT": cert}) == (
        "TEMPORAL_TLS_CERT: a client certificate needs its key; set TEMPORAL_TLS_KEY too"
    )


def test_settings_error_is_a_value_error() -> None:
    assert issubclass(SettingsError, ValueError)


# --- connecting -------------------------------------------------------------


async def test_connect_speaks_pydantic_to_the_configured_namespace(
    env: WorkflowEnvironment,
) -> None:
    address = env.client.service_client.config.target_host
    client = await connect(TemporalSettings(address=address), identity="settings-test")
    assert client.data_converter is pydantic_data_converter
    assert client.namespace == "default"
    assert client.identity == "settings-test"
    assert await client.service_client.check_health()
