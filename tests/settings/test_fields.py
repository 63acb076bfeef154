"""One parser per kind of value, one refusal format: ``VARIABLE: reason, got 'value'``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
from pydantic import Field

from settings import EnvSettings, SettingsError
from settings.fields import (
    comma_list,
    existing_file,
    flag,
    host_port,
    http_url,
    seconds,
    split_host_port,
    whole_number,
)


class Example(EnvSettings):
    """One field of each kind, each from its variable."""

    address: Annotated[str, host_port("127.0.0.1:9000")] = Field(
        "127.0.0.1:9000", validation_alias="EXAMPLE_ADDR"
    )
    enabled: Annotated[bool, flag()] = Field(False, validation_alias="EXAMPLE_ENABLED")
    count: Annotated[int, whole_number(2)] = Field(10, validation_alias="EXAMPLE_COUNT")
    timeout: Annotated[float, seconds(60)] = Field(5.0, validation_alias="EXAMPLE_TIMEOUT")
    file: Annotated[Path | None, existing_file()] = Field(None, validation_alias="EXAMPLE_FILE")
    names: Annotated[tuple[str, ...], comma_list()] = Field((), validation_alias="EXAMPLE_NAMES")
    url: Annotated[str | None, http_url(shown=lambda url: url.split("?")[0])] = Field(
        None, validation_alias="EXAMPLE_URL"
    )
    secret: str | None = Field(None, repr=False, validation_alias="EXAMPLE_SECRET")


def refusal(env: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as refused:
        Example.from_env(env)
    return str(refused.value)


def test_unset_empty_and_blank_take_the_defaults() -> None:
    blank = {"EXAMPLE_ADDR": "  ", "EXAMPLE_COUNT": "\t"}
    assert Example.from_env(blank) == Example.from_env({}) == Example()
    assert Example.from_env({"EXAMPLE_ADDR": ""}).address == "127.0.0.1:9000"


def test_every_kind_of_value_is_read() -> None:
    settings = Example.from_env(
        {
            "EXAMPLE_ADDR": " 0.0.0.0:80 ",
            "EXAMPLE_ENABLED": "On",
            "EXAMPLE_COUNT": "12",
            "EXAMPLE_TIMEOUT": "1m",
            "EXAMPLE_NAMES": "a, b,,c ",
            "EXAMPLE_URL": "https://prom.example.com:9090/",
            "EXAMPLE_SECRET": "s3cret",
        }
    )
    assert settings.address == "0.0.0.0:80"
    assert settings.enabled is True
    assert settings.count == 12
    assert settings.timeout == 60.0
    assert settings.names == ("a", "b", "c")
    assert settings.url == "https://prom.example.com:9090"  # paths are appended to it
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("value", "expected"), [("2.5", 2.5), ("10s", 10.0), ("1m", 60.0), ("0.5m", 30.0)]
)
def test_durations_in_seconds_or_with_a_unit(value: str, expected: float) -> None:
    assert Example.from_env({"EXAMPLE_TIMEOUT": value}).timeout == expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"EXAMPLE_ADDR": "x"},
            "EXAMPLE_ADDR: expected host:port such as 127.0.0.1:9000, got 'x'",
        ),
        (
            {"EXAMPLE_ADDR": "127.0.0.1:65536"},
            "EXAMPLE_ADDR: expected host:port such as 127.0.0.1:9000, got '127.0.0.1:65536'",
        ),
        (
            {"EXAMPLE_ADDR": "127.0.0.1:\u0668\u0660"},  # Arabic-Indic digits: not a port
            "EXAMPLE_ADDR: expected host:port such as 127.0.0.1:9000, got '127.0.0.1:\u0668\u0660'",
        ),
        ({"EXAMPLE_ENABLED": "maybe"}, "EXAMPLE_ENABLED: expected 1/true/yes or 0/false/no"),
        ({"EXAMPLE_COUNT": "1"}, "EXAMPLE_COUNT: expected a whole number of at least 2, got '1'"),
        ({"EXAMPLE_COUNT": "1e3"}, "EXAMPLE_COUNT: expected a whole number of at least 2"),
        ({"EXAMPLE_COUNT": "\u0663"}, "EXAMPLE_COUNT: expected a whole number of at least 2"),
        ({"EXAMPLE_TIMEOUT": "0"}, "EXAMPLE_TIMEOUT: expected seconds in (0, 60], got '0'"),
        ({"EXAMPLE_TIMEOUT": "nan"}, "EXAMPLE_TIMEOUT: expected seconds in (0, 60], got 'nan'"),
        ({"EXAMPLE_TIMEOUT": "inf"}, "EXAMPLE_TIMEOUT: expected seconds in (0, 60]"),
        ({"EXAMPLE_TIMEOUT": "2h"}, "EXAMPLE_TIMEOUT: expected seconds in (0, 60], got '2h'"),
        ({"EXAMPLE_TIMEOUT": "soon"}, "EXAMPLE_TIMEOUT: expected seconds in (0, 60]"),
        ({"EXAMPLE_FILE": "/no/such/file"}, "EXAMPLE_FILE: no such file: /no/such/file"),
        ({"EXAMPLE_URL": "prom:9090"}, "EXAMPLE_URL: URL scheme should be 'http' or 'https'"),
    ],
)
def test_a_value_that_cannot_be_used_is_refused_naming_the_variable(
    env: dict[str, str], message: str
) -> None:
    assert refusal(env).startswith(message)


def test_every_variable_at_fault_is_named_at_once() -> None:
    assert refusal({"EXAMPLE_ADDR": "x", "EXAMPLE_COUNT": "0"}) == (
        "EXAMPLE_ADDR: expected host:port such as 127.0.0.1:9000, got 'x'; "
        "EXAMPLE_COUNT: expected a whole number of at least 2, got '0'"
    )


def test_a_refused_url_is_shown_as_the_setting_says() -> None:
    message = refusal({"EXAMPLE_URL": "ftp://prom.example.com/?token=t0ps3cret"})
    assert message.startswith("EXAMPLE_URL: URL scheme should be 'http' or 'https'")
    assert "ftp://prom.example.com/" in message and "t0ps3cret" not in message


def test_a_value_with_braces_is_quoted_as_it_is() -> None:
    assert "got '{x}'" in refusal({"EXAMPLE_ADDR": "{x}"})


def test_built_in_code_a_settings_object_takes_only_what_it_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EXAMPLE_COUNT", "99")
    assert Example().count == 10
    assert Example(count=3).count == 3
    assert Example.from_env().count == 99  # from_env reads os.environ by default


def test_split_host_port() -> None:
    assert split_host_port("[::1]:8080", example="e") == ("[::1]", 8080)
