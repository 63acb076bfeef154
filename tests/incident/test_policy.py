"""The shipped policy carries the runbooks' numbers; a bad policy file says what is wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from incident.durations import parse_duration
from incident.policy import SHARED_POLICIES, LadderKind, Policy, PolicyError, load_policy, shared
from incident.severity import Severity


def test_severity_table_matches_the_runbook() -> None:
    policy = load_policy()
    p0, p1, p2, p3 = (policy.rule(s) for s in (Severity.P0, Severity.P1, Severity.P2, Severity.P3))
    assert (p0.response_time, p0.resolution_target, p0.status_update_every) == (
        timedelta(minutes=5),
        timedelta(hours=1),
        timedelta(minutes=15),
    )
    assert (p1.response_time, p1.resolution_target, p1.status_update_every) == (
        timedelta(minutes=15),
        timedelta(hours=4),
        timedelta(minutes=30),
    )
    assert (p2.response_time, p2.resolution_target, p2.status_update_every) == (
        timedelta(minutes=30),
        timedelta(hours=8),
        timedelta(hours=1),
    )
    assert (p3.response_time, p3.status_update_every) == (timedelta(hours=2), timedelta(days=1))
    assert p0.on_call == "All hands" and p0.executive_brief


def test_escalation_matrix_matches_the_runbook() -> None:
    policy = load_policy()
    ladder = [(s.after, s.target, s.ladder) for s in policy.rule(Severity.P0).escalation]
    assert ladder == [
        (timedelta(0), "All on-call", LadderKind.PAGING),
        (timedelta(minutes=15), "VP Engineering", LadderKind.MANAGEMENT),
        (timedelta(minutes=30), "CTO", LadderKind.MANAGEMENT),
        (timedelta(hours=1), "CEO", LadderKind.MANAGEMENT),
    ]
    p1 = [(s.after, s.target) for s in policy.rule(Severity.P1).escalation]
    assert p1 == [
        (timedelta(0), "Primary on-call"),
        (timedelta(minutes=30), "Secondary on-call"),
        (timedelta(hours=1), "Engineering Manager"),
        (timedelta(hours=2), "VP Engineering"),
    ]
    p2 = [(s.after, s.target) for s in policy.rule(Severity.P2).escalation]
    assert p2 == [
        (timedelta(0), "Primary on-call"),
        (timedelta(hours=2), "Team Lead"),
        (timedelta(hours=4), "Engineering Manager"),
    ]


def test_postmortem_deadlines_and_action_item_slas() -> None:
    policy = load_policy()
    deadlines = {
        s: (policy.rule(s).postmortem.schedule_within, policy.rule(s).postmortem.complete_within)
        for s in (Severity.P0, Severity.P1, Severity.P2, Severity.P3)
    }
    assert deadlines == {
        Severity.P0: (timedelta(hours=24), timedelta(hours=72)),
        Severity.P1: (timedelta(hours=48), timedelta(weeks=1)),
        Severity.P2: (timedelta(weeks=1), timedelta(weeks=2)),
        Severity.P3: (timedelta(weeks=2), timedelta(days=30)),
    }
    assert policy.action_item_slas == {
        "P1": timedelta(weeks=1),
        "P2": timedelta(weeks=2),
        "P3": timedelta(days=30),
        "P4": None,
    }


def test_sev_names_are_aliases() -> None:
    policy = load_policy()
    assert policy.severity_named("SEV-1") is Severity.P0
    assert policy.severity_named("sev-2") is Severity.P1
    assert policy.severity_named("SEV-3") is Severity.P2
    assert policy.severity_named("warning") is Severity.P2
    assert policy.severity_named("banana") is None


def test_p4_is_acknowledged_by_the_next_business_day() -> None:
    policy = load_policy()
    friday_evening = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    assert policy.response_deadline(Severity.P4, friday_evening) == datetime(
        2026, 11, 30, 9, 0, tzinfo=UTC
    )


def test_immediate_escalation_triggers_reach_legal() -> None:
    triggers = load_policy().escalation_triggers
    assert {"data_loss", "security_breach", "customer_sla_at_risk", "user_data_affected"} <= set(
        triggers
    )
    assert "Legal/Compliance" in triggers["user_data_affected"].notify


def _write(tmp_path: Path, old: str, new: str) -> Path:
    default = (Path(__file__).parents[2] / "incident" / "default_policy.yaml").read_text()
    assert old in default
    path = tmp_path / "policy.yaml"
    path.write_text(default.replace(old, new, 1))
    return path


def test_bad_duration_names_file_field_and_reason(tmp_path: Path) -> None:
    path = _write(tmp_path, "response_time: 5m", "response_time: 5 minutes")
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    message = str(err.value)
    assert str(path) in message
    assert "severities.P0.response_time" in message
    assert "'5 minutes' is not a duration" in message


def test_missing_severity_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "  P4:\n", "  P9:\n")
    with pytest.raises(PolicyError, match="severities"):
        load_policy(path)


def test_ladder_out_of_order_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "{after: 30m, target: CTO", "{after: 10m, target: CTO")
    with pytest.raises(PolicyError, match="in order of 'after'"):
        load_policy(path)


def test_unreadable_and_unparsable_files(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: [unclosed\n")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(broken)


@pytest.mark.parametrize("factor", [60, 120, 7])
def test_a_compressed_policy_keeps_fractions_of_a_second(factor: int) -> None:
    # The worker hands the policy to each incident as JSON: x120 makes the P0 ack
    # deadline 2.5 s, which must not arrive as 2 s.
    policy = load_policy().compressed(factor)
    assert Policy.model_validate_json(policy.model_dump_json()) == policy
    p0 = load_policy().rule(Severity.P0)
    assert isinstance(p0.response_time, timedelta)
    assert policy.rule(Severity.P0).response_time == p0.response_time / factor
    assert parse_duration("7.5s") == timedelta(seconds=7.5)
    assert parse_duration("1m 0.25s") == timedelta(seconds=60.25)


def test_incidents_with_equal_policies_share_one_object_and_no_other() -> None:
    decoded = [Policy.model_validate_json(load_policy().model_dump_json()) for _ in range(3)]
    first = shared(decoded[0])
    assert shared(decoded[1]) is first and shared(decoded[2]) is first
    compressed = shared(load_policy().compressed(60))
    assert compressed is not first and compressed == load_policy().compressed(60)
    for factor in range(2, SHARED_POLICIES + 3):  # more distinct policies than are kept
        shared(load_policy().compressed(factor))
    again = Policy.model_validate_json(load_policy().model_dump_json())
    assert shared(again) == first  # still the same answers once the first was let go
