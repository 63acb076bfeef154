"""SLO probes: ask Prometheus whether the service is back within its objectives."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import httpx
from temporalio import activity

from incident.models import ProbeCheck, ProbeResult
from incident.policy import SloProbe

TIMEOUT = httpx.Timeout(10.0)


class ProbeUnavailable(Exception):
    """Prometheus could not answer a query."""


class ProbeActivities:
    """Runs the policy's PromQL probes against Prometheus's HTTP API."""

    def __init__(self, *, http: httpx.AsyncClient, prometheus_url: str | None) -> None:
        self._http = http
        self._url = prometheus_url.rstrip("/") if prometheus_url else None

    @activity.defn(name="probe.check_slos")
    async def check_slos(self, probes: list[SloProbe]) -> ProbeResult:
        """Evaluate every probe now.

        Healthy only when every query returned a value within bounds. When
        Prometheus cannot be asked, the result is unhealthy with the reason —
        never healthy. With no Prometheus configured (or no probes), the
        result says so and recovery is judged on alerts alone.
        """
        now = datetime.now(UTC)
        if self._url is None or not probes:
            return ProbeResult(at=now, healthy=True, configured=False)
        checks: list[ProbeCheck] = []
        for probe in probes:
            try:
                value = await self._query(probe.query)
            except ProbeUnavailable as err:
                return ProbeResult(at=now, healthy=False, checks=checks, error=str(err))
            checks.append(_judge(probe, value))
        return ProbeResult(at=now, healthy=all(c.healthy for c in checks), checks=checks)

    async def _query(self, promql: str) -> float | None:
        url = f"{self._url}/api/v1/query"
        try:
            response = await self._http.get(url, params={"query": promql}, timeout=TIMEOUT)
        except httpx.HTTPError as err:
            raise ProbeUnavailable(
                f"Prometheus at {self._url} unreachable: {err or type(err).__name__}"
            ) from err
        if response.status_code != 200:
            raise ProbeUnavailable(
                f"Prometheus at {self._url} answered {response.status_code}: {response.text[:200]}"
            )
        try:
            payload = response.json()
        except ValueError as err:
            raise ProbeUnavailable(f"Prometheus at {self._url} answered non-JSON") from err
        if payload.get("status") != "success":
            raise ProbeUnavailable(
                f"Prometheus at {self._url} refused the query: {payload.get('error', payload)}"
            )
        data = payload.get("data", {})
        result = data.get("result")
        if data.get("resultType") == "scalar" and isinstance(result, list):
            return float(result[1])
        if isinstance(result, list) and result:
            return float(result[0]["value"][1])
        return None


def _judge(probe: SloProbe, value: float | None) -> ProbeCheck:
    bound = f"{probe.op} {probe.threshold:g}"
    if value is None or math.isnan(value):
        return ProbeCheck(
            name=probe.name,
            query=probe.query,
            value=None,
            healthy=False,
            detail=f"{probe.name}: no data (needs {bound})",
        )
    healthy = probe.holds(value)
    verdict = f"ok ({bound})" if healthy else f"out of bounds (needs {bound})"
    return ProbeCheck(
        name=probe.name,
        query=probe.query,
        value=value,
        healthy=healthy,
        detail=f"{probe.name} {value:.4g} {verdict}",
    )
