"""A notice travels to its activity without the fields at their defaults, and reads back whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio.contrib.pydantic import pydantic_data_converter

from incident.models import EVERY_FIELD, Phase, Status
from incident.notices import IncidentBrief, Notice, NoticeKind
from incident.severity import Severity

AT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
NOTICE = Notice(
    key="update:6",
    kind=NoticeKind.STATUS_UPDATE,
    audience="Stakeholders",
    headline="INC-1 update: identified",
    at=AT,
    incident=IncidentBrief(
        human_id="INC-1",
        title="Checkout down",
        severity=Severity.P1,
        severity_name="High",
        phase=Phase.RESPONDING,
        status=Status.IDENTIFIED,
        commander="bob",
        declared_at=AT,
        duration=timedelta(minutes=14),
    ),
)


def test_a_notice_payload_leaves_its_defaults_out_and_reads_back_the_same() -> None:
    converter = pydantic_data_converter.payload_converter
    [payload] = converter.to_payloads([NOTICE])
    sent = payload.data.decode()
    assert '"commander":"bob"' in sent
    assert "room_url" not in sent and "automatic" not in sent
    assert converter.from_payloads([payload], [Notice]) == [NOTICE]


def test_every_field_is_written_when_asked() -> None:
    whole = NOTICE.model_dump(mode="json", context=EVERY_FIELD)
    assert whole["automatic"] is False and whole["incident"]["room_url"] is None
    assert set(whole["incident"]) == set(IncidentBrief.model_fields)
