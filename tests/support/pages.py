"""A page to send in the contact senders' tests, and the check that no secret leaked."""

from __future__ import annotations

import pytest

from activities.contact import ContactOutcome, PageMessage
from incident.severity import Severity

STAND_INS = frozenset({"mail.log"})
"""Loggers of the servers standing in for providers (aiosmtpd's): they log what they
receive, which is theirs to see."""
ACK_URL = "https://warroom.example.com/ack/INC-7K3QXD?token=ack-capability-0123"


def page(**extra: object) -> PageMessage:
    """The P0 page to Alice Ng for INC-7K3QXD, with ``extra`` fields changed."""
    fields: dict[str, object] = {
        "key": "incident-INC-7K3QXD:uid-1:page:alice:1",
        "incident_id": "INC-7K3QXD",
        "severity": Severity.P0,
        "subject": "P0 INC-7K3QXD: Agent run success rate below 90%",
        "text": "Agent runs are failing.\nImpact: 40% of agent runs fail.",
        "ack_url": ACK_URL,
        "incident_url": "http://localhost:8233/namespaces/default/workflows/incident-INC-7K3QXD",
        "recipient": "Alice Ng",
        "service": "agents",
    }
    fields.update(extra)
    return PageMessage.model_validate(fields)


def assert_nothing_leaks(
    secrets: list[str], outcomes: list[ContactOutcome], caplog: pytest.LogCaptureFixture
) -> None:
    """No secret (nor the acknowledge link) in any outcome or any log record of ours or of
    the libraries we call."""
    records = [r.getMessage() for r in caplog.records if r.name not in STAND_INS]
    shown = [o.model_dump_json() for o in outcomes] + records
    for secret in [*secrets, ACK_URL, "ack-capability-0123"]:
        for text in shown:
            assert secret not in text, f"{secret!r} shown in {text!r}"
