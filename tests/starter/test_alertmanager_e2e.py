"""A real Alertmanager (Debian's prometheus-alertmanager) pointed at the hook.

It opens, feeds, calms and reopens one incident per alert group, with no
duplicates, authenticating the way its ``http_config`` does.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from dev.ports import free_port
from incident.models import IncidentState, Status
from starter.api import IncidentHandle
from starter.hooks.settings import HookSettings
from tests.support.harness import Harness
from tests.support.hooks import running_hooks
from tests.support.processes import DEVNULL, start, stop
from tests.support.wait import eventually
from workflows.incident import IncidentWorkflow

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
pytestmark = pytest.mark.skipif(
    ALERTMANAGER is None,
    reason="Alertmanager not installed (apt-get install prometheus-alertmanager)",
)

CONFIG = """
route:
  receiver: warroom
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: warroom
    webhook_configs:
      - url: {url}/hooks/alertmanager
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: am-token
"""


# Real routing trees nest: the group key is every route's matchers on the way down plus
# the group labels, so six long group labels make a key of thousands of characters.
NESTED_CONFIG = """
route:
  receiver: warroom
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: ['severity=~"critical|page"']
      routes:
        - matchers: ['environment="production"', 'team="agents"']
          group_by: [alertname, cluster, namespace, deployment, region, environment, team]
receivers:
  - name: warroom
    webhook_configs:
      - url: {url}/hooks/alertmanager
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: am-token
"""


@pytest.fixture
async def alertmanager(
    request: pytest.FixtureRequest, harness: Harness, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    template = getattr(request, "param", CONFIG)
    settings = HookSettings(task_queue=harness.task_queue, tokens=("am-token",))
    async with running_hooks(settings, harness.client) as hook_url:
        config = tmp_path / "alertmanager.yml"
        config.write_text(template.format(url=hook_url))
        port = free_port()
        assert ALERTMANAGER is not None
        process = await start(
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            stdout=DEVNULL,
            stderr=DEVNULL,
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as api:
                await eventually(lambda: _ready(api))
                yield api
        finally:
            await stop(process)


async def _ready(api: httpx.AsyncClient) -> bool:
    try:
        return (await api.get("/-/ready")).status_code == 200
    except httpx.HTTPError:
        return False


async def _post(api: httpx.AsyncClient, *alerts: dict[str, object]) -> None:
    response = await api.post("/api/v2/alerts", json=list(alerts))
    assert response.status_code == 200, response.text


def _alert(name: str, instance: str, ends: datetime | None = None) -> dict[str, object]:
    now = datetime.now(UTC)
    alert: dict[str, object] = {
        "labels": {
            "alertname": name,
            "severity": "critical",
            "service": "agents",
            "instance": instance,
        },
        "annotations": {"summary": f"{name} on {instance}"},
        "startsAt": (now - timedelta(minutes=1)).isoformat(),
        "generatorURL": "http://prometheus:9090/graph",
    }
    if ends is not None:
        alert["endsAt"] = ends.isoformat()
    return alert


async def _incidents(harness: Harness) -> list[str]:
    query = f'TaskQueue = "{harness.task_queue}" AND WorkflowType = "IncidentWorkflow"'
    return [w.id async for w in harness.client.list_workflows(query)]


async def test_alertmanager_opens_feeds_calms_and_reopens(
    harness: Harness, alertmanager: httpx.AsyncClient
) -> None:
    await _post(alertmanager, _alert("AgentRunsFailing", "a-1"), _alert("AgentRunsFailing", "a-2"))
    ids = await eventually(lambda: _incidents(harness), within=30)
    assert len(ids) == 1
    incident: IncidentHandle = harness.client.get_workflow_handle_for(IncidentWorkflow.run, ids[0])
    await harness.until(incident, lambda s: len(s.alerts) == 2, within=30)

    # A third instance joins the group: same incident, no second one.
    await _post(alertmanager, _alert("AgentRunsFailing", "a-3"))
    await harness.until(incident, lambda s: len(s.alerts) == 3, within=30)

    ended = datetime.now(UTC)
    await _post(
        alertmanager, *(_alert("AgentRunsFailing", f"a-{i}", ends=ended) for i in (1, 2, 3))
    )
    state: IncidentState = await harness.until(
        incident, lambda s: s.status is Status.MONITORING, within=30
    )
    assert state.reopened == 0

    await _post(alertmanager, _alert("AgentRunsFailing", "a-1"))
    state = await harness.until(incident, lambda s: s.reopened == 1, within=30)
    assert state.status is Status.INVESTIGATING
    assert await _incidents(harness) == ids


def _nested_alert() -> dict[str, object]:
    now = datetime.now(UTC)
    # Long but real-looking group labels: generated cluster, namespace and deployment names.
    return {
        "labels": {
            "alertname": "AgentRunsFailing",
            "severity": "critical",
            "service": "agents",
            "environment": "production",
            "team": "agents",
            "cluster": "prod-eu-west-1-" + "-".join(f"pool{i:03d}" for i in range(80)),
            "namespace": "agents-" + "-".join(f"tenant{i:03d}" for i in range(70)),
            "deployment": "agent-runner-" + "-".join(f"shard{i:03d}" for i in range(80)),
            "region": "eu-west-1-" + "az" * 200,
            "instance": "runner-1",
        },
        "annotations": {"summary": "Agent runs failing in production"},
        "startsAt": (now - timedelta(minutes=1)).isoformat(),
        "generatorURL": "http://prometheus:9090/graph",
    }


@pytest.mark.parametrize("alertmanager", [NESTED_CONFIG], indirect=True)
async def test_a_nested_route_with_a_long_group_key_opens_an_incident_that_pages(
    harness: Harness, alertmanager: httpx.AsyncClient
) -> None:
    await _post(alertmanager, _nested_alert())
    ids = await eventually(lambda: _incidents(harness), within=30)
    assert len(ids) == 1
    incident: IncidentHandle = harness.client.get_workflow_handle_for(IncidentWorkflow.run, ids[0])
    state = await harness.until(incident, lambda s: len(s.alerts) == 1, within=30)
    assert state.dedup_key is not None
    assert state.dedup_key.startswith('{}/{severity=~"critical|page"}/')
    assert len(state.dedup_key) > 2000  # the whole key, as Alertmanager sent it
    await eventually(lambda: harness.paged(), within=30)
