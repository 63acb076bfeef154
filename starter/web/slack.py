"""Slack interactions: the Acknowledge and Escalate buttons of a page, as the person who clicked.

Every request is checked with Slack's request signing (``X-Slack-Signature``,
v0 HMAC-SHA256 over ``v0:<timestamp>:<raw body>``, the timestamp within five
minutes) before its body is read as anything. The clicking Slack member is
mapped to a person through their ``slack`` contact method. Slack wants a 200
within three seconds, so a decision that takes longer is answered "working on
it" and its outcome follows through the interaction's ``response_url``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from typing import Any
from urllib.parse import parse_qs

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from slack_sdk.signature import SignatureVerifier

from incident.models import Acknowledge, Escalate
from starter.web.incidents import (
    DecisionRefused,
    IncidentUnknown,
    TemporalUnavailable,
    send_decision,
)
from starter.web.people import Caller
from starter.web.services import WebServices

log = logging.getLogger("warroom.web.slack")

TOLERANCE_SECONDS = 300
"""How far a request's timestamp may be from now (Slack's own five minutes)."""
ANSWER_WITHIN = 2.5
"""Seconds a decision may take before Slack is answered and the outcome follows later."""
MAX_BODY = 1024 * 1024
RESPONSE_URL_PREFIX = "https://hooks.slack.com/"
"""Outcomes are posted only to Slack's own response URLs."""
NOT_IN_DIRECTORY = (
    "You are not in Warroom's directory (no person has your Slack member ID as a slack "
    "contact method), so nothing was done. Ask whoever keeps the directory to add you."
)
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


def _ephemeral(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


def _refuse(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def slack_router(
    services: WebServices, *, response_url_prefix: str = RESPONSE_URL_PREFIX
) -> APIRouter:
    """``POST /slack/interactions``: Slack's Interactivity request URL."""
    router = APIRouter(tags=["slack"])
    following_up: set[asyncio.Task[None]] = set()

    async def act(caller: Caller, incident: str, action: str) -> str:
        """Take the button's decision as the person who clicked it; what to tell them."""
        decision: Acknowledge | Escalate
        if action == "escalate":
            decision = Escalate(actor=caller.person, verified_by="slack", reason="from Slack")
        else:
            decision = Acknowledge(
                actor=caller.person, verified_by="slack", reason="acknowledged in Slack"
            )
        try:
            receipt = await send_decision(
                services.client, incident, decision, rpc_timeout=services.rpc_timeout
            )
        except IncidentUnknown:
            return f"Warroom has no incident {incident}; nothing was done."
        except DecisionRefused as err:
            return f"Not {'escalated' if action == 'escalate' else 'acknowledged'}: {err}"
        except TemporalUnavailable:
            return "Warroom could not reach Temporal just now; nothing was done. Try again."
        if action == "escalate":
            return f"{receipt.human_id}: {receipt.event.text} (escalated by {caller.name})."
        return f"{receipt.human_id} acknowledged by {caller.name}. Paging has stopped."

    async def follow_up(response_url: str | None, text: str) -> None:
        if not response_url or not response_url.startswith(response_url_prefix):
            return
        try:
            async with httpx.AsyncClient(timeout=5) as http:
                await http.post(response_url, json=_ephemeral(text))
        except httpx.HTTPError as err:
            log.warning("could not post a Slack interaction's outcome: %s", type(err).__name__)

    def in_background(work: asyncio.Task[str], response_url: str | None) -> None:
        async def then_follow_up() -> None:
            await follow_up(response_url, await work)

        task = asyncio.create_task(then_follow_up())
        following_up.add(task)
        task.add_done_callback(following_up.discard)

    @router.post("/slack/interactions")
    async def interactions(request: Request) -> JSONResponse:
        """A signed ``block_actions`` payload: acknowledge or escalate as the clicking person."""
        secret = services.slack_signing_secret
        if secret is None:
            return _refuse(
                503, "Slack interactions are not configured here (WARROOM_SLACK_SIGNING_SECRET)"
            )
        body = await request.body()
        if len(body) > MAX_BODY:
            return _refuse(413, f"body over {MAX_BODY} bytes")
        problem = _signature_problem(
            secret,
            body,
            request.headers.get("x-slack-request-timestamp", ""),
            request.headers.get("x-slack-signature", ""),
        )
        if problem:
            return _refuse(401, problem)
        payload = _payload(body)
        if payload is None:
            return _refuse(400, "expected a form field payload holding a JSON object")
        if payload.get("type") != "block_actions":
            return JSONResponse(_ephemeral("Warroom takes only button clicks here."))
        actions = payload.get("actions")
        action = actions[0] if isinstance(actions, list) and actions else {}
        user = payload.get("user")
        member = user.get("id") if isinstance(user, dict) else None
        if not isinstance(action, dict) or not isinstance(member, str):
            return _refuse(400, "a block_actions payload names an action and a user")
        caller = services.people.by_slack(member)
        if caller is None:
            return JSONResponse(_ephemeral(NOT_IN_DIRECTORY))
        action_id, incident = action.get("action_id"), action.get("value")
        if action_id not in ("acknowledge", "escalate"):
            return JSONResponse(_ephemeral(f"Warroom has no action {str(action_id)[:100]!r}."))
        if not isinstance(incident, str) or not incident.strip():
            return JSONResponse(_ephemeral("The button names no incident; nothing was done."))
        response_url = payload.get("response_url")
        response_url = response_url if isinstance(response_url, str) else None
        work = asyncio.create_task(act(caller, incident.strip(), str(action_id)))
        done, _ = await asyncio.wait({work}, timeout=ANSWER_WITHIN)
        if work not in done:
            in_background(work, response_url)
            doing = "Escalating" if action_id == "escalate" else "Acknowledging"
            return JSONResponse(
                _ephemeral(f"{doing} {incident.strip()[:100]}…; the outcome follows here.")
            )
        text = work.result()
        # Slack shows block_actions outcomes posted to the response URL, not the answer's body.
        await follow_up(response_url, text)
        return JSONResponse(_ephemeral(text))

    return router


def _signature_problem(secret: str, body: bytes, stamp: str, signature: str) -> str | None:
    """None when Slack signed ``body``; otherwise why the request is refused (401)."""
    if not stamp or not signature:
        return "Slack signature required (X-Slack-Signature and X-Slack-Request-Timestamp)"
    if not _UNIX_SECONDS.fullmatch(stamp):
        return "X-Slack-Request-Timestamp must be Unix seconds"
    if abs(time.time() - int(stamp)) > TOLERANCE_SECONDS:
        return f"X-Slack-Request-Timestamp is more than {TOLERANCE_SECONDS}s from now"
    try:
        valid = SignatureVerifier(secret).is_valid(body, stamp, signature)
    except UnicodeDecodeError:  # the verifier reads the body as text; Slack sends UTF-8
        valid = False
    return None if valid else "X-Slack-Signature does not match the body"


def _payload(body: bytes) -> dict[str, Any] | None:
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=10)
        payload = json.loads(fields["payload"][0])
    except (UnicodeDecodeError, ValueError, KeyError, IndexError):
        return None
    return payload if isinstance(payload, dict) else None
