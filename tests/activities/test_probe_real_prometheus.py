"""The probes and the shipped rules against a real Prometheus (Debian's ``prometheus``),
scraping a tiny exporter on loopback: escaped label values are valid PromQL that matches
only themselves, every series is judged, and the rules file loads and evaluates."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from activities.probe import ProbeActivities
from dev.ports import free_port
from incident.policy import load_policy
from tests.support.processes import DEVNULL, start, stop
from tests.support.receiver import Received, RecordingReceiver
from tests.support.wait import eventually

PROMETHEUS = shutil.which("prometheus")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        PROMETHEUS is None, reason="Prometheus not installed (apt-get install prometheus)"
    ),
]
RULES = Path(str(resources.files("incident").joinpath("prometheus_rules.yaml")))
HOSTILE = 'acme "eu" \\ x'
METRICS = (
    "# TYPE drovi_agent_approval_backlog gauge\n"
    'drovi_agent_approval_backlog{org="acme \\"eu\\" \\\\ x"} 25\n'
    'drovi_agent_approval_backlog{org="globex"} 5\n'
)
CONFIG = """
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [{rules}]
scrape_configs:
  - job_name: exporter
    static_configs: [{{targets: ["{exporter}"]}}]
"""
BACKLOG = next(p for p in load_policy().recovery.probes if p.name == "approval backlog per org")


def exporter(_request: Received) -> tuple[int, bytes]:
    return 200, METRICS.encode()


@pytest.fixture
async def prometheus(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with RecordingReceiver(respond=exporter) as metrics:
        config = tmp_path / "prometheus.yml"
        config.write_text(CONFIG.format(rules=RULES, exporter=metrics.url.split("//")[1]))
        port = free_port()
        assert PROMETHEUS is not None
        process = await start(
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            stdout=DEVNULL,
            stderr=DEVNULL,
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as api:
                await eventually(lambda: _scraped(api), within=60)
                yield api
        finally:
            await stop(process)


async def _scraped(api: httpx.AsyncClient) -> bool:
    try:
        answer = await api.get("/api/v1/query", params={"query": "drovi_agent_approval_backlog"})
    except httpx.HTTPError:
        return False
    return answer.status_code == 200 and len(answer.json()["data"]["result"]) == 2


async def probe(api: httpx.AsyncClient, org: str | None) -> Any:
    scoped = BACKLOG.scoped({"org": org})[0]
    activities = ProbeActivities(http=api, prometheus_url=str(api.base_url))
    return await ActivityEnvironment().run(activities.check_slos, [scoped])


async def test_an_org_with_quotes_and_backslashes_is_measured_as_itself(
    prometheus: httpx.AsyncClient,
) -> None:
    result = await probe(prometheus, HOSTILE)
    (check,) = result.checks
    assert result.error is None and (check.value, check.series) == (25, {"org": HOSTILE})
    assert not check.healthy  # a backlog of 25 is over the runbook's 20


async def test_a_value_trying_to_widen_the_query_matches_nothing(
    prometheus: httpx.AsyncClient,
) -> None:
    result = await probe(prometheus, 'x"} or drovi_agent_approval_backlog{org=~".*')
    assert result.error is None  # valid PromQL: the value stayed a string
    assert result.checks[0].detail == "approval backlog per org: no data (required < 20)"


async def test_without_an_org_every_org_is_judged_and_the_worst_named(
    prometheus: httpx.AsyncClient,
) -> None:
    result = await probe(prometheus, None)
    (check,) = result.checks
    assert (check.value, check.series, check.series_judged) == (25, {"org": HOSTILE}, 2)


async def test_the_shipped_rules_load_and_evaluate(prometheus: httpx.AsyncClient) -> None:
    async def evaluated() -> list[dict[str, Any]] | None:
        groups = (await prometheus.get("/api/v1/rules")).json()["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        return rules if all(r["health"] == "ok" for r in rules) else None

    async def backlog_alerts() -> list[dict[str, Any]]:
        alerts = (await prometheus.get("/api/v1/alerts")).json()["data"]["alerts"]
        return [a for a in alerts if a["labels"]["alertname"] == "DroviAgentApprovalBacklogHigh"]

    rules = await eventually(evaluated, within=30)
    assert len(rules) == 32
    backlog = await eventually(backlog_alerts, within=30)
    assert [a["labels"]["org"] for a in backlog] == [HOSTILE]  # pending for its 10 minutes
    assert backlog[0]["state"] == "pending"
    assert backlog[0]["labels"]["severity"] == "warning"
