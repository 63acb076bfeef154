"""Settings read from environment variables, the same way for every Warroom process."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Self

from pydantic import ValidationError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from settings.errors import refusal


class _Variables(EnvSettingsSource):
    """The variables of one environment mapping (``os.environ`` or a test's dict)."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._given = env
        super().__init__(settings_cls, case_sensitive=True)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # Unset, empty and blank all mean "the default"; a value loses surrounding spaces.
        return {name: value.strip() for name, value in self._given.items() if value.strip()}


class EnvSettings(BaseSettings):
    """A process's settings: each field names its variable with ``validation_alias``.

    ``from_env`` reads them; a value that cannot be used raises SettingsError
    naming every variable at fault and why. Built directly (``HookSettings(
    tokens=("t",))``), a settings object takes only the values it is given:
    the environment is read where ``from_env`` is called, never behind a
    caller's back.
    """

    model_config = SettingsConfigDict(
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        # Each field parses its own text (JSON is not guessed from a field's type).
        enable_decoding=False,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the values passed in: ``from_env`` passes the environment's."""
        return (init_settings,)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, **given: Any) -> Self:
        """The settings from ``env``'s variables; ``given`` values (parts read elsewhere) win.

        A field that is itself EnvSettings (``temporal: TemporalSettings``) is
        read from the same environment. Raises SettingsError naming each
        variable that cannot be used and why.
        """
        for name, info in cls.model_fields.items():
            part = info.annotation
            if name not in given and isinstance(part, type) and issubclass(part, EnvSettings):
                given[name] = part.from_env(env)
        values = _Variables(cls, env)()
        try:
            return cls(**{**values, **given})
        except ValidationError as err:
            raise refusal(err) from None
