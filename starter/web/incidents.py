"""Decisions and looks at incidents for the people's routers, each failure as one typed error.

``IncidentUnknown`` (404), ``DecisionRefused`` (409, the incident's reason) and
``TemporalUnavailable`` (503: nothing was decided, ask again) are all a router
needs to tell apart; how Temporal says each of them stays here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode

from incident.models import Decision, DecisionReceipt, IncidentState, PendingTimer, Phase
from starter.api import IncidentHandle, IncidentNotFound, incident_handle, rejection_type
from starter.follow_up import NoMoreDecisions, after_close, decide_on
from workflows.incident import IncidentWorkflow

_T = TypeVar("_T")
ClientSource = Callable[[], Awaitable[Client]]
"""Returns the Temporal client (connecting lazily), as the hooks take it."""


class IncidentUnknown(LookupError):
    """No incident has that ``INC-`` ID or workflow ID (or its workflow has ended)."""


class DecisionRefused(Exception):
    """The incident refused the decision; the message is its reason. Nothing changed."""


class TemporalUnavailable(Exception):
    """Temporal did not take the decision or answer the look; nothing changed, ask again."""


_REFUSED_BY_SERVER = {RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.OUT_OF_RANGE}
"""Answers about the request itself (too large, malformed): asking again cannot help."""


async def handle_of(client: ClientSource, ref: str, rpc_timeout: timedelta) -> IncidentHandle:
    """The incident ``ref`` names (its ``INC-`` ID or workflow ID)."""
    try:
        connected = await client()
    except RuntimeError as err:  # a lazy client that cannot connect
        raise TemporalUnavailable(str(err)) from err
    try:
        return await incident_handle(connected, ref)
    except IncidentNotFound as err:
        raise IncidentUnknown(str(err)) from err
    except RPCError as err:
        raise _rpc_failure(err, ref, rpc_timeout) from err


async def send_decision(
    client: ClientSource, ref: str, decision: Decision, *, rpc_timeout: timedelta
) -> DecisionReceipt:
    """Send ``decision`` to incident ``ref``; its receipt, or one of this module's errors."""
    handle = await handle_of(client, ref, rpc_timeout)
    try:
        return await decide_on(await client(), handle, decision, rpc_timeout=rpc_timeout)
    except NoMoreDecisions as err:
        raise DecisionRefused(str(err)) from err
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        reason = getattr(cause, "message", None) or str(cause or err)
        if rejection_type(err) == "NotDeclaredYet":
            raise TemporalUnavailable(f"{ref} is still being declared: {reason}") from err
        raise DecisionRefused(reason) from err
    except (RPCTimeoutOrCancelledError, WorkflowUpdateRPCTimeoutOrCancelledError) as err:
        raise TemporalUnavailable(_no_answer(rpc_timeout)) from err
    except RPCError as err:
        raise _rpc_failure(err, ref, rpc_timeout) from err
    except RuntimeError as err:  # a lazy client that cannot connect
        raise TemporalUnavailable(str(err)) from err


async def incident_state(
    client: ClientSource, ref: str, *, rpc_timeout: timedelta
) -> IncidentState:
    """Incident ``ref``'s state, or one of this module's errors (reads, never changes)."""
    state, _ = await incident_state_and_timers(client, ref, rpc_timeout=rpc_timeout)
    return state


async def incident_state_and_timers(
    client: ClientSource, ref: str, *, rpc_timeout: timedelta
) -> tuple[IncidentState, list[PendingTimer]]:
    """Incident ``ref``'s state and pending timers (soonest first), or one of this module's
    errors (reads, never changes)."""
    handle = await handle_of(client, ref, rpc_timeout)
    state: IncidentState = await _asked(handle, IncidentWorkflow.state, ref, rpc_timeout)
    timers: list[PendingTimer] = await _asked(handle, IncidentWorkflow.timers, ref, rpc_timeout)
    if state.phase is Phase.CLOSED:  # its action items live on in its follow-up
        return await _looked(
            after_close(await client(), state, rpc_timeout=rpc_timeout), ref, rpc_timeout
        )
    return state, timers


async def _asked(handle: IncidentHandle, query: Any, ref: str, rpc_timeout: timedelta) -> Any:
    return await _looked(handle.query(query, rpc_timeout=rpc_timeout), ref, rpc_timeout)


async def _looked(look: Awaitable[_T], ref: str, rpc_timeout: timedelta) -> _T:
    """What ``look`` reads of incident ``ref``, or one of this module's errors."""
    try:
        return await look
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError) as err:
        raise TemporalUnavailable(f"{ref} did not answer: {err}") from err
    except RPCTimeoutOrCancelledError as err:
        raise TemporalUnavailable(_no_answer(rpc_timeout)) from err
    except RPCError as err:
        raise _rpc_failure(err, ref, rpc_timeout) from err
    except RuntimeError as err:
        raise TemporalUnavailable(str(err)) from err


def _no_answer(rpc_timeout: timedelta) -> str:
    return f"no answer from Temporal within {rpc_timeout.total_seconds():g}s"


def _rpc_failure(err: RPCError, ref: str, rpc_timeout: timedelta) -> Exception:
    if err.status is RPCStatusCode.NOT_FOUND:
        return IncidentUnknown(f"no incident {ref}")
    if err.status in _REFUSED_BY_SERVER:
        return DecisionRefused(err.message)
    if err.status is RPCStatusCode.DEADLINE_EXCEEDED:
        return TemporalUnavailable(_no_answer(rpc_timeout))
    return TemporalUnavailable(f"Temporal: {err.message}"[:500])
