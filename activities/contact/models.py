"""What a sender is given (``PageMessage``) and what it answers (``ContactOutcome``)."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from directory.models import ContactKind, ContactMethod
from incident.severity import Severity

DETAIL_LIMIT = 200
"""Characters of a detail kept: it lands on the timeline and in heartbeats."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PageMessage(_Frozen):
    """One page for one person, as every kind of contact method words it."""

    key: str = Field(min_length=1, max_length=500)
    """Idempotency key, stable across the activity's retries: an email's Message-ID is
    derived from it, a console post carries it as ``Idempotency-Key``."""
    incident_id: str = Field(min_length=1, max_length=100)
    """The incident's human ID (``INC-7K3QXD``): the value of Slack's buttons, and what
    PagerDuty's ``dedup_key`` is made from."""
    severity: Severity
    subject: str = Field(min_length=1, max_length=500)
    """The headline: an email's Subject, the first line of a text message, what a call says."""
    text: str = ""
    """The body as a person reads it (the rendered notice)."""
    ack_url: str | None = None
    """A one-click acknowledge link. It is a credential of sorts: it goes into the
    message, never into an outcome's detail or a log line."""
    incident_url: str | None = None
    """Where the incident can be seen (the Web UI)."""
    recipient: str | None = None
    """The person's name, for the greeting and the console (``Alice Ng``)."""
    service: str | None = None
    """The affected service: PagerDuty's ``source``."""

    def text_with_links(self) -> str:
        """The body followed by the acknowledge link and the incident's link, where set."""
        lines = [self.text.rstrip()] if self.text.strip() else []
        links = []
        if self.ack_url:
            links.append(f"Acknowledge: {self.ack_url}")
        if self.incident_url:
            links.append(f"Incident: {self.incident_url}")
        if links:
            lines.append("\n".join(links))
        return "\n\n".join(lines) + "\n"


class ContactOutcome(_Frozen):
    """How one page went through one contact method.

    ``delivered``: the provider took it. Not delivered and ``transient``: worth
    another try later (a timeout, a 5xx, a rate limit). Not delivered and not
    transient: settled, the provider refused it or the method is not configured;
    ``detail`` says why. Nothing here holds a secret or a whole address: it is kept
    in heartbeats and on the timeline.
    """

    method: str
    """The method's name as the timeline shows it (its label, or its kind)."""
    kind: ContactKind
    address: str
    """The address as it may be shown (``+44…123``, ``a…@example.com``, ``ntfy://…``)."""
    delivered: bool
    transient: bool = False
    detail: str = Field(default="", max_length=DETAIL_LIMIT)
    provider_id: str | None = None
    """The provider's ID of what it made (Twilio's SID, Slack's ``channel/ts``, PagerDuty's
    dedup key, the email's Message-ID)."""

    @model_validator(mode="after")
    def _delivered_is_settled(self) -> Self:
        if self.delivered and self.transient:
            raise ValueError("a delivered page is not transient")
        return self

    @property
    def settled(self) -> bool:
        """Whether this outcome is final: delivered, or refused for good."""
        return not self.transient


def shown_address(method: ContactMethod) -> str:
    """``method``'s address as an outcome or a log line may show it.

    Phone numbers and email addresses are masked (whoever reads the timeline
    knows whom they belong to); a routing key shows its last four characters;
    an apprise URL only its scheme, since its host and path often *are* the
    credentials (``tgram://<bot token>/<chat>``).
    """
    address = method.address.strip()
    match method.kind:
        case ContactKind.SMS | ContactKind.VOICE:
            digits = "".join(address.split())
            return f"{digits[:3]}…{digits[-3:]}" if len(digits) >= 8 else "…"
        case ContactKind.EMAIL:
            local, at, domain = address.rpartition("@")
            return f"{local[:1]}…@{domain}" if at and local else "…"
        case ContactKind.PAGERDUTY:
            return f"…{address[-4:]}" if len(address) >= 12 else "…"
        case ContactKind.PUSH:
            scheme, sep, _ = address.partition("://")
            return f"{scheme}://…" if sep and scheme.isalnum() else "…"
        case ContactKind.SLACK | ContactKind.CONSOLE:
            return address[:100]
