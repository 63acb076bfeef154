"""Notification channels from settings: where notices are delivered."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from activities.redact import HIDDEN, safe_url
from incident.escalation import Audience
from incident.notices import Notice, audience_of
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
    audiences: list[str] = Field(default_factory=lambda: [Audience.INCIDENT.value], min_length=1)
    """Who the channel speaks to: ``incident`` (declarations, status updates, resolution),
    ``on-call`` (pages), ``people`` (management steps, flags), ``executives`` (briefs), or
    a position the directory names ("Legal/Compliance"). Pages and escalations that reach
    nobody in the directory go to the channels serving them, else to the incident channels,
    so none goes unseen."""

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

    def serves(self, notice: Notice) -> bool:
        """Whether this channel is one ``notice``'s audience listens on."""
        to = notice.to or audience_of(notice.kind)
        return to.value in self.audiences or notice.audience in self.audiences


def channels_for(channels: list[Channel], notice: Notice, *, reached: bool) -> list[Channel]:
    """The channels a notice goes to. A notice for people that reached nobody falls back to
    the incident channels when no channel serves its audience: a page is never unseen."""
    wanted = [c for c in channels if c.wants(notice.incident.severity)]
    serving = [c for c in wanted if c.serves(notice)]
    to = notice.to or audience_of(notice.kind)
    if serving or reached or to not in (Audience.ON_CALL, Audience.PEOPLE):
        return serving
    return [c for c in wanted if Audience.INCIDENT.value in c.audiences]
