"""Nothing an incident writes to Temporal can get its run terminated, whatever it is sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from incident import bounds
from incident.containment import ActionKind, ActionState
from incident.ids import human_id, looks_like_human_id, normal_human_id
from incident.lifecycle import DecisionRejected, Incident
from incident.models import (
    AddNote,
    Alert,
    AlertBatch,
    AssignRole,
    CarriedIncident,
    Declaration,
    PostmortemStatus,
    ProposeContainment,
    Role,
    SubmitPostmortem,
)
from incident.notices import NoticeKind
from incident.policy import load_policy
from incident.records import pending_batch
from incident.severity import Severity

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
POLICY = load_policy()
CJK = "障害対応中です"  # 3 bytes a character


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def opened_by(alert: Alert, *, uid: str | None = "run-1") -> Incident:
    incident, _ = Incident.open(
        human_id="INC-TEST2-22222",
        uid=uid,
        source="alertmanager",
        dedup_key="group",
        declaration=None,
        alerts=[alert],
        policy=POLICY,
        now=T0,
    )
    return incident


def declared(severity: Severity = Severity.P1) -> Incident:
    incident, _ = Incident.open(
        human_id="INC-TEST2-22222",
        uid="run-1",
        source="manual",
        dedup_key=None,
        declaration=Declaration(title="Agents failing", severity=severity, actor="alice"),
        alerts=[],
        policy=POLICY,
        now=T0,
    )
    return incident


def test_clip_counts_bytes_and_marks_the_cut() -> None:
    assert bounds.clip("short", 10) == "short"
    cut = bounds.clip(CJK * 100, 200)
    assert len(cut.encode()) <= 200 and cut.endswith(bounds.MARKER)
    assert bounds.clip_line("two\nlines  here", 200) == "two lines here"


def test_alert_labels_and_annotations_are_cut_with_a_visible_marker() -> None:
    alert = Alert(
        fingerprint="f",
        name="Huge",
        labels={"severity": "critical", "service": "s" * 3000},
        annotations={"summary": CJK * 2000},
    )
    assert len(alert.labels["service"].encode()) <= bounds.LABEL_VALUE_BYTES
    assert alert.labels["service"].endswith(bounds.MARKER)
    assert len(alert.annotations["summary"].encode()) <= bounds.ANNOTATION_VALUE_BYTES
    # Two long label names alike in their first bytes stay two labels, each marked.
    twins = Alert(
        fingerprint="f", name="Twins", labels={"k" * 300 + "a": "1", "k" * 300 + "b": "2"}
    )
    assert len(twins.labels) == 2
    assert all(len(n.encode()) <= bounds.LABEL_NAME_BYTES for n in twins.labels)
    with pytest.raises(ValueError, match="at most 128"):
        Alert(fingerprint="f", name="Many", labels={f"l{i}": "v" for i in range(200)})


def test_what_the_web_ui_gets_stays_under_the_servers_limits() -> None:
    # A 3,000-character service label was answered 202, then the server terminated the
    # run before its first page: a search attribute over the limit.
    incident = opened_by(
        Alert(
            fingerprint="f",
            name="Huge",
            labels={"severity": "critical", "service": CJK * 1000},
            annotations={"summary": CJK * 2000},
        )
    )
    incident.apply(AssignRole(actor="a", role=Role.INCIDENT_COMMANDER, person=CJK * 28), at(1))
    for value in incident.search_fields().values():
        assert len(value.encode()) <= bounds.SEARCH_ATTRIBUTE_BYTES
    assert len(incident.details(at(2), incident.pending()).encode()) <= bounds.DETAILS_BYTES
    assert len(incident.state.title.encode()) <= 512


def test_an_oversized_decision_is_refused_with_the_reason() -> None:
    incident = declared()
    huge = SubmitPostmortem(
        actor="dana",
        status=PostmortemStatus.DRAFT,
        contributing_factors=[CJK * 500] * 50,  # every field within its own limit
    )
    with pytest.raises(DecisionRejected, match=r"bytes; at most 32,768"):
        incident.check(huge, at(1))
    assert incident.state.postmortem is None


def test_a_long_store_outage_keeps_the_state_under_its_budget_and_says_what_was_dropped() -> None:
    # A busy incident with Postgres down: a few hundred long notes nobody can record.
    incident = declared()
    for i in range(600):
        incident.apply(AddNote(actor="scribe", text=f"{i} " + CJK * 570), at(1))
    state = incident.state
    carried = CarriedIncident(state=state, policy=POLICY)
    assert bounds.payload_bytes(carried) <= bounds.CARRIED_STATE_BYTES
    assert state.records_lost > 0
    assert state.timeline[-1].text.startswith("599 ")  # the newest are kept

    # The store is back: what it can take goes, within the activity's input budget.
    while (batch := pending_batch(state, "wf", (None, None))) is not None:
        assert bounds.payload_bytes(batch) <= bounds.ACTIVITY_INPUT_BYTES
        incident.mark_recorded(batch, at(30))
    gap = [e for e in state.timeline if e.kind == "record_gap"]
    assert len(gap) == 1 and f"{state.records_lost} timeline event(s)" in gap[0].text


def test_a_record_the_store_refuses_is_skipped_and_said() -> None:
    incident = declared()
    batch = pending_batch(incident.state, "wf", (None, None))
    assert batch is not None
    incident.record_refused(batch, "RecordRefused: invalid byte sequence", at(1))
    assert incident.state.recorded_seq == batch.last_seq
    refused = incident.state.timeline[-1]
    assert refused.kind == "record_refused" and "invalid byte sequence" in refused.text
    after = pending_batch(incident.state, "wf", (None, None))
    assert after is not None and [e.kind for e in after.events] == ["record_refused"]


def test_human_ids_are_long_enough_never_to_meet() -> None:
    ids = {human_id("incident-alertmanager-x", f"run-{i}") for i in range(20_000)}
    assert len(ids) == 20_000
    sample = human_id("wf", "run")
    assert len(sample) == len("INC-XXXXX-XXXXX") and looks_like_human_id(sample)
    assert looks_like_human_id("inc-7k3qxd2mpa")  # as someone types it
    assert normal_human_id("inc-7k3qxd2mpa") == "INC-7K3QX-D2MPA"
    assert looks_like_human_id("INC-7K3QXD")  # incidents opened before keep their IDs


def test_two_incidents_of_one_group_never_share_a_notice_key() -> None:
    # Every incident of an alert group has the same workflow ID; a channel honouring
    # Idempotency-Key dropped the next incident's declaration and pages.
    keys = []
    for uid in ("run-1", "run-2"):
        _, effects = Incident.open(
            human_id="INC-TEST2-22222",
            uid=uid,
            source="alertmanager",
            dedup_key="group",
            declaration=None,
            alerts=[Alert(fingerprint="f", name="Disk", labels={"severity": "critical"})],
            policy=POLICY,
            now=T0,
        )
        declaration = next(n for n in effects.notices if n.kind is NoticeKind.DECLARATION)
        keys.append(declaration.idempotency_key("incident-alertmanager-same"))
    assert keys[0] != keys[1]


def test_a_refused_undo_stays_in_force_escalates_and_is_tried_again() -> None:
    incident = declared(Severity.P3)
    incident.apply(AssignRole(actor="dana", role=Role.TECHNICAL_LEAD, person="dana"), at(1))
    incident.apply(
        ProposeContainment(actor="dana", kind=ActionKind.FREEZE_PROMOTION, target="agents-api"),
        at(1),
    )
    action = incident.state.containment[0]
    incident.on_action_result(action.id, undo=False, ok=True, detail="frozen", now=at(2))
    undo = incident.compensate_all()
    assert undo == [action.id]
    effects = incident.on_action_result(
        action.id, undo=True, ok=False, detail="control plane refused (404)", now=at(12)
    )
    assert incident.state.containment[0].state is ActionState.COMPENSATING  # never "undone"
    assert incident.undoing()
    assert [n.kind for n in effects.notices] == [NoticeKind.ESCALATION]
    assert "still in force" in incident.state.timeline[-1].text
    assert "undo failing (1 attempts)" in incident.details(at(13), incident.pending())
    retry = next(t for t in incident.pending() if t.kind == "undo_retry")
    assert retry.due == at(17)
    assert incident.timer_due(retry, at(17)).undo_actions == [action.id]
    # A second failure is retried again but does not page again.
    again = incident.on_action_result(action.id, undo=True, ok=False, detail="404", now=at(27))
    assert not again.notices and action.compensation_attempts == 2
    incident.on_action_result(action.id, undo=True, ok=True, detail="unfrozen", now=at(40))
    assert action.state is ActionState.COMPENSATED and not incident.undoing()


def test_a_state_over_its_budget_is_fitted_before_it_is_carried() -> None:
    # Thousands of distinct alerts, channel outcomes and events the store never took.
    incident = declared()
    for i in range(1000):
        alert = Alert(fingerprint=f"f{i}-" + "x" * 180, name="N" * 200, labels={"s": "x"})
        incident.on_alerts(AlertBatch(source="am", alerts=[alert]), at(1))
    for i in range(400):
        incident.apply(AddNote(actor="scribe", text=f"{i} " + CJK * 300), at(2))
    incident.fit(256 * 1024)
    state = incident.state
    assert bounds.payload_bytes(state) <= 256 * 1024
    assert state.records_lost > 0 and state.alerts_untracked > 0
    assert state.timeline[-1].text.startswith("399 ")  # the newest are kept
