"""Containment actions against the control plane, each with an idempotency key."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.redact import describe, safe_url, scrub
from incident.containment import (
    ActionKind,
    ContainmentCall,
    ContainmentResult,
    target_problem,
)

TIMEOUT = httpx.Timeout(10.0)


def segment(value: str) -> str:
    """``value`` as exactly one URL path segment: ``/``, ``?``, ``#``, ``%`` escaped, and a
    ``.`` or ``..`` (which a URL would resolve to the parent) spelt out as ``%2E``."""
    escaped = quote(value, safe="")
    return escaped.replace(".", "%2E") if escaped in (".", "..") else escaped


def request_for(call: ContainmentCall) -> tuple[str, str, dict[str, Any]]:
    """(method, path, JSON body) of an action or its undo, in the control plane's API.

    The target is one path segment whatever it holds: it comes from an alert's
    labels and must never reach another URL of the control plane.
    """
    target, undo = segment(call.target), call.undo
    match call.kind:
        case ActionKind.ROLLBACK_DEPLOYMENT:
            version = call.params.get("version")
            return (
                "POST",
                f"/api/v1/agents/deployments/{target}/rollback",
                ({"target_version": version} if version else {}),
            )
        case ActionKind.DISABLE_TRIGGER:
            return "PATCH", f"/api/v1/agents/triggers/{target}", {"is_enabled": undo}
        case ActionKind.ACTIVATE_DENYLIST:
            return "PUT", f"/api/v1/orgs/{target}/emergency-denylist", {"active": not undo}
        case ActionKind.PAUSE_SCHEDULED_TRIGGERS:
            verb = "resume" if undo else "pause"
            return "POST", f"/api/v1/orgs/{target}/scheduled-triggers/{verb}", {}
        case ActionKind.LOWER_AUTONOMY:
            tier = call.params.get("previous", "L3") if undo else "L1"
            scope = "orgs" if call.params.get("scope") == "org" else "agents/deployments"
            return "PUT", f"/api/v1/{scope}/{target}/autonomy", {"tier": tier}
        case ActionKind.FREEZE_PROMOTION:
            return (
                "POST",
                "/api/v1/agents/quality/gates",
                {
                    "deployment_id": call.target,
                    "promotion_frozen": not undo,
                },
            )
    raise ValueError(f"unknown action {call.kind}")


class ContainmentActivities:
    """Calls the control plane (base URL and token from settings)."""

    def __init__(self, *, http: httpx.AsyncClient, base_url: str | None, token: str | None) -> None:
        self._http = http
        self._base = base_url.rstrip("/") if base_url else None
        self._token = token

    @activity.defn(name="contain.execute")
    async def execute(self, call: ContainmentCall) -> ContainmentResult:
        """Carry out (or undo) one action.

        The ``Idempotency-Key`` is fixed by incident and action, so a retry, a
        replay or a worker killed mid-call never makes the control plane act
        twice. A 4xx is final for an action (its reason goes on the timeline)
        and retried for an undo (``ControlPlaneRejected`` either way); a 5xx or
        a timeout is retried by Temporal with backoff.
        """
        problem = target_problem(call.kind, call.target, call.params)
        if problem is not None:
            # The workflow's validators refuse such a target; this holds even if one slipped by.
            raise ApplicationError(problem, type="InvalidTarget", non_retryable=True)
        if self._base is None:
            # An undo waits for the setting to be fixed (a worker restarted without it).
            raise ApplicationError(
                "no control plane configured (WARROOM_CONTROL_PLANE_URL)",
                type="ControlPlaneMissing",
                non_retryable=not call.undo,
            )
        method, path, body = request_for(call)
        headers = {"Idempotency-Key": call.idempotency_key}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            response = await self._http.request(
                method, f"{self._base}{path}", json=body, headers=headers, timeout=TIMEOUT
            )
        except (httpx.HTTPError, httpx.InvalidURL) as err:
            # Not chained: Temporal would put the httpx error, URL and all, into history.
            raise ApplicationError(
                f"control plane at {safe_url(self._base)} unreachable: "
                f"{describe(err, [self._base], [self._token])}",
                type="ControlPlaneUnavailable",
            ) from None
        # The answer goes on the timeline: a server echoing the request must not put the
        # control plane's credentials (userinfo, a key in its path, the token) there.
        text = scrub(response.text, [self._base], [self._token])[:300]
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise ApplicationError(
                f"control plane answered {response.status_code}: {text}",
                type="ControlPlaneUnavailable",
            )
        if response.status_code >= 400:
            # A refused action is final: its reason goes on the timeline. A refused undo
            # is retried like any other failure (same type, so the workflow can show it
            # as refused): whatever made the control plane refuse it — a rotated token,
            # a lock, a resource being moved — can be fixed, and an undo is never dropped.
            raise ApplicationError(
                f"control plane refused ({response.status_code}): {text}",
                type="ControlPlaneRejected",
                non_retryable=not call.undo,
            )
        data = response.json() if response.content else {}
        return ContainmentResult(
            status_code=response.status_code,
            detail=scrub(
                str(data.get("detail", f"{method} {path} → {response.status_code}")),
                [self._base],
                [self._token],
            )[:300],
            previous=data.get("previous"),
        )
