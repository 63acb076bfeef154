"""The shipped Prometheus rules (``incident/prometheus_rules.yaml``): the runbooks' alerts at
the runbooks' thresholds, each labelled so Warroom's routing opens the right incident.

Seed 000's alert-level table maps Critical → P0, High → P1, Warning → P2; its key
metric tables give each metric a warning and a critical threshold; seed 001's triage
checklist names four alerts and their SLOs; seed 003's alert runbooks name four more.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from incident.classify import classify
from incident.models import Alert
from incident.policy import load_policy
from incident.severity import Severity

RULES_FILE = Path(str(resources.files("incident").joinpath("prometheus_rules.yaml")))
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (apt-get install prometheus)"
)
POLICY = load_policy()


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES_FILE.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def by_name_and_severity() -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["alert"], r["labels"]["severity"]): r for r in rules()}


# Seed 000, "Key Metrics and Thresholds": (alert, op, warning, critical, service).
KEY_METRICS = [
    ("AgentExecutionSuccessRateLow", "<", 0.95, 0.80, "agents"),  # success rate < 95% / < 80%
    ("AgentExecutionTimeHigh", ">", 30, 60, "agents"),  # execution time > 30 s / > 60 s
    ("AgentQueueDepthHigh", ">", 1000, 5000, "agents"),  # queue depth > 1000 / > 5000
    ("AgentExecutionErrorRateHigh", ">", 0.05, 0.20, "agents"),  # error rate > 5% / > 20%
    ("ApiLatencyP99High", ">", 0.5, 2, "api"),  # latency p99 > 500 ms / > 2 s
    ("ApiErrorRateHigh", ">", 0.01, 0.05, "api"),  # error rate > 1% / > 5%
    ("ApiRequestRateDrop", ">", 0.20, 0.50, "api"),  # request rate drop > 20% / > 50%
    ("ApiConnectionErrorsHigh", ">", 10, 100, "api"),  # connection errors > 10 / > 100 a minute
    ("CpuUsageHigh", ">", 0.70, 0.90, "infrastructure"),  # CPU > 70% / > 90%
    ("MemoryUsageHigh", ">", 0.80, 0.95, "infrastructure"),  # memory > 80% / > 95%
    ("DiskUsageHigh", ">", 0.75, 0.90, "infrastructure"),  # disk > 75% / > 90%
    ("PodRestartsHigh", ">", 3, 10, "infrastructure"),  # pod restarts > 3 / > 10 an hour
]

# Every alert: the incident its firing opens under the shipped policy.
ROUTED = {
    # Seed 001's triage checklist, with the runbook sections of its containment actions.
    "DroviAgentRunSuccessRateLow": (
        Severity.P1,
        "agents",
        "runbooks/agentos-operations.md#a-runtime-degradation-high-failureslatency",
    ),
    "DroviAgentRunLatencyP95High": (
        Severity.P1,
        "agents",
        "runbooks/agentos-operations.md#a-runtime-degradation-high-failureslatency",
    ),
    "DroviAgentApprovalBacklogHigh": (
        Severity.P2,
        "approvals",
        "runbooks/agentos-operations.md#b-approval-backlog-growth",
    ),
    "DroviAgentQualityDriftHigh": (
        Severity.P2,
        "quality",
        "runbooks/agentos-operations.md#c-quality-drift-event",
    ),
    # Seed 003's automated alerts, each with its own alert runbook.
    "EnhancementSuccessRateLow": (
        Severity.P1,
        "enhancement",
        "runbooks/operations/alert-runbooks.md#enhancementsuccessratelow",
    ),
    "QueueDepthHigh": (
        Severity.P2,
        "enhancement",
        "runbooks/operations/alert-runbooks.md#queuedepthhigh",
    ),
    "WorkerDown": (Severity.P1, "enhancement", "runbooks/operations/alert-runbooks.md#workerdown"),
    "HighLatency": (
        Severity.P2,
        "enhancement",
        "runbooks/operations/alert-runbooks.md#highlatency",
    ),
}
SECTIONS = {
    "agents": "runbooks/incident-response.md#agent-execution",
    "api": "runbooks/incident-response.md#api-performance",
    "infrastructure": "runbooks/incident-response.md#infrastructure",
}
for _name, _op, _warn, _crit, _service in KEY_METRICS:
    # The alert-level table: a warning opens a P2, a critical a P0.
    ROUTED[f"{_name}/warning"] = (Severity.P2, _service, SECTIONS[_service])
    ROUTED[f"{_name}/critical"] = (Severity.P0, _service, SECTIONS[_service])


def firing(rule: dict[str, Any]) -> Alert:
    """The alert as Alertmanager delivers it: the rule's labels plus its name."""
    labels = {"alertname": rule["alert"], **rule["labels"]}
    return Alert(
        fingerprint=f"{rule['alert']}-{rule['labels']['severity']}",
        name=rule["alert"],
        labels=labels,
        annotations=rule["annotations"],
    )


def threshold(expr: str) -> tuple[str, float]:
    match = re.search(r"(<=|>=|==|<|>)\s*([0-9.]+)\s*$", expr)
    assert match, expr
    return match.group(1), float(match.group(2))


def test_every_alert_routes_to_its_severity_service_and_runbook() -> None:
    seen = set()
    for rule in rules():
        key = (
            rule["alert"]
            if rule["alert"] in ROUTED
            else f"{rule['alert']}/{rule['labels']['severity']}"
        )
        seen.add(key)
        found = classify([firing(rule)], POLICY)
        assert (found.severity, found.service, found.runbook_url) == ROUTED[key], key
    assert seen == set(ROUTED)  # nothing missing, nothing unaccounted for


def test_the_runbooks_own_alerts_agree_with_the_routing_rules() -> None:
    """Labels alone give the severity the policy's routing rule would: no surprise if a
    team removes the rule, and the runbook link is the same either way."""
    for rule in rules():
        routing = POLICY.routing.rule_for({"alertname": rule["alert"]})
        if routing is None:
            continue
        label_severity = POLICY.severity_named(rule["labels"]["severity"])
        assert label_severity == routing.severity, rule["alert"]
        assert rule["annotations"]["runbook_url"] == routing.runbook_url
        assert rule["labels"]["service"] == routing.service


@pytest.mark.parametrize(("name", "op", "warning", "critical", "service"), KEY_METRICS)
def test_each_key_metric_alerts_at_the_runbooks_warning_and_critical_thresholds(
    name: str, op: str, warning: float, critical: float, service: str
) -> None:
    rules_by = by_name_and_severity()
    assert threshold(rules_by[(name, "warning")]["expr"]) == (op, warning)
    assert threshold(rules_by[(name, "critical")]["expr"]) == (op, critical)
    assert rules_by[(name, "critical")]["labels"]["service"] == service


def test_the_agentos_alerts_fire_where_the_slos_end() -> None:
    """Seed 001: success >= 90%, p95 < 120 s, backlog < 20 per org, drift < 0.8; the
    recovery probes hold on the same side of the same numbers."""
    rules_by = {r["alert"]: r for r in rules()}
    assert threshold(rules_by["DroviAgentRunSuccessRateLow"]["expr"]) == ("<", 0.9)
    assert threshold(rules_by["DroviAgentRunLatencyP95High"]["expr"]) == (">=", 120)
    assert threshold(rules_by["DroviAgentApprovalBacklogHigh"]["expr"]) == (">=", 20)
    assert threshold(rules_by["DroviAgentQualityDriftHigh"]["expr"]) == (">=", 0.8)
    probes = {p.threshold: p.op for p in POLICY.recovery.probes}
    assert probes == {0.9: ">=", 120: "<", 20: "<", 0.8: "<"}
    # Containment acts on the deployment: the runtime alerts carry it.
    for name in ("DroviAgentRunSuccessRateLow", "DroviAgentRunLatencyP95High"):
        assert "deployment" in rules_by[name]["expr"]


@pytest.mark.slow
@needs_promtool
def test_promtool_accepts_the_rules() -> None:
    assert PROMTOOL is not None
    done = subprocess.run(
        [PROMTOOL, "check", "rules", str(RULES_FILE)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules())} rules found" in done.stdout


UNIT_TESTS = """
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  # Agent execution success rate 85%: below the 95% warning, above the 80% critical.
  - interval: 1m
    input_series:
      - series: 'agentos_agent_executions_total{{status="success"}}'
        values: '0+85x40'
      - series: 'agentos_agent_executions_total{{status="failure"}}'
        values: '0+15x40'
    alert_rule_test:
      - eval_time: 20m
        alertname: AgentExecutionSuccessRateLow
        exp_alerts:
          - exp_labels: {{severity: warning, service: agents}}
            exp_annotations:
              summary: Agent execution success rate is 85%
              runbook_url: runbooks/incident-response.md#agent-execution
  # 6000 queued: past both the 1000 warning and the 5000 critical.
  - interval: 1m
    input_series:
      - series: agentos_agent_queue_depth{{queue="default"}}
        values: '6000x20'
    alert_rule_test:
      - eval_time: 10m
        alertname: AgentQueueDepthHigh
        exp_alerts:
          - exp_labels: {{severity: warning, service: agents}}
            exp_annotations:
              summary: 6000 agent executions are queued
              runbook_url: runbooks/incident-response.md#agent-execution
          - exp_labels: {{severity: critical, service: agents}}
            exp_annotations:
              summary: 6000 agent executions are queued
              runbook_url: runbooks/incident-response.md#agent-execution
  # Approval backlog per org: acme at 25 alerts, globex at 5 does not.
  - interval: 1m
    input_series:
      - series: drovi_agent_approval_backlog{{org="acme"}}
        values: '25x20'
      - series: drovi_agent_approval_backlog{{org="globex"}}
        values: '5x20'
    alert_rule_test:
      - eval_time: 15m
        alertname: DroviAgentApprovalBacklogHigh
        exp_alerts:
          - exp_labels: {{severity: warning, service: approvals, org: acme}}
            exp_annotations:
              summary: 25 approvals pending for org acme (SLO below 20)
              runbook_url: runbooks/agentos-operations.md#b-approval-backlog-growth
  # A worker scraped as down for 3 minutes.
  - interval: 1m
    input_series:
      - series: up{{job="celery-worker", instance="worker-1"}}
        values: '1 1 0 0 0 0 0'
    alert_rule_test:
      - eval_time: 6m
        alertname: WorkerDown
        exp_alerts:
          - exp_labels:
              {{severity: high, service: enhancement, job: celery-worker, instance: worker-1}}
            exp_annotations:
              summary: Worker worker-1 is down
              runbook_url: runbooks/operations/alert-runbooks.md#workerdown
      - eval_time: 3m
        alertname: WorkerDown
        exp_alerts: []
"""


@pytest.mark.slow
@needs_promtool
def test_the_alerts_fire_at_the_runbooks_thresholds_in_promtool(tmp_path: Path) -> None:
    assert PROMTOOL is not None
    tests = tmp_path / "rules_test.yaml"
    tests.write_text(UNIT_TESTS.format(rules=RULES_FILE))
    done = subprocess.run(
        [PROMTOOL, "test", "rules", str(tests)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
