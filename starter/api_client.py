"""The decision API from the client side: send a decision over HTTP as the token's person.

``send_decision(api_url, token, incident, decision)`` is what the CLI's decision
commands use when ``WARROOM_API_URL`` is set (with ``WARROOM_API_TOKEN``)
instead of going to Temporal; each failure is one typed error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from incident.models import Decision, DecisionReceipt

SERVER_SET = ("actor", "verified_by")
"""Fields the service fills in from the token: never sent."""
DEFAULT_TIMEOUT = 30.0
"""Seconds one request may take (the service answers 503 itself when Temporal is slow)."""


class ApiError(Exception):
    """The decision API did not take the decision; ``status`` is its HTTP status (0: none)."""

    status = 0

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class Rejected(ApiError):
    """The incident refused the decision (409); the message is its reason. Nothing changed."""

    status = 409


class Unauthorized(ApiError):
    """The token is missing, unknown, revoked or expired (401)."""

    status = 401


class Forbidden(ApiError):
    """The token is good but its person may not act here (403)."""

    status = 403


class NotFound(ApiError):
    """No such incident (or no such decision) (404)."""

    status = 404


class Invalid(ApiError):
    """The decision's fields were refused (422); the message names the field."""

    status = 422


class Unavailable(ApiError):
    """The service or its Temporal could not take it now; nothing changed, send it again.

    ``retry_after`` is the service's suggestion in seconds, when it gave one.
    """

    status = 503

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


def decision_path(incident: str, update: str) -> str:
    """The API path that sends ``update`` to ``incident``."""
    return f"/api/v1/incidents/{quote(incident, safe='')}/{quote(update, safe='')}"


def _fields(decision: Decision | Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    if isinstance(decision, Decision):
        data = decision.model_dump(mode="json", exclude_unset=True, exclude=set(SERVER_SET))
        return type(decision).update, data
    data = dict(decision)
    update = data.pop("decision", None)
    if not isinstance(update, str) or not update:
        raise ValueError("a decision mapping names its update in 'decision' (e.g. 'acknowledge')")
    for name in SERVER_SET:
        data.pop(name, None)
    return update, data


async def send_decision(
    api_url: str,
    token: str,
    incident: str,
    decision: Decision | Mapping[str, Any],
    *,
    http: httpx.AsyncClient | None = None,
    request_timeout: float = DEFAULT_TIMEOUT,
) -> DecisionReceipt:
    """Send ``decision`` to ``incident`` (its ``INC-`` ID or workflow ID) as ``token``'s person.

    ``decision`` is a Decision model (its actor is not sent: the token names
    the person) or a mapping with the update's name under ``"decision"`` and
    its fields. Returns the receipt; raises Rejected, Unauthorized, Forbidden,
    NotFound, Invalid or Unavailable (also when the service cannot be reached).
    """
    update, fields = _fields(decision)
    url = api_url.rstrip("/") + decision_path(incident, update)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        if http is None:
            async with httpx.AsyncClient(timeout=request_timeout) as own:
                response = await own.post(url, json=fields, headers=headers)
        else:
            response = await http.post(url, json=fields, headers=headers, timeout=request_timeout)
    except httpx.HTTPError as err:
        raise Unavailable(f"cannot reach the decision API: {type(err).__name__}: {err}") from err
    if response.status_code == 200:
        try:
            return DecisionReceipt.model_validate_json(response.content)
        except ValidationError as err:
            raise ApiError(
                f"the decision API answered 200 with no receipt: {err}", status=200
            ) from err
    raise _error(response)


def _error(response: httpx.Response) -> ApiError:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    message = body.get("error") if isinstance(body, dict) else None
    if not isinstance(message, str):
        message = response.text[:500] or response.reason_phrase
    if status == 409:
        reason = body.get("reason") if isinstance(body, dict) else None
        return Rejected(reason if isinstance(reason, str) else message)
    if status == 401:
        return Unauthorized(message)
    if status == 403:
        return Forbidden(message)
    if status == 404:
        return NotFound(message)
    if status == 422:
        return Invalid(message)
    if status in (429, 502, 503, 504):
        return Unavailable(message, status=status, retry_after=_seconds(response))
    return ApiError(f"the decision API answered {status}: {message}", status=status)


def _seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isascii() and value.isdigit() else None


__all__ = [
    "ApiError",
    "Forbidden",
    "Invalid",
    "NotFound",
    "Rejected",
    "Unauthorized",
    "Unavailable",
    "decision_path",
    "send_decision",
]
