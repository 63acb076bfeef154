"""Probe queries scoped to the incident: placeholders filled safely, or dropped and said so.

Seed 001's exit criteria hold "for impacted orgs" and "impacted role scopes": a
probe names its scope with ``{org="{{org}}"}``-style placeholders, filled from
the incident. A label value is data, never PromQL: quotes, backslashes and
regex syntax in it match themselves and cannot reach the query around them.
"""

from __future__ import annotations

import json

import pytest

from incident.policy import PolicyError, SloProbe, load_policy, parse_policy
from incident.promql import fill, placeholders, regex_literal, string_literal_body, template_problem

BACKLOG = 'sum by (org) (drovi_agent_approval_backlog{org="{{org}}"})'


def test_a_placeholder_is_filled_with_the_incidents_value() -> None:
    scoped = fill(BACKLOG, {"org": "acme"})
    assert scoped.query == 'sum by (org) (drovi_agent_approval_backlog{org="acme"})'
    assert scoped.unscoped == []


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ('acme"} or vector(1) #', 'acme\\"} or vector(1) #'),
        ("back\\slash", "back\\\\slash"),
        ("two\nlines", "two\\nlines"),
        ("bell\x07", "bell\\x07"),
        ("ünïcødé", "ünïcødé"),
    ],
)
def test_quotes_and_backslashes_in_a_label_value_stay_inside_the_string(
    value: str, literal: str
) -> None:
    scoped = fill(BACKLOG, {"org": value})
    assert scoped.query == f'sum by (org) (drovi_agent_approval_backlog{{org="{literal}"}})'
    assert string_literal_body(value) == literal


def test_an_injection_attempt_cannot_close_the_selector() -> None:
    hostile = '"} or on() vector(0) or drovi_x{a="'
    query = fill(BACKLOG, {"org": hostile}).query
    # Exactly one string literal opens after org= and it runs to the selector's end.
    body = query[query.index('org="') + len('org="') : query.rindex('"})')]
    assert body == string_literal_body(hostile)
    unescaped_quotes = [i for i, c in enumerate(body) if c == '"' and body[i - 1] != "\\"]
    assert unescaped_quotes == []


def test_a_regex_matcher_gets_a_regex_matching_only_the_value() -> None:
    query = 'max(drovi_agent_quality_drift_score{deployment=~"{{deployment}}"})'
    scoped = fill(query, {"deployment": "agents.api+(v2)"})
    assert scoped.query == (
        'max(drovi_agent_quality_drift_score{deployment=~"agents\\\\.api\\\\+\\\\(v2\\\\)"})'
    )
    assert regex_literal("a.b|c") == "a\\.b\\|c"


@pytest.mark.parametrize(
    ("query", "scoped"),
    [
        ('x{org="{{org}}"}', "x{}"),
        ('x{org="{{org}}", status="ok"}', 'x{status="ok"}'),
        ('x{status="ok",org="{{org}}"}', 'x{status="ok"}'),
        ('x{a="1", org="{{org}}", b="2"}', 'x{a="1", b="2"}'),
        ('x{org="{{org}}",deployment="{{deployment}}"}', "x{}"),
    ],
)
def test_a_placeholder_without_a_value_drops_its_matcher_and_says_so(
    query: str, scoped: str
) -> None:
    filled = fill(query, {"org": None, "deployment": "  "})
    assert filled.query == scoped
    assert filled.unscoped == [n for n in ("org", "deployment") if n in placeholders(query)]


@pytest.mark.parametrize(
    "query",
    [
        "x > {{threshold}}",
        'x{org=~"{{org}}.*"}',
        'label_replace(x, "dst", "{{org}}", "src", "(.*)")',
        "x{org='{{org}}'}",
    ],
)
def test_a_placeholder_anywhere_but_a_whole_matcher_value_is_refused(query: str) -> None:
    assert template_problem(query) is not None
    with pytest.raises(ValueError, match="whole value of a label matcher"):
        SloProbe(name="bad", query=query, op="<", threshold=1)


def test_a_policy_file_with_an_unsafe_placeholder_is_refused_at_load() -> None:
    text = (
        load_policy()
        .model_dump_json()
        .replace('org=\\"{{org}}\\"', "org={{org}}", 1)  # the first probe, unquoted
    )
    with pytest.raises(PolicyError, match="whole value of a label matcher"):
        parse_policy(text, "team-policy.yaml")


def test_the_runbooks_four_exit_criteria_ship_as_probes() -> None:
    """Seed 001: success >= 90 %, p95 < 120 s, approval backlog < 20 per org, drift < 0.8."""
    probes = {p.name: p for p in load_policy().recovery.probes}
    criteria = {name: (p.op, p.threshold) for name, p in probes.items()}
    assert criteria == {
        "agent run success rate": (">=", 0.9),
        "agent run p95 latency (s)": ("<", 120),
        "approval backlog per org": ("<", 20),
        "quality drift score": ("<", 0.8),
    }
    assert "drovi_agent_runs_status_total" in probes["agent run success rate"].query
    assert "drovi_agent_run_duration_seconds" in probes["agent run p95 latency (s)"].query
    assert "drovi_agent_approval_backlog" in probes["approval backlog per org"].query
    assert "drovi_agent_quality_drift_score" in probes["quality drift score"].query
    assert all("org" in p.placeholders for p in probes.values())  # scoped to the impacted org


def test_older_policy_files_without_post_rollback_checks_still_load() -> None:
    data = load_policy().model_dump(mode="json")
    del data["recovery"]["after_rollback"]
    policy = parse_policy(json.dumps(data), "old.yaml")
    checks = policy.recovery.after_rollback
    assert checks.verify_after.total_seconds() == 15 * 60
    assert [p.placeholders for p in checks.probes] == [["deployment"], ["deployment"]]
