"""A directory file that cannot be used is refused naming the file, each field and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from directory.load import (
    DirectoryError,
    load_directory,
    parse_directory,
    positions_named_by,
    unfilled_positions,
)
from directory.oncall import service_named
from incident.policy import load_policy
from starter.sample import sample_directory_file

VALID = """
version: t-1
people:
  ann: {name: Ann, contact: [{kind: email, address: ann@example.com}]}
  ben: {name: Ben}
teams:
  payments: {name: Payments, members: [ann, ben], schedules: [primary]}
schedules:
  primary:
    time_zone: Europe/Berlin
    layers:
      - {name: weekly, start: 2026-01-05, members: [ann, ben]}
escalation_policies:
  default:
    levels: [{targets: [{schedule: primary}], delay: 5m}]
services:
  checkout: {team: payments, escalation_policy: default}
default_service: checkout
positions:
  VP Engineering: [ben]
"""


def _refusal(text: str, source: str = "dir.yaml") -> list[str]:
    with pytest.raises(DirectoryError) as refused:
        parse_directory(text, source)
    return str(refused.value).splitlines()


def test_a_valid_directory_loads() -> None:
    directory = parse_directory(VALID)
    assert service_named(directory, None) == ("checkout", directory.services["checkout"])
    assert directory.positions == {"VP Engineering": ["ben"]}


def test_every_name_that_names_nothing_is_refused_by_its_field() -> None:
    text = (
        VALID.replace(
            "members: [ann, ben], schedules: [primary]",
            "members: [ann, zed], schedules: [primary, nightly]",
        )
        .replace("members: [ann, ben]}", "members: [ann, yan]}")
        .replace("{schedule: primary}", "{schedule: tertiary}")
        .replace(
            "{team: payments, escalation_policy: default}",
            "{team: infra, escalation_policy: gentle}",
        )
        .replace("default_service: checkout", "default_service: billing")
        .replace("VP Engineering: [ben]", "VP Engineering: [xia]")
    )
    assert _refusal(text) == [
        "dir.yaml: invalid directory",
        "  teams.payments.members: 'zed' is not a person",
        "  teams.payments.schedules: 'nightly' is not a schedule",
        "  schedules.primary.layers.0.members: 'yan' is not a person",
        "  escalation_policies.default.levels.0.targets.0.schedule: 'tertiary' is not a schedule",
        "  services.checkout.team: 'infra' is not a team",
        "  services.checkout.escalation_policy: 'gentle' is not an escalation policy",
        "  positions.VP Engineering: 'xia' is not a person",
        "  default_service: 'billing' is not a service",
    ]


def test_an_override_and_a_target_must_name_people_and_teams() -> None:
    text = VALID.replace(
        "      - {name: weekly, start: 2026-01-05, members: [ann, ben]}",
        "      - {name: weekly, start: 2026-01-05, members: [ann, ben]}\n"
        "    overrides:\n"
        "      - {person: zed, start: '2026-03-01T09:00:00Z', end: '2026-03-02T09:00:00Z'}",
    ).replace("[{schedule: primary}]", "[{person: ghost}, {team: nobody}]")
    assert _refusal(text)[1:] == [
        "  schedules.primary.overrides.0.person: 'zed' is not a person",
        "  escalation_policies.default.levels.0.targets.0.person: 'ghost' is not a person",
        "  escalation_policies.default.levels.0.targets.1.team: 'nobody' is not a team",
    ]


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        (
            ("time_zone: Europe/Berlin", "time_zone: Mars/Olympus"),
            "schedules.primary.time_zone",
            "'Mars/Olympus' is not an IANA time zone",
        ),
        (
            ("delay: 5m", "delay: soon"),
            "escalation_policies.default.levels.0.delay",
            "'soon' is not a duration",
        ),
        (
            ("{name: weekly, start:", "{name: weekly, rotation: custom, start:"),
            "schedules.primary.layers.0",
            "'turn' is required for a custom rotation",
        ),
        (
            ("ben: {name: Ben}", "Ben: {name: Ben}"),
            "people.Ben.[key]",
            "String should match pattern",
        ),
        (
            ("version: t-1", "version: t-1\ncolour: blue"),
            "colour",
            "Extra inputs are not permitted",
        ),
        (
            ("{schedule: primary}", "{schedule: primary, person: ann}"),
            "escalation_policies.default.levels.0.targets.0",
            "exactly one of schedule, person or team",
        ),
    ],
)
def test_a_field_that_cannot_be_used_is_named_with_the_reason(
    change: tuple[str, str], field: str, reason: str
) -> None:
    old, new = change
    assert old in VALID
    lines = _refusal(VALID.replace(old, new))
    assert lines[0] == "dir.yaml: invalid directory"
    assert any(line.startswith(f"  {field}: ") and reason in line for line in lines[1:]), lines


def test_yaml_that_is_not_a_mapping_or_not_yaml_is_refused() -> None:
    assert _refusal("- a\n- b\n") == ["dir.yaml: expected a mapping at the top level"]
    assert _refusal("people: [\n")[0].startswith("dir.yaml: not valid YAML:")


def test_a_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(DirectoryError, match=f"^{missing}: cannot read directory file: No such"):
        load_directory(missing)
    written = tmp_path / "dir.yaml"
    written.write_text(VALID.replace("default_service: checkout", "default_service: billing"))
    with pytest.raises(DirectoryError, match=f"^{written}: invalid directory\n  default_service"):
        load_directory(written)


def test_the_sample_fills_every_position_the_shipped_policy_names() -> None:
    policy = load_policy()
    sample = load_directory(sample_directory_file())
    assert unfilled_positions(sample, policy) == []
    named = positions_named_by(policy)
    for name in (
        "VP Engineering",
        "CTO",
        "CEO",
        "Engineering Manager",
        "Team Lead",
        "Security Lead",
        "Legal/Compliance",
        "Executive updates",
    ):
        assert name in named
    # The paging ladders are the escalation policy's to answer, not positions.
    assert "Primary on-call" not in named and "All on-call" not in named


def test_the_sample_is_what_the_local_stack_promises() -> None:
    sample = load_directory(sample_directory_file())
    assert set(sample.services) == {"checkout", "api"} and sample.default_service == "api"
    assert {s.channel for s in sample.services.values()} == {"#inc-platform"}
    assert sample.teams["platform"].schedules == ["primary", "secondary"]
    primary = sample.schedules["primary"].layers[0]
    assert (primary.rotation, primary.handoff.isoformat(), primary.start.weekday()) == (
        "weekly",
        "09:00:00",
        0,
    )
    assert len(primary.members) == 3
    assert sample.schedules["primary"].time_zone == "Europe/London"
    for handle, person in sample.people.items():
        kinds = {(c.kind.value, c.address) for c in person.contact}
        assert ("console", handle) in kinds
        assert any(kind == "email" for kind, _ in kinds)
    policy = sample.escalation_policies["platform-default"]
    assert [
        (lvl.targets[0].model_dump(exclude_none=True), lvl.delay.total_seconds())
        for lvl in policy.levels
    ][:2] == [({"schedule": "primary"}, 300), ({"schedule": "secondary"}, 600)]
    assert policy.levels[2].targets[0].person in sample.positions["Team Lead"]
    assert policy.repeat == 1
