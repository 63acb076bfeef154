"""An Atlassian Statuspage that customer updates are published to (``activities.statuspage``).

Optional: with no API key and page ID, customer updates go only to the channels
serving the ``customers`` audience and to Warroom's own status page.
"""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BeforeValidator, Field, SecretStr, model_validator

from settings.contact import Url
from settings.environment import EnvSettings
from settings.errors import invalid

DEFAULT_STATUSPAGE_URL = "https://api.statuspage.io"


def _components(value: Any) -> Any:
    """``checkout=abc123, api=def456`` as ``{"checkout": "abc123", "api": "def456"}``."""
    if not isinstance(value, str):
        return value
    mapping: dict[str, str] = {}
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        service, sep, component = (s.strip() for s in part.partition("="))
        if not (sep and service and component):
            raise invalid(
                f"expected service=component_id pairs such as checkout=abc123, got {part!r}"
            )
        if service in mapping:
            raise invalid(f"service {service!r} is named twice")
        mapping[service] = component
    return mapping


class StatuspageSettings(EnvSettings):
    """``WARROOM_STATUSPAGE_API_KEY``, ``WARROOM_STATUSPAGE_PAGE_ID``,
    ``WARROOM_STATUSPAGE_COMPONENTS`` and ``WARROOM_STATUSPAGE_URL``."""

    api_key: SecretStr | None = Field(None, validation_alias="WARROOM_STATUSPAGE_API_KEY")
    """A Statuspage API key (sent as ``Authorization: OAuth <key>``)."""
    page_id: str | None = Field(None, validation_alias="WARROOM_STATUSPAGE_PAGE_ID")
    components: Annotated[dict[str, str], BeforeValidator(_components)] = Field(
        default_factory=dict, validation_alias="WARROOM_STATUSPAGE_COMPONENTS"
    )
    """Service name → Statuspage component ID: the component an update sets."""
    url: Url = Field(DEFAULT_STATUSPAGE_URL, validation_alias="WARROOM_STATUSPAGE_URL")

    @model_validator(mode="after")
    def _whole(self) -> Self:
        if (self.api_key is None) != (self.page_id is None):
            given, missing = (
                ("WARROOM_STATUSPAGE_API_KEY", "WARROOM_STATUSPAGE_PAGE_ID")
                if self.api_key is not None
                else ("WARROOM_STATUSPAGE_PAGE_ID", "WARROOM_STATUSPAGE_API_KEY")
            )
            raise invalid(f"{given}: set {missing} too, or neither")
        if self.components and self.api_key is None:
            raise invalid(
                "WARROOM_STATUSPAGE_COMPONENTS: set WARROOM_STATUSPAGE_API_KEY and "
                "WARROOM_STATUSPAGE_PAGE_ID too"
            )
        return self

    @property
    def configured(self) -> bool:
        """Whether customer updates are published to a Statuspage."""
        return self.api_key is not None and self.page_id is not None
