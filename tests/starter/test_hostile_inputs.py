"""Hostile alert content through the real hooks, into a live dev server, worker and Postgres.

Label maps, annotations and group keys hold whatever a sender puts there: NUL and
other control characters, CJK, emoji, paths, thousands of characters. Every such
notification gets either a 4xx that names the problem (and starts nothing) or an
incident that is declared, running and has paged; never a 5xx, never a run the
server ends, never a control-plane action aimed at a label that is not an id.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import Phase as HypothesisPhase
from hypothesis import strategies as st
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from incident import bounds
from incident.containment import TARGET
from incident.ids import incident_workflow_id
from incident.lifecycle import TITLE_BYTES
from incident.models import IncidentState, Phase
from incident.policy import Policy, load_policy
from incident.search_attributes import INCIDENT_SERVICE
from starter.api import IncidentHandle
from starter.hooks.settings import HookSettings
from tests.reliability.invariants import recorded_state, server_refusals
from tests.support.harness import Harness
from tests.support.hooks import running_hooks
from tests.support.wait import eventually
from workflows.incident import IncidentWorkflow

TOKEN = "h0stile-token"
FIRING_ENDS_AT = "0001-01-01T00:00:00Z"
PAGES = ("declaration", "escalation")
MAX_BODY = 1024 * 1024
"""The hooks' default body limit (``WARROOM_HOOKS_MAX_BODY``)."""
WITHIN = 10.0
"""Seconds an accepted notification has to become a declared incident that paged."""
EXAMPLES = 25
SEED = int(os.environ.get("WARROOM_HOSTILE_SEED", random.randrange(2**32)))
"""Set WARROOM_HOSTILE_SEED to the seed a failure printed to run the same examples again."""


@pytest.fixture
async def hooks(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    settings_ = HookSettings(task_queue=harness.task_queue, tokens=(TOKEN,))
    async with (
        running_hooks(settings_, harness.client) as url,
        httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        ) as http,
    ):
        yield http


def notification(group_key: str, alerts: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """An Alertmanager webhook (version 4) notification of firing ``alerts``."""
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "warroom",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": alerts,
        **extra,
    }


def alert(
    fingerprint: str, labels: dict[str, str], annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "status": "firing",
        "labels": labels,
        "annotations": annotations or {},
        "startsAt": "2026-11-24T10:00:00Z",
        "endsAt": FIRING_ENDS_AT,
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
        "fingerprint": fingerprint,
    }


def utf8(text: str) -> int:
    return len(text.encode())


def encoded(body: dict[str, Any]) -> bytes:
    """The body exactly as posted (UTF-8, NUL as ``\\u0000``)."""
    return json.dumps(body, ensure_ascii=False).encode()


async def post(hooks: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await hooks.post(
        "/hooks/alertmanager", content=encoded(body), headers={"Content-Type": "application/json"}
    )


def incident_of(harness: Harness, group_key: str) -> IncidentHandle:
    return harness.client.get_workflow_handle_for(
        IncidentWorkflow.run, incident_workflow_id("alertmanager", group_key)
    )


async def declared_and_paged(harness: Harness, incident: IncidentHandle) -> IncidentState:
    """Wait until ``incident`` is triaged (or later) and its first page reached the channel."""
    state = await harness.until(incident, lambda s: s.phase is not Phase.DETECTED, within=WITHIN)

    def paged() -> bool:
        pages = [b for b in harness.notices() if b["kind"] in PAGES]
        return any(b["incident"]["human_id"] == state.human_id for b in pages)

    await eventually(paged, within=WITHIN)
    description = await incident.describe()
    assert description.status is WorkflowExecutionStatus.RUNNING, description.status
    return state


async def started(incident: IncidentHandle) -> bool:
    try:
        await incident.describe()
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def no_refusals(harness: Harness) -> None:
    assert await server_refusals(harness.client, harness.task_queue) == []


def storable(text: str) -> str:
    """``text`` as Postgres keeps it: NUL as U+FFFD."""
    return text.replace("\x00", "\ufffd")


async def stored(harness: Harness, state: IncidentState) -> tuple[Any, list[Any]]:
    connection = await asyncpg.connect(harness.database_url)
    try:
        row = await connection.fetchrow(
            "SELECT title, service, dedup_key, phase, last_seq FROM incidents WHERE human_id = $1",
            state.human_id,
        )
        events = await connection.fetch(
            "SELECT seq, kind, text FROM timeline WHERE human_id = $1 ORDER BY seq",
            state.human_id,
        )
    finally:
        await connection.close()
    return row, list(events)


# --- the property run -----------------------------------------------------------------

HOSTILE = st.sampled_from(
    [
        "\x00", "\x01", "\x07", "\x1b", "\x7f", "\u0085", "\u2028", "\u202e", "\ufeff",
        "\ufffd", "\n", "\r", "\t", "\\", '"', "'", "{", "}", "/", "?", "%", "..", " ",
        "中", "文", "漢", "字", "あ", "한", "🔥", "😀", "👩‍💻", "🏳️‍🌈", "\u0301", "ℵ",
    ]
)  # fmt: skip
PLAYBOOK_ALERTS = sorted(
    {p.match["alertname"] for p in load_policy().containment.playbooks if "alertname" in p.match}
)
"""Alert names the shipped playbooks answer with containment aimed at a label's value."""
IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,40}", fullmatch=True)
CHARACTERS = st.one_of(HOSTILE, st.characters(codec="utf-8"))
"""Any character that is text (no lone surrogates: they cannot be sent as UTF-8)."""
SHORT_TEXT = st.one_of(st.text(max_size=40), st.lists(HOSTILE, max_size=20).map("".join))


@st.composite
def hostile_text(draw: st.DrawFn, max_chars: int = 3000) -> str:
    """Arbitrary text: short and anything, or a hostile pattern repeated up to ``max_chars``."""
    if draw(st.booleans()):
        return draw(SHORT_TEXT)
    unit = draw(st.lists(CHARACTERS, min_size=1, max_size=8).map("".join))
    length = draw(st.integers(min_value=1, max_value=max_chars))
    return (unit * (length // len(unit) + 1))[:length]


@st.composite
def label_maps(draw: st.DrawFn) -> dict[str, str]:
    """1..150 labels whose names and values are arbitrary text."""
    # Mostly within MAX_LABELS (cut, never refused); one time in five over it (refused).
    high = draw(st.sampled_from([8, 8, bounds.MAX_LABELS, bounds.MAX_LABELS, 150]))
    low = bounds.MAX_LABELS + 1 if high > bounds.MAX_LABELS else 1
    count = draw(st.integers(min_value=low, max_value=high))
    labels: dict[str, str] = {}
    for key in draw(st.lists(hostile_text(), max_size=min(count, 4), unique=True)):
        labels[key] = draw(hostile_text())
    values = draw(st.lists(hostile_text(), min_size=1, max_size=3))
    prefix = draw(SHORT_TEXT)
    index = 0
    while len(labels) < count:  # the rest: distinct names, hostile values, cheaply drawn
        labels.setdefault(f"{prefix}{index}", values[index % len(values)])
        index += 1
    if draw(st.booleans()):
        labels["alertname"] = draw(
            st.one_of(hostile_text(max_chars=400), st.sampled_from(PLAYBOOK_ALERTS))
        )
    for target_label in ("deployment", "trigger"):
        if draw(st.booleans()):
            labels[target_label] = draw(st.one_of(hostile_text(), IDS))
    if draw(st.booleans()):
        labels["severity"] = draw(st.sampled_from(["critical", "warning", "info", "none"]))
    return labels


@st.composite
def notifications(draw: st.DrawFn) -> dict[str, Any]:
    alerts = []
    for index in range(draw(st.integers(min_value=1, max_value=2))):
        annotations = {"summary": draw(hostile_text())}
        if draw(st.booleans()):
            annotations["description"] = draw(hostile_text(max_chars=9000))
        if draw(st.booleans()):
            annotations[draw(hostile_text(max_chars=300))] = draw(hostile_text())
        alerts.append(alert(f"{index}{draw(st.uuids()).hex}", draw(label_maps()), annotations))
    return notification(draw(hostile_text(max_chars=4000)), alerts)


def collect(count: int) -> list[dict[str, Any]]:
    """``count`` examples drawn by hypothesis from ``SEED``, each with its own group key.

    Workflow IDs are the namespace's, not the test's: each key gets a suffix of its
    own, so no two examples (and no other test) land on one incident. An empty key
    stays empty.
    """
    cases: list[dict[str, Any]] = []

    @seed(SEED)
    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[HypothesisPhase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(notifications())
    def gather(case: dict[str, Any]) -> None:
        cases.append(case)

    gather()
    run = uuid.uuid4().hex[:8]
    for index, case in enumerate(cases):
        case["groupKey"] += f"#{run}-{index}" if case["groupKey"] else ""
    return cases


def refusal(body: dict[str, Any]) -> tuple[int, str] | None:
    """The 4xx (status, words the error must contain) a documented limit gives, or None."""
    if len(encoded(body)) > MAX_BODY:
        return 413, "body over"
    if not body["groupKey"]:
        return 422, "groupKey"
    for index, sent in enumerate(body["alerts"]):
        if len(sent["labels"]) > bounds.MAX_LABELS:
            return 422, f"alerts.{index}.labels"
        if len(sent["annotations"]) > bounds.MAX_LABELS:
            return 422, f"alerts.{index}.annotations"
    return None


def kept(sent: str, value: str, max_bytes: int) -> bool:
    """``value`` is ``sent`` whole, or cut on a character boundary and marked."""
    if utf8(sent) <= max_bytes:
        return value == sent
    head = value.removesuffix(bounds.MARKER)
    return value.endswith(bounds.MARKER) and utf8(value) <= max_bytes and sent.startswith(head)


def show(body: dict[str, Any]) -> str:
    """An example for a failure message: the seed that draws it again, and its start."""
    text = repr(body)
    return f"WARROOM_HOSTILE_SEED={SEED}: {text[:1500]}{'…' if len(text) > 1500 else ''}"


def containment_problems(state: IncidentState, policy: Policy) -> list[str]:
    """How the incident's containment strays from its playbooks: an action aimed at a label
    that is not an id, or a playbook step neither proposed nor skipped with its reason."""
    problems = [
        f"{a.title} is aimed at a target that is not an id"
        for a in state.containment
        if not TARGET.fullmatch(a.target)
    ]
    skipped = [e.text for e in state.timeline if e.kind == "containment_skipped"]
    for playbook in policy.containment.playbooks:
        if any(state.labels.get(k) != v for k, v in playbook.match.items()):
            continue
        for step in playbook.actions:
            target = state.labels.get(step.target_label)
            if target is not None and TARGET.fullmatch(target):
                if not any(a.kind is step.kind and a.target == target for a in state.containment):
                    problems.append(f"{step.kind.label} {target!r} was not proposed")
            elif not any(
                step.kind.label in text and f"'{step.target_label}' label" in text
                for text in skipped
            ):
                problems.append(f"{step.kind.label} on {target!r} was not skipped with a reason")
    return problems


async def answered(
    harness: Harness, hooks: httpx.AsyncClient, policy: Policy, body: dict[str, Any]
) -> bool:
    """Post one example and check what followed; whether it was accepted."""
    response = await post(hooks, body)
    assert response.status_code < 500, (response.status_code, response.text)
    expected = refusal(body)
    incident = incident_of(harness, body["groupKey"])
    if response.status_code >= 400:
        # Alertmanager drops a refused notification for good: only a documented limit
        # may refuse one, and the answer says which.
        assert expected is not None, f"refused, not cut: {response.status_code} {response.text}"
        answer = response.json()
        assert (response.status_code, bool(answer.get("error"))) == (expected[0], True), answer
        assert expected[1] in answer["error"], answer
        assert not await started(incident), "a refused notification opened an incident"
        return False
    assert expected is None, f"accepted over a limit ({expected}): {response.text}"
    assert response.status_code == 202, response.text
    assert response.json()["incident"]["workflow_id"] == incident.id
    state = await declared_and_paged(harness, incident)
    assert state.dedup_key == body["groupKey"]
    assert utf8(state.title) <= TITLE_BYTES
    # The incident keeps the labels of its lead alert: whole, or cut and marked.
    assert _lead(body, state) is not None, list(state.labels)[:20]
    assert containment_problems(state, policy) == []
    return True


async def test_arbitrary_notifications_get_a_named_4xx_or_an_incident_that_pages(
    harness: Harness, hooks: httpx.AsyncClient, policy: Policy
) -> None:
    cases = collect(EXAMPLES)
    assert len(cases) >= EXAMPLES - 5, f"seed {SEED}: only {len(cases)} examples"
    accepted: list[str] = []
    for body in cases:
        try:
            if await answered(harness, hooks, policy, body):
                accepted.append(body["groupKey"])
        except AssertionError as err:
            raise AssertionError(f"{err}\nexample ({show(body)})") from err
    assert accepted, f"seed {SEED}: no example was accepted"
    # Refused examples started nothing: the queue holds exactly the accepted incidents.
    listed = {
        w.id async for w in harness.client.list_workflows(f"TaskQueue = '{harness.task_queue}'")
    }
    assert listed == {incident_of(harness, key).id for key in accepted}
    await no_refusals(harness)


def _lead(body: dict[str, Any], state: IncidentState) -> dict[str, Any] | None:
    """The alert sent whose labels the incident kept (whole, or cut and marked), if any."""
    alerts: list[dict[str, Any]] = body["alerts"]
    for sent in alerts:
        if all(
            name in state.labels and kept(value, state.labels[name], bounds.LABEL_VALUE_BYTES)
            for name, value in sent["labels"].items()
            if utf8(name) <= bounds.LABEL_NAME_BYTES
        ):
            return sent
    return None


# --- targeted cases -------------------------------------------------------------------


async def test_a_3000_character_service_with_nul_is_cut_paged_and_stored(
    harness: Harness, hooks: httpx.AsyncClient
) -> None:
    service = ("agents\x00api-" * 300)[:3000]
    key = f'{{}}/{{severity="critical"}}:{{alertname="NulService",run="{uuid.uuid4()}"}}'
    body = notification(
        key,
        [alert("nul1", {"alertname": "NulService", "severity": "critical", "service": service})],
    )
    response = await post(hooks, body)
    assert response.status_code == 202, response.text
    incident = incident_of(harness, key)
    state = await declared_and_paged(harness, incident)

    assert kept(service, state.service or "", bounds.LABEL_VALUE_BYTES)
    assert "\x00" in (state.service or "")
    page = next(
        b for b in harness.notices("declaration") if b["incident"]["human_id"] == state.human_id
    )
    assert page["incident"]["service"] == state.service
    # The Web UI's (and `warroom list`'s) service filter: printable, within the limit.
    description = await incident.describe()
    shown = description.typed_search_attributes.get(INCIDENT_SERVICE)
    assert shown is not None and "\x00" not in shown and "\ufffd" in shown
    assert utf8(shown) <= bounds.SEARCH_ATTRIBUTE_BYTES

    state = await recorded_state(incident, within=WITHIN)
    row, events = await stored(harness, state)
    assert row is not None, "no incidents row in Postgres"
    assert row["service"] == storable(state.service or "")
    assert "\x00" not in row["title"] and row["title"] == storable(state.title)
    assert (row["dedup_key"], row["phase"], row["last_seq"]) == (
        key,
        state.phase.value,
        state.timeline_seq,
    )
    assert [(e["seq"], e["kind"], e["text"]) for e in events] == [
        (e.seq, e.kind, storable(e.text)) for e in state.timeline
    ]
    detected = next(e for e in events if e["kind"] == "detected")
    assert "\ufffd" in detected["text"]  # "NulService on agents\ufffdapi-…"
    await no_refusals(harness)


async def test_a_600_byte_cjk_summary_pages_with_a_summary_the_server_takes(
    harness: Harness, hooks: httpx.AsyncClient
) -> None:
    summary = ("数据库连接池耗尽" * 25)[:200]
    assert utf8(summary) == 600
    key = f'{{}}/{{severity="critical"}}:{{alertname="CjkSummary",run="{uuid.uuid4()}"}}'
    body = notification(
        key,
        [
            alert(
                "cjk1",
                {"alertname": "CjkSummary", "severity": "critical", "service": "支付"},
                {"summary": summary, "description": summary * 20},
            )
        ],
    )
    response = await post(hooks, body)
    assert response.status_code == 202, response.text
    incident = incident_of(harness, key)
    state = await declared_and_paged(harness, incident)
    assert kept(summary, state.title, TITLE_BYTES)  # whole in bytes, or cut and marked
    assert kept(summary * 20, state.summary, bounds.ANNOTATION_VALUE_BYTES)
    pages = [
        b
        for b in harness.notices()
        if b["kind"] in PAGES and b["incident"]["human_id"] == state.human_id
    ]
    assert {b["kind"] for b in pages} == {"declaration", "escalation"}  # P0: paged at once
    assert all(b["incident"]["title"] == state.title for b in pages)
    # The Web UI's one-line summary: cut on a character boundary to 200 bytes, marked.
    line = await (await incident.describe()).static_summary()
    assert line is not None and utf8(line) <= bounds.SUMMARY_BYTES
    assert line.endswith("…") and summary.startswith(line.removesuffix("…"))
    state = await recorded_state(incident, within=WITHIN)
    row, _ = await stored(harness, state)
    assert row is not None and row["title"] == state.title
    await no_refusals(harness)


async def test_a_path_like_deployment_label_is_skipped_never_aimed_at(
    harness: Harness, hooks: httpx.AsyncClient
) -> None:
    # The shipped playbook for this alert rolls back the alert's `deployment` and
    # disables its `trigger`; a label value that is a path must never reach the control plane.
    path = "../../orgs/acme/autonomy?"
    key = f'{{}}/{{}}:{{alertname="DroviAgentRunSuccessRateLow",run="{uuid.uuid4()}"}}'
    labels = {
        "alertname": "DroviAgentRunSuccessRateLow",
        "severity": "critical",
        "deployment": path,
        "trigger": "nightly-sync",
        "org": "acme",
    }
    body = notification(key, [alert("path1", labels, {"summary": "Agent runs failing"})])
    response = await post(hooks, body)
    assert response.status_code == 202, response.text
    incident = incident_of(harness, key)
    state = await declared_and_paged(harness, incident)
    assert any(
        b["kind"] == "escalation" and b["incident"]["human_id"] == state.human_id
        for b in harness.notices()
    )

    state = await harness.until(
        incident, lambda s: any(e.kind == "containment_skipped" for e in s.timeline)
    )
    skipped = [e.text for e in state.timeline if e.kind == "containment_skipped"]
    assert len(skipped) == 1, skipped
    assert "rollback deployment" in skipped[0]
    assert "'deployment' label cannot be a target" in skipped[0]
    assert path in skipped[0]
    # Nothing is aimed at the path; the trigger, a valid id, is proposed as the playbook says.
    assert [(a.kind.value, a.target) for a in state.containment] == [
        ("disable_trigger", "nightly-sync")
    ]
    proposed = [e.text for e in state.timeline if e.kind == "containment_proposed"]
    assert all(path not in text for text in proposed), proposed
    assert len(proposed) == 1

    state = await recorded_state(incident, within=WITHIN)
    _, events = await stored(harness, state)
    assert [e["text"] for e in events if e["kind"] == "containment_skipped"] == skipped
    await no_refusals(harness)
