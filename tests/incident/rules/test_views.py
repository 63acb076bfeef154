"""The Web UI's current details read like a person wrote them."""

from __future__ import annotations

from datetime import timedelta

from incident.impact import ComponentImpact
from incident.models import Acknowledge, PostCustomerUpdate
from incident.notices import NoticeKind
from incident.rules.views import details
from incident.severity import Severity
from tests.incident import test_lifecycle as tests_lifecycle
from tests.incident.test_lifecycle import T0, declare


def test_current_details_say_how_long_it_is_open_and_when_it_was_acknowledged() -> None:
    incident = declare()
    incident.apply(Acknowledge(actor="dana"), T0 + timedelta(seconds=30.685497))
    text = details(incident, T0 + timedelta(minutes=12, seconds=10.4), incident.pending())
    assert "open for 12 min 10 s" in text
    assert "by dana, after 31 s" in text


def test_a_long_incident_reads_in_its_two_largest_units() -> None:
    incident = declare()
    text = details(incident, T0 + timedelta(hours=26, minutes=5, seconds=3), [])
    assert "open for 1 d 2 h" in text


def test_a_customer_update_notice_carries_how_the_service_looks_to_customers() -> None:
    incident = declare(Severity.P1)
    now = T0 + timedelta(minutes=5)
    _, effects = incident.apply(
        PostCustomerUpdate(actor="cleo", impact=ComponentImpact.DEGRADED), now
    )
    [notice] = [n for n in effects.notices if n.kind is NoticeKind.CUSTOMER_UPDATE]
    assert notice.incident.customer_impact is ComponentImpact.DEGRADED
    assert tests_lifecycle.resolved_p0().brief(T0).customer_impact is ComponentImpact.OPERATIONAL
