"""The hook service: alerts in over HTTP, one durable Temporal call per incident out.

Nothing is acknowledged (2xx) that was not durably handed to Temporal: when
Temporal cannot be reached the answer is 503, which Alertmanager and
PagerDuty-style senders retry. Malformed input gets a 4xx that names the
problem, and starts nothing.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import ValidationError
from pydantic_core import PydanticSerializationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client, RPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from incident.models import AlertBatch
from starter.api import IncidentNotReady, acknowledge_by_key, opened_as, send_alerts
from starter.hooks import auth
from starter.hooks.alertmanager import AlertmanagerNotification, GrafanaNotification
from starter.hooks.fields import alert_name
from starter.hooks.generic import GenericDelivery
from starter.hooks.metrics import HookMetrics, route
from starter.hooks.pagerduty import PagerDutyEvent
from starter.hooks.settings import HookSettings
from starter.open_runs import OpenRuns
from starter.web import WebServices, mount_people_routes, unconfigured_services

GUARDED_PREFIXES = ("/hooks/", "/v2/enqueue")
LIMITED_PREFIXES = ("/api/", "/ack/", "/slack/", "/board/")
"""The people's routes: their bodies are held to the same limit; their credentials are theirs."""
RETRY_AFTER_SECONDS = "5"
_TRANSIENT = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.CANCELLED,
    RPCStatusCode.UNKNOWN,
    RPCStatusCode.INTERNAL,
    RPCStatusCode.ABORTED,
}


class TemporalUnavailable(Exception):
    """Temporal did not take the alerts; the sender should deliver them again."""


ClientSource = Callable[[], Awaitable[Client]]


def create_app(
    settings: HookSettings, client: ClientSource, people: WebServices | None = None
) -> FastAPI:
    """The HTTP service: the hooks, and the people's routers (``starter.web``).

    ``client`` returns the Temporal client (connecting lazily). ``people`` is
    how the people's routers recognise people; without it they refuse everyone.
    SettingsError when no hook credentials are configured and ``allow_open`` is
    not set: hooks that open incidents for anyone are a deliberate choice.
    """
    settings.require_credentials()
    metrics = HookMetrics()
    no_answer = f"no answer from Temporal within {settings.rpc_timeout_seconds:g}s"
    people = people or unconfigured_services(client, rpc_timeout=settings.rpc_timeout)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await people.close()

    app = FastAPI(
        title="Warroom",
        version="1",
        description="Alert hooks: Alertmanager, Grafana, PagerDuty Events v2 and generic alerts "
        "in; incidents out. Every accepted delivery is durably handed to Temporal. "
        "People: decisions over the API (personal tokens or OIDC), acknowledge links and "
        "Slack buttons, each sent as the authenticated person.",
        lifespan=lifespan,
    )
    app.add_middleware(_Guard, settings=settings, metrics=metrics)
    open_runs = OpenRuns()

    async def deliver(batch: AlertBatch, dedup_key: str, kind: str) -> dict[str, Any]:
        """Hand ``batch`` to its incident; ``kind`` is the sender's (never a client's words)."""
        for status, count in Counter(alert.status.value for alert in batch.alerts).items():
            metrics.alerts.labels(kind, status).inc(count)
        try:
            handle = await send_alerts(
                await client(),
                batch,
                dedup_key=dedup_key,
                task_queue=settings.task_queue,
                rpc_timeout=settings.rpc_timeout,
                open_runs=open_runs,
            )
        except RPCError as err:
            if err.status in _TRANSIENT:
                raise TemporalUnavailable(err.message) from err
            raise
        except RPCTimeoutOrCancelledError as err:
            raise TemporalUnavailable(no_answer) from err
        except RuntimeError as err:  # a lazy client that cannot connect
            raise TemporalUnavailable(str(err)) from err
        answer: dict[str, Any] = {
            "dedup_key": dedup_key,
            "workflow_id": handle.id if handle else None,
            "opened_or_updated": handle is not None,
        }
        # Only when it is known for sure and for free (see opened_as); otherwise left out.
        name = opened_as(handle) if handle else None
        if name is not None:
            answer["incident_id"] = name
        return answer

    @app.exception_handler(TemporalUnavailable)
    async def _unavailable(request: Request, exc: TemporalUnavailable) -> JSONResponse:
        metrics.rejections.labels(route(request.url.path), "temporal_unavailable").inc()
        return JSONResponse(
            {
                "error": "Temporal is unavailable; nothing was accepted, deliver again",
                "detail": str(exc)[:500],
            },
            status_code=503,
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )

    @app.exception_handler(IncidentNotReady)
    async def _not_ready(request: Request, exc: IncidentNotReady) -> JSONResponse:
        # Answered like PagerDuty's own throttling: the sender delivers the event again.
        metrics.rejections.labels(route(request.url.path), "not_declared_yet").inc()
        return JSONResponse(
            {
                "status": "unavailable",
                "message": "the incident is still being declared; nothing was decided, "
                "deliver the event again",
                "detail": str(exc)[:500],
            },
            status_code=503,
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [_problem(error) for error in exc.errors()]
        reason = "malformed_json" if any(p["field"] == "(body)" for p in problems) else "schema"
        metrics.rejections.labels(route(request.url.path), reason).inc()
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5])
        return JSONResponse(
            {"error": f"invalid payload: {summary}", "problems": problems}, status_code=422
        )

    @app.exception_handler(ValidationError)
    async def _unusable(request: Request, exc: ValidationError) -> JSONResponse:
        # The payload parsed, but a value cannot become an alert or a decision.
        problems = [_problem(error) for error in exc.errors()]
        metrics.rejections.labels(route(request.url.path), "schema").inc()
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5])
        return JSONResponse(
            {"error": f"invalid payload: {summary}", "problems": problems}, status_code=422
        )

    @app.exception_handler(UnicodeEncodeError)
    @app.exception_handler(PydanticSerializationError)
    async def _not_unicode(request: Request, exc: Exception) -> JSONResponse:
        # JSON may carry lone surrogates ("\ud8d8"); they are not text and cannot be stored.
        metrics.rejections.labels(route(request.url.path), "schema").inc()
        return JSONResponse(
            {
                "error": "invalid payload: a string is not valid Unicode (lone surrogate)",
                "problems": [{"field": "(body)", "message": str(exc)[:200]}],
            },
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and request.method == "POST":
            # The body could not even be read as text: malformed input, like bad JSON.
            metrics.rejections.labels(route(request.url.path), "malformed_json").inc()
            return JSONResponse(
                {
                    "error": "invalid payload: the body is not UTF-8 JSON",
                    "problems": [{"field": "(body)", "message": str(exc.detail)}],
                },
                status_code=422,
            )
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @app.post("/hooks/alertmanager", status_code=202, tags=["alerts"])
    async def alertmanager(notification: AlertmanagerNotification) -> dict[str, Any]:
        """Alertmanager ``webhook_configs`` (version 4): one incident per ``groupKey``."""
        batch = notification.to_batch()
        return {
            "status": "accepted",
            "alerts": len(batch.alerts),
            "incident": await deliver(batch, notification.groupKey, "alertmanager"),
        }

    @app.post("/hooks/grafana", status_code=202, tags=["alerts"])
    async def grafana(notification: GrafanaNotification) -> dict[str, Any]:
        """Grafana alerting's webhook contact point: one incident per ``groupKey``."""
        batch = notification.to_batch()
        return {
            "status": "accepted",
            "alerts": len(batch.alerts),
            "incident": await deliver(batch, notification.groupKey, "grafana"),
        }

    @app.post("/hooks/generic", status_code=202, tags=["alerts"])
    async def generic(delivery: GenericDelivery) -> dict[str, Any]:
        """Warroom's own shape: alerts grouped by ``dedup_key``, one incident per key."""
        incidents = [
            await deliver(batch, key, "generic") for key, batch in delivery.batches().items()
        ]
        return {"status": "accepted", "alerts": len(delivery.alerts), "incidents": incidents}

    @app.post("/v2/enqueue", status_code=202, tags=["alerts"], response_model=None)
    async def pagerduty(event: PagerDutyEvent) -> dict[str, Any] | JSONResponse:
        """PagerDuty Events API v2: trigger, acknowledge and resolve by ``dedup_key``."""
        keys = settings.pagerduty_routing_keys
        if keys and not auth.routing_key_known(settings, event.routing_key):
            metrics.rejections.labels("pagerduty", "unknown_routing_key").inc()
            return JSONResponse(
                {"status": "invalid event", "message": "routing_key not recognised"},
                status_code=401,
            )
        if event.event_action == "trigger":
            if event.payload is None:
                return _pd_invalid("payload is required for trigger events")
            dedup_key = event.dedup_key or uuid.uuid4().hex
            await deliver(event.to_batch(dedup_key), dedup_key, "pagerduty")
        elif event.dedup_key is None:
            return _pd_invalid(f"dedup_key is required for {event.event_action} events")
        elif event.event_action == "resolve":
            dedup_key = event.dedup_key
            await deliver(event.to_batch(dedup_key), dedup_key, "pagerduty")
        else:
            dedup_key = event.dedup_key
            try:
                await acknowledge_by_key(
                    await client(),
                    "pagerduty",
                    dedup_key,
                    actor=alert_name(event.client or "", "pagerduty"),
                    rpc_timeout=settings.rpc_timeout,
                )
            except RPCError as err:
                if err.status in _TRANSIENT:
                    raise TemporalUnavailable(err.message) from err
                raise
            except RPCTimeoutOrCancelledError as err:
                raise TemporalUnavailable(no_answer) from err
        return {"status": "success", "message": "Event processed", "dedup_key": dedup_key}

    @app.get("/healthz", tags=["service"])
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["service"], response_model=None)
    async def readyz() -> dict[str, str] | JSONResponse:
        """Ready when Temporal answers: only then can alerts be accepted."""
        try:
            await (await client()).workflow_service.get_system_info(
                GetSystemInfoRequest(), timeout=settings.rpc_timeout
            )
        except (RPCError, RuntimeError) as err:
            return JSONResponse({"status": "unavailable", "temporal": str(err)[:300]}, 503)
        return {"status": "ready"}

    @app.get("/metrics", tags=["service"], response_class=PlainTextResponse)
    async def prometheus_metrics() -> Response:
        """The service's own metrics in Prometheus text format."""
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    # After the hooks: routes are matched in order, and an alert storm is matched first.
    mount_people_routes(app, people)
    return app


def _pd_invalid(message: str) -> JSONResponse:
    return JSONResponse(
        {"status": "invalid event", "message": "Event object is invalid", "errors": [message]},
        status_code=400,
    )


def _problem(error: Any) -> dict[str, str]:
    location = [str(part) for part in error.get("loc", ()) if part != "body"]
    if error.get("type") == "json_invalid":
        return {
            "field": "(body)",
            "message": f"not valid JSON: {error.get('ctx', {}).get('error', '')}",
        }
    return {"field": ".".join(location) or "(body)", "message": str(error.get("msg", "invalid"))}


class _Guard:
    """Body limit, credentials and metrics, checked before any payload is parsed."""

    def __init__(self, app: ASGIApp, settings: HookSettings, metrics: HookMetrics) -> None:
        self.app = app
        self.settings = settings
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_counting(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            await send(message)

        try:
            if path.startswith(GUARDED_PREFIXES) and scope["method"] == "POST":
                await self._guarded(scope, receive, send_counting, path)
            elif path.startswith(LIMITED_PREFIXES) and scope["method"] == "POST":
                await self._limited(scope, receive, send_counting, path)
            else:
                await self.app(scope, receive, send_counting)
        finally:
            endpoint = route(path)
            self.metrics.requests.labels(endpoint, str(status_holder["status"])).inc()
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)

    async def _limited(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        body = await self._body(headers, receive, send, path)
        if body is not None:
            await self.app(scope, _replaying(body, receive), send)

    async def _body(
        self, headers: dict[str, str], receive: Receive, send: Send, path: str
    ) -> bytes | None:
        """The whole body, or None once a 413 was sent for one over the limit."""
        limit = self.settings.max_body
        declared = headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, path, 413, "too_large", f"body over {limit} bytes")
            return None
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > limit:
                await self._refuse(send, path, 413, "too_large", f"body over {limit} bytes")
                return None
            if not message.get("more_body", False):
                return bytes(body)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        body = await self._body(headers, receive, send, path)
        if body is None:
            return
        # PagerDuty senders authenticate with the routing key inside the body.
        pagerduty_keyed = path == "/v2/enqueue" and bool(self.settings.pagerduty_routing_keys)
        if not pagerduty_keyed:
            problem = auth.check(self.settings, headers, body)
            if problem:
                await self._refuse(
                    send,
                    path,
                    401,
                    "unauthorized",
                    problem,
                    {"www-authenticate": 'Bearer realm="warroom"'},
                )
                return
        await self.app(scope, _replaying(body, receive), send)

    async def _refuse(
        self,
        send: Send,
        path: str,
        status: int,
        reason: str,
        message: str,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.metrics.rejections.labels(route(path), reason).inc()
        response = JSONResponse({"error": message}, status_code=status, headers=extra)
        await response({"type": "http"}, _no_receive, send)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app ``body`` (already read), then what follows."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
