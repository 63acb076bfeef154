"""Who a credential names: the people of the directory, found by handle, email or Slack ID."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from directory.models import ContactKind, Directory

Verification = Literal["token", "oidc", "link", "slack", "board"]
"""How the HTTP service authenticated a person (``Decision.verified_by``)."""


class UnknownPerson(LookupError):
    """The credential is good but names nobody Warroom knows; the message says why (403)."""


@dataclass(frozen=True)
class Caller:
    """An authenticated person: the one decisions are sent as."""

    person: str
    """Their handle in the directory: the ``actor`` of their decisions."""
    name: str
    """How a page names them ("Alice Ng"); the handle when there is no directory."""
    verified_by: Verification


class People:
    """The directory as the HTTP service asks it: who is this handle, email or Slack member.

    Without a directory only the handles that tokens and links carry are known
    (the operator who issued them vouched for them); nothing maps an email or a
    Slack member to anyone.
    """

    def __init__(self, directory: Directory | None) -> None:
        self.directory = directory
        self._by_email: dict[str, str] = {}
        self._by_slack: dict[str, str] = {}
        if directory is not None:
            for handle, person in directory.people.items():
                for method in person.contact:
                    if method.kind is ContactKind.EMAIL:
                        self._by_email.setdefault(method.address.strip().lower(), handle)
                    elif method.kind is ContactKind.SLACK:
                        self._by_slack.setdefault(method.address.strip(), handle)

    def caller(self, handle: str, verified_by: Verification) -> Caller:
        """The person ``handle`` as a caller; UnknownPerson if the directory does not have them."""
        if self.directory is None:
            return Caller(person=handle, name=handle, verified_by=verified_by)
        person = self.directory.person(handle)
        if person is None:
            raise UnknownPerson(f"{handle!r} is not a person in the directory")
        return Caller(person=handle, name=person.name, verified_by=verified_by)

    def by_claim(self, value: str, claim: str) -> Caller:
        """The person an OIDC ``claim`` of ``value`` names: by email contact, then by handle."""
        if self.directory is None:
            raise UnknownPerson(
                f"no directory is configured (WARROOM_DIRECTORY) to map the {claim} claim "
                "to a person"
            )
        handle = self._by_email.get(value.strip().lower())
        if handle is None and self.directory.person(value) is not None:
            handle = value
        if handle is None:
            raise UnknownPerson(
                f"{claim} {value[:200]!r} matches no person's email contact method or handle "
                "in the directory"
            )
        return self.caller(handle, "oidc")

    def by_slack(self, member_id: str) -> Caller | None:
        """The person whose ``slack`` contact method is ``member_id``, or None."""
        handle = self._by_slack.get(member_id.strip())
        return None if handle is None else self.caller(handle, "slack")
