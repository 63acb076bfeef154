"""SLO probes: ask Prometheus whether the service is back within its objectives."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import httpx
from temporalio import activity

from activities.redact import describe, safe_url, scrub
from incident.models import ProbeCheck, ProbeResult
from incident.policy import SloProbe

QUERY_TIMEOUT_SECONDS = 10.0
"""How long one PromQL query may take before Prometheus counts as not answering."""

# The comparison that failed, for the one-liner "0.82 < required >= 0.9".
_FAILED_OP = {">=": "<", ">": "<=", "<=": ">", "<": ">="}


class ProbeUnavailable(Exception):
    """Prometheus could not answer a query; the message says why, naming its URL (without
    credentials)."""


class ProbeActivities:
    """Runs the policy's PromQL probes against Prometheus's HTTP API."""

    def __init__(self, *, http: httpx.AsyncClient, prometheus_url: str | None) -> None:
        self._http = http
        self._url = prometheus_url.rstrip("/") if prometheus_url else None

    @activity.defn(name="probe.check_slos")
    async def check_slos(self, probes: list[SloProbe]) -> ProbeResult:
        """Evaluate every probe now, against ``GET {prometheus_url}/api/v1/query``.

        The result is healthy only when every query returned a value within its
        bounds; a query with no data (empty vector, NaN) is unhealthy. A query
        yielding several series (one per org, say) has every series judged: the
        worst decides, and the check names it.

        When Prometheus cannot be asked (unreachable, timed out, non-2xx,
        ``"status": "error"``, an unreadable answer) the result is unhealthy
        with ``error`` saying what happened — never healthy, and never raised:
        the workflow records it and probes again later.

        With no Prometheus configured, or no probes in the policy, the result
        is ``healthy=True, configured=False``: recovery is then judged on
        alerts alone.
        """
        now = datetime.now(UTC)
        if self._url is None or not probes:
            return ProbeResult(at=now, healthy=True, configured=False, checks=[])
        checks: list[ProbeCheck] = []
        for probe in probes:
            try:
                series = await self._query(probe)
            except ProbeUnavailable as err:
                return ProbeResult(at=now, healthy=False, checks=checks, error=str(err))
            checks.append(judge(probe, series))
        return ProbeResult(at=now, healthy=all(c.healthy for c in checks), checks=checks)

    async def _query(self, probe: SloProbe) -> list[Series]:
        """The query's series (labels and value); empty when Prometheus has no data."""
        where = f"Prometheus at {safe_url(self._url or '')}"
        try:
            response = await self._http.get(
                f"{self._url}/api/v1/query",
                params={"query": probe.query},
                timeout=httpx.Timeout(QUERY_TIMEOUT_SECONDS),
            )
        except httpx.TimeoutException as err:
            raise ProbeUnavailable(
                f"{where} did not answer within {QUERY_TIMEOUT_SECONDS:g} s"
            ) from err
        except (httpx.HTTPError, httpx.InvalidURL) as err:
            raise ProbeUnavailable(f"{where} unreachable: {describe(err, [self._url])}") from None
        try:
            return self._read(probe, response, where)
        except ProbeUnavailable as err:
            # Prometheus (or a proxy before it) may echo the request: keep its credentials out.
            raise ProbeUnavailable(scrub(str(err), [self._url])) from None

    def _read(self, probe: SloProbe, response: httpx.Response, where: str) -> list[Series]:
        """The series of one query's answer; ProbeUnavailable when it is not one."""
        payload = _json(response)
        if not response.is_success:
            raise ProbeUnavailable(
                f"{where} answered {response.status_code} for {probe.name!r}: "
                f"{_error_text(payload) or _one_line(response.text) or response.reason_phrase}"
            )
        if payload is None:
            raise ProbeUnavailable(f"{where} answered something that is not a query result")
        if payload.get("status") != "success":
            raise ProbeUnavailable(
                f"{where} refused the query for {probe.name!r}: "
                f"{_error_text(payload) or 'status ' + repr(payload.get('status'))}"
            )
        try:
            return _series(payload.get("data"))
        except _Unreadable as err:
            raise ProbeUnavailable(
                f"{where} answered {probe.name!r} with a result Warroom cannot read: {err}"
            ) from err


class _Unreadable(Exception):
    """A query answer that is not the vector or scalar a probe must yield."""


Series = tuple[dict[str, str], float]
"""One series of a query's answer: its labels and its value (NaN when it has none)."""


def _series(data: Any) -> list[Series]:
    """Every series in a ``data`` object of a query answer; none for an empty vector."""
    if not isinstance(data, dict):
        raise _Unreadable("no 'data' object")
    kind, result = data.get("resultType"), data.get("result")
    try:
        if kind == "scalar" and isinstance(result, list):
            return [({}, float(result[1]))]
        if kind == "vector" and isinstance(result, list):
            return [
                (
                    {str(k): str(v) for k, v in (sample.get("metric") or {}).items()},
                    float(sample["value"][1]),
                )
                for sample in result
            ]
    except (LookupError, TypeError, ValueError, AttributeError) as err:
        raise _Unreadable(f"malformed {kind} ({type(err).__name__}: {err})") from err
    if kind in ("scalar", "vector"):
        raise _Unreadable(f"{kind} without a 'result' list")
    raise _Unreadable(f"resultType {kind!r}; a probe must yield a vector or a scalar")


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _one_line(text: str, limit: int = 200) -> str:
    # The error lands on a one-line timeline entry; an HTML error page must not break it.
    return " ".join(text.split())[:limit]


def _error_text(payload: dict[str, Any] | None) -> str | None:
    """Prometheus's own words for a failed query: ``errorType: error``."""
    if not payload or not payload.get("error"):
        return None
    kind = payload.get("errorType")
    text = _one_line(str(payload["error"]))
    return f"{kind}: {text}" if kind else text


def _number(value: float) -> str:
    """A measurement as a person reads it: 0.82, 45.1, 1234 — no exponent for ordinary sizes."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if abs(value) >= 1000:
        return f"{value:.0f}"
    return f"{value:.4g}"


def series_name(labels: dict[str, str]) -> str:
    """``{org="acme"}``: a series as PromQL writes it (``__name__`` first, bare)."""
    name = labels.get("__name__", "")
    rest = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{rest}}}" if rest or not name else name


def _worst(probe: SloProbe, values: list[Series]) -> Series:
    """The series furthest on the wrong side: the lowest for ``>=``/``>``, else the highest."""
    low_is_bad = probe.op in (">=", ">")
    return (min if low_is_bad else max)(values, key=lambda s: s[1])


def judge(probe: SloProbe, series: float | list[Series] | None) -> ProbeCheck:
    """One probe's verdict on what it measured: every series judged, the worst deciding.

    ``series`` is what the query yielded; a bare number (or None: no data) stands
    for one series without labels. A series without a value (NaN) is not judged;
    when none has a value the probe has no data, which is never healthy.
    """
    if not isinstance(series, list):
        series = [] if series is None else [({}, series)]
    bound = f"{probe.op} {_number(probe.threshold)}"
    measured = [s for s in series if not math.isnan(s[1])]
    if not measured:
        return ProbeCheck(
            name=probe.name,
            query=probe.query,
            value=None,
            healthy=False,
            detail=f"{probe.name}: no data (required {bound})",
            series_judged=0,
        )
    labels, value = _worst(probe, measured)
    healthy = probe.holds(value)
    where = ""
    if len(series) > 1 or labels:
        where = f" at {series_name(labels)}"
        if len(measured) > 1:
            where += f", the worst of {len(measured)} series"
        if len(series) > len(measured):
            where += f" ({len(series) - len(measured)} without data not judged)"
    if healthy:
        detail = f"{probe.name} {_number(value)} ok ({bound}){where}"
    else:
        detail = f"{probe.name} {_number(value)} {_FAILED_OP[probe.op]} required {bound}{where}"
    return ProbeCheck(
        name=probe.name,
        query=probe.query,
        value=value,
        healthy=healthy,
        detail=detail,
        series=labels or None,
        series_judged=len(measured),
    )
