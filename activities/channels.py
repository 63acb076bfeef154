"""Notification channels from settings: where notices are delivered."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from activities.redact import HIDDEN, safe_url
from incident.severity import Severity


class Channel(BaseModel):
    """A destination for notices.

    ``webhook`` receives a JSON document describing the notice; ``slack`` is a
    Slack-compatible incoming webhook (``{"text": ...}``). A channel only gets
    notices for incidents at ``min_severity`` or more urgent.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    kind: Literal["webhook", "slack"]
    url: HttpUrl
    min_severity: Severity = Severity.P4
    headers: dict[str, str] = Field(default_factory=dict)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """A channel as logs and errors show it: where it posts, never its credentials."""
        for name, value in super().__repr_args__():
            if name == "url":
                yield name, safe_url(str(value))
            elif name == "headers":
                yield name, dict.fromkeys(value, HIDDEN)
            else:
                yield name, value

    def wants(self, severity: Severity) -> bool:
        """Whether this channel takes notices for an incident of ``severity``."""
        return severity.rank <= self.min_severity.rank
