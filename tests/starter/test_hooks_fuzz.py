"""Fuzzing the hooks: malformed input never gets a 5xx and never opens an incident."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from starter.hooks.settings import HookSettings
from tests.starter.test_hooks import am_alert, am_notification
from tests.support.harness import Harness
from tests.support.hooks import running_hooks

ENDPOINTS = ["/hooks/alertmanager", "/hooks/grafana", "/hooks/generic", "/v2/enqueue"]

VALID: dict[str, dict[str, Any]] = {
    "/hooks/alertmanager": am_notification("Fuzz", [am_alert("Fuzz", "f1")]),
    "/hooks/grafana": am_notification("Fuzz", [am_alert("Fuzz", "f1")]),
    "/hooks/generic": {"alerts": [{"dedup_key": "fuzz", "name": "Fuzz", "severity": "P2"}]},
    "/v2/enqueue": {
        "routing_key": "r",
        "event_action": "trigger",
        "dedup_key": "fuzz",
        "payload": {"summary": "s", "source": "x", "severity": "error"},
    },
}

# Values that are wrong for every field they can land in.
WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
# A number is a valid timestamp (Unix seconds) to pydantic, so it is not wrong there.
WRONG_FOR_TIMESTAMPS = st.one_of(
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
TIMESTAMPS = {"startsAt", "endsAt"}
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
REQUIRED: dict[str, list[tuple[str | int, ...]]] = {
    "/hooks/alertmanager": [
        ("version",),
        ("groupKey",),
        ("status",),
        ("receiver",),
        ("alerts",),
        ("alerts", 0, "labels"),
        ("alerts", 0, "fingerprint"),
        ("alerts", 0, "startsAt"),
        ("alerts", 0, "status"),
    ],
    "/hooks/grafana": [
        ("groupKey",),
        ("status",),
        ("alerts",),
        ("alerts", 0, "fingerprint"),
        ("alerts", 0, "startsAt"),
        ("alerts", 0, "labels"),
    ],
    "/hooks/generic": [("alerts",), ("alerts", 0, "dedup_key"), ("alerts", 0, "name")],
    "/v2/enqueue": [("routing_key",), ("event_action",)],
}


def _set(document: Any, path: tuple[Any, ...], value: Any, *, delete: bool = False) -> None:
    for key in path[:-1]:
        document = document[key]
    if delete:
        del document[path[-1]]
    else:
        document[path[-1]] = value


def _mutations(endpoint: str) -> st.SearchStrategy[bytes]:
    """Payloads invalid by construction: a required field dropped or given a wrong type."""
    paths = st.sampled_from(REQUIRED[endpoint])

    def drop(path: tuple[Any, ...]) -> bytes:
        document = copy.deepcopy(VALID[endpoint])
        _set(document, path, None, delete=True)
        return json.dumps(document).encode()

    def wrong(path: tuple[Any, ...], value: Any) -> bytes:
        document = copy.deepcopy(VALID[endpoint])
        _set(document, path, value)
        return json.dumps(document).encode()

    return st.one_of(
        paths.map(drop),
        paths.flatmap(
            lambda path: st.builds(
                wrong,
                st.just(path),
                WRONG_FOR_TIMESTAMPS if path[-1] in TIMESTAMPS else WRONG,
            )
        ),
        JSON.filter(lambda v: not isinstance(v, dict)).map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=64).filter(lambda b: not b.strip().startswith(b"{")),
    )


def _collect(strategy: st.SearchStrategy[bytes], count: int) -> list[bytes]:
    cases: list[bytes] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def gather(case: bytes) -> None:
        cases.append(case)

    gather()
    return cases


@pytest.fixture
async def hooks(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    settings_ = HookSettings(task_queue=harness.task_queue, tokens=("fuzz-token",))
    async with (
        running_hooks(settings_, harness.client) as url,
        httpx.AsyncClient(base_url=url, headers={"Authorization": "Bearer fuzz-token"}) as http,
    ):
        yield http


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_malformed_input_is_a_clear_4xx_and_opens_nothing(
    harness: Harness, hooks: httpx.AsyncClient, endpoint: str
) -> None:
    cases = _collect(_mutations(endpoint), 60)
    assert len(cases) >= 40
    for body in cases:
        response = await hooks.post(
            endpoint, content=body, headers={"Content-Type": "application/json"}
        )
        assert 400 <= response.status_code < 500, (body, response.status_code, response.text)
        answer = response.json()
        assert answer.get("error") or answer.get("errors"), (body, answer)
    opened = await harness.client.count_workflows(f'TaskQueue = "{harness.task_queue}"')
    assert opened.count == 0
