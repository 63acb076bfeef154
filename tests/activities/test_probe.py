"""SLO probes asked of a real HTTP server on loopback that answers like Prometheus."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from activities import probe as probe_module
from activities.probe import ProbeActivities
from dev.ports import free_port
from incident.models import ProbeResult
from incident.policy import SloProbe, load_policy
from tests.support.receiver import Received, RecordingReceiver

# The runbook's first two probes as an incident of org acme runs them.
PROBES = [probe.scoped({"org": "acme"})[0] for probe in load_policy().recovery.probes[:2]]
SUCCESS, LATENCY = PROBES
assert SUCCESS.name == "agent run success rate" and LATENCY.name == "agent run p95 latency (s)"


def vector(value: str | None) -> dict[str, Any]:
    """An instant-vector answer with one sample, or an empty one for None."""
    samples = [] if value is None else [{"metric": {}, "value": [1732459800.0, value]}]
    return {"status": "success", "data": {"resultType": "vector", "result": samples}}


def scalar(value: str) -> dict[str, Any]:
    return {"status": "success", "data": {"resultType": "scalar", "result": [1732459800.0, value]}}


Answer = tuple[int, dict[str, Any]]


def prometheus(answers: Mapping[str, Answer | dict[str, Any]]) -> Callable[[Received], Any]:
    """A responder for ``GET /api/v1/query`` answering per PromQL query; 404 elsewhere."""

    def respond(request: Received) -> tuple[int, bytes]:
        url = urlsplit(request.path)
        if request.method != "GET" or url.path != "/api/v1/query":
            return 404, b"404 page not found"
        query = parse_qs(url.query)["query"][0]
        answer = answers.get(query, vector(None))
        status, body = answer if isinstance(answer, tuple) else (200, answer)
        return status, json.dumps(body).encode()

    return respond


async def check(url: str | None, probes: list[SloProbe] = PROBES) -> ProbeResult:
    async with httpx.AsyncClient() as http:
        activities = ProbeActivities(http=http, prometheus_url=url)
        return await ActivityEnvironment().run(activities.check_slos, probes)


def queries(server: RecordingReceiver) -> list[str]:
    return [parse_qs(urlsplit(r.path).query)["query"][0] for r in server.received]


async def test_recovered_service_is_healthy_with_one_line_per_probe() -> None:
    answers = {SUCCESS.query: vector("0.97"), LATENCY.query: scalar("45.1")}
    async with RecordingReceiver(respond=prometheus(answers)) as server:
        result = await check(server.url + "/")
    assert result.healthy and result.configured and result.error is None
    assert [(c.name, c.value, c.healthy) for c in result.checks] == [
        ("agent run success rate", 0.97, True),
        ("agent run p95 latency (s)", 45.1, True),
    ]
    assert [c.detail for c in result.checks] == [
        "agent run success rate 0.97 ok (>= 0.9)",
        "agent run p95 latency (s) 45.1 ok (< 120)",
    ]
    assert result.summary == "; ".join(c.detail for c in result.checks)
    assert datetime.now(UTC) - result.at < timedelta(seconds=10)
    # The policy's PromQL goes over the wire unchanged, once per probe.
    assert queries(server) == [SUCCESS.query, LATENCY.query]


async def test_success_rate_below_90_percent_is_unhealthy() -> None:
    answers = {SUCCESS.query: vector("0.82"), LATENCY.query: vector("45.1")}
    async with RecordingReceiver(respond=prometheus(answers)) as server:
        result = await check(server.url)
    assert not result.healthy and result.error is None
    success, latency = result.checks
    assert not success.healthy and success.value == 0.82
    assert success.detail == "agent run success rate 0.82 < required >= 0.9"
    assert latency.healthy


async def test_p95_latency_at_the_limit_is_unhealthy() -> None:
    answers = {SUCCESS.query: vector("0.99"), LATENCY.query: vector("120")}
    async with RecordingReceiver(respond=prometheus(answers)) as server:
        result = await check(server.url)
    assert not result.healthy
    assert result.checks[1].detail == "agent run p95 latency (s) 120 >= required < 120"


@pytest.mark.parametrize(
    "latency",
    [vector(None), vector("NaN")],
    ids=["empty vector", "NaN from histogram_quantile"],
)
async def test_no_data_is_unhealthy(latency: dict[str, Any]) -> None:
    answers = {SUCCESS.query: vector("0.99"), LATENCY.query: latency}
    async with RecordingReceiver(respond=prometheus(answers)) as server:
        result = await check(server.url)
    assert not result.healthy and result.error is None
    check_ = result.checks[1]
    assert (check_.value, check_.healthy) == (None, False)
    assert check_.detail == "agent run p95 latency (s): no data (required < 120)"


async def test_prometheus_answering_500_is_never_healthy() -> None:
    answers: dict[str, Answer | dict[str, Any]] = {
        SUCCESS.query: (500, {"status": "error", "errorType": "internal", "error": "boom"})
    }
    async with RecordingReceiver(respond=prometheus(answers)) as server:
        result = await check(url := server.url)
    assert not result.healthy and result.configured
    assert result.error == (
        f"Prometheus at {url} answered 500 for 'agent run success rate': internal: boom"
    )
    assert result.summary.startswith("SLO probes could not run: Prometheus at http://127.0.0.1:")


async def test_a_plain_text_error_page_is_quoted_on_one_line() -> None:
    async with RecordingReceiver(
        respond=lambda _request: (503, b"Service\n  Unavailable\n")
    ) as server:
        result = await check(url := server.url)
    assert not result.healthy
    assert result.error == (
        f"Prometheus at {url} answered 503 for 'agent run success rate': Service Unavailable"
    )


async def test_prometheus_refusing_the_query_is_never_healthy() -> None:
    # Prometheus answers a bad query with 400 and its own reason...
    refused = {"status": "error", "errorType": "bad_data", "error": "parse error at char 5"}
    answers: dict[str, Answer | dict[str, Any]] = {
        SUCCESS.query: vector("0.99"),
        LATENCY.query: (400, refused),
    }
    async with RecordingReceiver(respond=prometheus(answers)) as server:
        result = await check(server.url)
    assert not result.healthy
    assert result.error is not None
    assert "answered 400 for 'agent run p95 latency (s)': bad_data: parse error" in result.error
    # ...and the probes judged before the failure are kept for the timeline.
    assert [c.name for c in result.checks] == ["agent run success rate"]


async def test_status_error_in_a_200_answer_is_never_healthy() -> None:
    answers = {SUCCESS.query: {"status": "error", "errorType": "timeout", "error": "too slow"}}
    async with RecordingReceiver(respond=prometheus(answers)) as server:
        result = await check(url := server.url)
    assert not result.healthy
    assert result.error == (
        f"Prometheus at {url} refused the query for 'agent run success rate': timeout: too slow"
    )


@pytest.mark.parametrize(
    "body",
    [
        b"<html>not prometheus</html>",
        json.dumps({"status": "success", "data": {"resultType": "matrix", "result": []}}).encode(),
        json.dumps({"status": "success", "data": {"resultType": "vector"}}).encode(),
        json.dumps({"status": "success", "data": {"resultType": "scalar", "result": []}}).encode(),
    ],
    ids=["not JSON", "range vector", "no result", "malformed scalar"],
)
async def test_an_answer_that_cannot_be_read_is_an_error_not_a_crash(body: bytes) -> None:
    async with RecordingReceiver(respond=lambda _request: (200, body)) as server:
        result = await check(url := server.url)
    assert not result.healthy and result.checks == []
    assert result.error is not None and result.error.startswith(f"Prometheus at {url} ")


async def test_unreachable_prometheus_is_never_healthy_and_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = await check(url)
    assert not result.healthy and result.configured and result.checks == []
    assert result.error == f"Prometheus at {url} unreachable: connection refused"


@asynccontextmanager
async def silent_server() -> AsyncIterator[str]:
    """Accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_prometheus_that_does_not_answer_in_time_is_never_healthy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(probe_module, "QUERY_TIMEOUT_SECONDS", 0.2)
    async with silent_server() as url:
        result = await check(url)
    assert not result.healthy
    assert result.error == f"Prometheus at {url} did not answer within 0.2 s"


async def test_without_prometheus_recovery_is_judged_on_alerts_alone() -> None:
    result = await check(None)
    assert (result.healthy, result.configured, result.checks, result.error) == (
        True,
        False,
        [],
        None,
    )
    assert result.summary == "SLO probes not configured: recovery judged on alerts alone"


async def test_a_policy_without_probes_asks_nothing() -> None:
    async with RecordingReceiver(respond=prometheus({})) as server:
        result = await check(server.url, probes=[])
    assert result.healthy and not result.configured
    assert server.received == []


def series(*samples: tuple[dict[str, str], str]) -> dict[str, Any]:
    """An instant-vector answer with one sample per (labels, value)."""
    result = [{"metric": labels, "value": [1732459800.0, value]} for labels, value in samples]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


BACKLOG, DRIFT = load_policy().recovery.probes[2:]


async def test_every_series_is_judged_and_the_worst_org_decides() -> None:
    """Approval backlog normalised for impacted orgs: one org over 20 is enough to fail."""
    backlog = series(({"org": "acme"}, "3"), ({"org": "globex"}, "27"), ({"org": "initech"}, "9"))
    unscoped = BACKLOG.scoped({})[0]  # an incident without an org: every org judged
    async with RecordingReceiver(respond=prometheus({unscoped.query: backlog})) as server:
        result = await check(server.url, [unscoped])
    (verdict,) = result.checks
    assert not result.healthy
    assert (verdict.value, verdict.series, verdict.series_judged) == (27, {"org": "globex"}, 3)
    assert verdict.detail == (
        'approval backlog per org 27 >= required < 20 at {org="globex"}, the worst of 3 series'
    )


async def test_the_first_series_no_longer_speaks_for_the_rest() -> None:
    """Drift below 0.8 for impacted role scopes: a healthy first series hides nothing."""
    scoped = DRIFT.scoped({"org": "acme"})[0]
    drift = series(
        ({"org": "acme", "role_scope": "support"}, "0.2"),
        ({"org": "acme", "role_scope": "sales"}, "0.91"),
    )
    async with RecordingReceiver(respond=prometheus({scoped.query: drift})) as server:
        result = await check(server.url, [scoped])
    assert not result.healthy
    assert result.checks[0].series == {"org": "acme", "role_scope": "sales"}
    assert 'at {org="acme", role_scope="sales"}' in result.checks[0].detail


async def test_healthy_series_name_the_closest_to_the_bound() -> None:
    answers = {SUCCESS.query: series(({"org": "acme"}, "0.99"), ({"org": "b"}, "0.93"))}
    answers[LATENCY.query] = vector("10")
    async with RecordingReceiver(respond=prometheus(answers)) as server:
        result = await check(server.url)
    assert result.healthy
    assert result.checks[0].detail == (
        'agent run success rate 0.93 ok (>= 0.9) at {org="b"}, the worst of 2 series'
    )


async def test_series_without_data_are_not_judged_but_counted() -> None:
    answers = {
        SUCCESS.query: series(({"org": "acme"}, "0.95"), ({"org": "quiet"}, "NaN")),
        LATENCY.query: series(({"org": "acme"}, "NaN")),
    }
    async with RecordingReceiver(respond=prometheus(answers)) as server:
        result = await check(server.url)
    success, latency = result.checks
    assert success.healthy and success.series_judged == 1
    assert success.detail.endswith("(1 without data not judged)")
    assert not latency.healthy and latency.detail.endswith(": no data (required < 120)")
