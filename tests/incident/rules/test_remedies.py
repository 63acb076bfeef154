"""The decision tree acts on every branch, and the operational runbooks' scenarios map to
playbooks: remedies no control plane takes become action items with owners, and an
external dependency calls for a customer notice at once."""

from __future__ import annotations

from incident.lifecycle import Incident
from incident.models import Alert, AssignRole, IdentifyCause, Role
from incident.notices import NoticeKind
from incident.severity import Severity
from tests.incident.test_lifecycle import POLICY, T0, declare, minutes


def items(incident: Incident) -> list[tuple[str, str, str]]:
    return [(i.description, i.owner, i.priority) for i in incident.state.action_items]


def test_an_infrastructure_cause_tracks_scaling_restarting_or_failing_over() -> None:
    incident = declare(Severity.P1)
    incident.apply(AssignRole(actor="dana", role=Role.INCIDENT_COMMANDER, person="dana"), T0)
    incident.apply(AssignRole(actor="dana", role=Role.TECHNICAL_LEAD, person="tess"), T0)
    _, effects = incident.apply(IdentifyCause(actor="dana", cause="infrastructure"), minutes(3))
    assert items(incident) == [
        ("Scale, restart or fail over the failing component of the service", "tess", "P1")
    ]
    # Its owner hears that it is theirs.
    assert [n.audience for n in effects.notices if n.kind is NoticeKind.ACTION_ITEM] == ["tess"]


def test_a_code_bug_tracks_the_hotfix_until_it_is_deployed() -> None:
    incident = declare(Severity.P1)
    incident.apply(AssignRole(actor="dana", role=Role.INCIDENT_COMMANDER, person="dana"), T0)
    incident.apply(IdentifyCause(actor="dana", cause="code_bug"), minutes(3))
    # Nobody is technical lead yet: the commander owns them.
    assert items(incident) == [
        ("Hotfix for the service: implement and verify it", "dana", "P1"),
        ("Hotfix for the service: deploy it and confirm recovery", "dana", "P1"),
    ]
    incident.apply(IdentifyCause(actor="dana", cause="code_bug"), minutes(4))
    assert len(items(incident)) == 2  # told twice, tracked once


def test_an_external_dependency_tracks_the_fallback_and_asks_for_a_customer_notice() -> None:
    incident = declare(Severity.P1)
    _, effects = incident.apply(
        IdentifyCause(actor="dana", cause="external_dependency"), minutes(3)
    )
    assert [d for d, _, _ in items(incident)] == [
        "Activate the fallback or cache for the service's failing dependency"
    ]
    [prompt] = [n for n in effects.notices if n.kind is NoticeKind.CUSTOMER_REMINDER]
    assert prompt.headline.startswith("Customer update needed now for INC-")
    assert prompt.message and prompt.message.startswith("We are investigating a problem")
    assert incident.state.timeline[-1].text.startswith("Tell customers now: caused by an")


def test_the_operational_runbooks_scenarios_open_with_their_remedies_tracked() -> None:
    for alertname, first in [
        ("QueueDepthHigh", "Scale the workers draining the queue of enhancer"),
        ("WorkerDown", "Restart the failed workers of enhancer and confirm they take jobs"),
        ("HighLatency", "Check the external provider's status; switch enhancer to its fallback"),
    ]:
        alert = Alert(
            fingerprint="f",
            name=alertname,
            labels={"alertname": alertname, "service": "enhancer", "severity": "warning"},
        )
        incident, _ = Incident.open(
            human_id="INC-TEST33",
            source="alertmanager",
            dedup_key="g",
            declaration=None,
            alerts=[alert],
            policy=POLICY,
            now=T0,
        )
        incident.propose_playbooks(T0)
        tracked = [d for d, _, _ in items(incident)]
        assert tracked and tracked[0].startswith(first), (alertname, tracked)


def test_incidents_opened_before_remedies_were_tracked_replay_without_them() -> None:
    incident, _ = Incident.open(
        human_id="INC-TEST44",
        source="manual",
        dedup_key=None,
        declaration=None,
        alerts=[Alert(fingerprint="f", name="WorkerDown", labels={"alertname": "WorkerDown"})],
        policy=POLICY,
        now=T0,
        runbook_rules=False,
    )
    incident.propose_playbooks(T0)
    incident.apply(IdentifyCause(actor="dana", cause="code_bug"), minutes(3))
    assert items(incident) == []
