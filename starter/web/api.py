"""The decision API: an authenticated person sends decisions and looks at incidents over HTTP.

``POST /api/v1/incidents/{incident}/{decision}`` for every kind of decision
(the route table is read from the Decision models' ``update`` names), ``GET
/api/v1/incidents/{incident}`` and ``GET /api/v1/whoami``. The actor of a
decision is the person the credentials belong to, never a name in the body.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from incident.models import Decision, DecisionReceipt, IncidentState, Phase, Status, TimelineEvent
from incident.severity import Severity
from starter.web.auth import CHALLENGE, AuthUnavailable, NotAllowed, NotAuthenticated
from starter.web.incidents import (
    DecisionRefused,
    IncidentUnknown,
    TemporalUnavailable,
    incident_state,
    send_decision,
)
from starter.web.people import Caller
from starter.web.services import WebServices

API_PREFIX = "/api/v1"
SET_BY_SERVER = ("actor", "verified_by")
"""Decision fields the service fills in from the credentials; a body naming them is refused."""
RETRY_AFTER_SECONDS = "5"
SUMMARY_EVENTS = 20
"""Timeline events an incident summary carries (the latest)."""


def decision_kinds() -> dict[str, type[Decision]]:
    """Every kind of decision by the name of the update that carries it."""
    found: dict[str, type[Decision]] = {}
    pending = list(Decision.__subclasses__())
    while pending:
        kind = pending.pop()
        pending.extend(kind.__subclasses__())
        update = getattr(kind, "update", None)
        if isinstance(update, str):
            found[update] = kind
    return dict(sorted(found.items()))


def _set_by_server(value: Any, info: Any) -> Any:
    raise PydanticCustomError(
        "set_by_server",
        "{field} is set by Warroom from your credentials; leave it out of the body",
        {"field": info.field_name},
    )


def body_model(kind: type[Decision]) -> type[BaseModel]:
    """The request body of ``kind``: its fields but the actor, which the credentials give."""
    fields: dict[str, Any] = {
        name: (info.annotation, info)
        for name, info in kind.model_fields.items()
        if name not in SET_BY_SERVER
    }
    # Named so a body that sends them gets a reason, not "extra inputs are not permitted".
    for name in SET_BY_SERVER:
        # Out of the documented schema; pydantic types SkipJsonSchema as a generic alias.
        fields[name] = (Annotated[Any, SkipJsonSchema()], None)  # type: ignore[type-arg]
    return create_model(
        f"{kind.__name__}Body",
        __config__=ConfigDict(extra="forbid"),
        __doc__=kind.__doc__,
        __validators__={
            "_set_by_server": field_validator(*SET_BY_SERVER, mode="before")(_set_by_server)
        },
        **fields,
    )


class Whoami(BaseModel):
    """Who the credentials belong to."""

    person: str
    name: str
    verified_by: str


class IncidentSummary(BaseModel):
    """Where an incident stands, for a person deciding what to do."""

    human_id: str
    title: str
    severity: Severity
    phase: Phase
    status: Status
    service: str | None
    declared_at: datetime
    declared_by: str
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    roles: dict[str, str]
    flags: list[str]
    timeline: list[TimelineEvent] = Field(description="the latest events, oldest first")

    @classmethod
    def of(cls, state: IncidentState) -> IncidentSummary:
        """The summary of ``state``."""
        return cls(
            human_id=state.human_id,
            title=state.title,
            severity=state.severity,
            phase=state.phase,
            status=state.status,
            service=state.service,
            declared_at=state.declared_at,
            declared_by=state.declared_by,
            acknowledged_at=state.acknowledged_at,
            acknowledged_by=state.acknowledged_by,
            mitigated_at=state.mitigated_at,
            resolved_at=state.resolved_at,
            closed_at=state.closed_at,
            roles={role.value: person for role, person in state.roles.items()},
            flags=[flag.flag for flag in state.flags],
            timeline=state.timeline[-SUMMARY_EVENTS:],
        )


def authenticate_with(services: WebServices) -> Callable[..., Awaitable[Caller]]:
    """The dependency that names the caller (or raises the 401/403/503 errors)."""

    async def authenticate(authorization: str | None = Header(None)) -> Caller:
        return await services.authenticator.caller(authorization)

    return authenticate


def decision_router(services: WebServices) -> APIRouter:
    """The decision API's routes."""
    router = APIRouter(prefix=API_PREFIX, tags=["decisions"])
    authenticate = authenticate_with(services)
    kinds = decision_kinds()

    @router.get("/whoami", tags=["people"])
    async def whoami(caller: Caller = Depends(authenticate)) -> Whoami:
        """The person the credentials belong to, and how they were checked."""
        return Whoami(person=caller.person, name=caller.name, verified_by=caller.verified_by)

    @router.get("/incidents/{incident}", tags=["incidents"])
    async def show(incident: str, caller: Caller = Depends(authenticate)) -> IncidentSummary:
        """Where the incident stands (by its ``INC-`` ID or workflow ID)."""
        state = await incident_state(services.client, incident, rpc_timeout=services.rpc_timeout)
        return IncidentSummary.of(state)

    for update, kind in kinds.items():
        _add_decision_route(router, services, authenticate, update, kind)

    @router.post("/incidents/{incident}/{decision}", include_in_schema=False)
    async def unknown_decision(incident: str, decision: str) -> JSONResponse:
        return JSONResponse(
            {"error": f"no decision {decision[:100]!r}; decisions: {', '.join(kinds)}"},
            status_code=404,
        )

    return router


def _add_decision_route(
    router: APIRouter,
    services: WebServices,
    authenticate: Callable[..., Awaitable[Caller]],
    update: str,
    kind: type[Decision],
) -> None:
    model = body_model(kind)
    required = any(
        info.is_required() for name, info in kind.model_fields.items() if name not in SET_BY_SERVER
    )

    async def endpoint(incident: str, body: BaseModel | None, caller: Caller) -> DecisionReceipt:
        given = body.model_dump(exclude_unset=True, exclude=set(SET_BY_SERVER)) if body else {}
        decision = kind.model_validate(
            {**given, "actor": caller.person, "verified_by": caller.verified_by}
        )
        return await send_decision(
            services.client, incident, decision, rpc_timeout=services.rpc_timeout
        )

    # FastAPI reads the route's parameters from its signature: the body is this kind's model.
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("incident", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str),
            inspect.Parameter(
                "body",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=model if required else model | None,
                default=Body(...) if required else Body(None),
            ),
            inspect.Parameter(
                "caller",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Caller,
                default=Depends(authenticate),
            ),
        ]
    )
    router.add_api_route(
        f"/incidents/{{incident}}/{update}",
        endpoint,
        methods=["POST"],
        response_model=DecisionReceipt,
        name=update,
        summary=(kind.__doc__ or update).strip().splitlines()[0],
        description=f"Send a `{kind.__name__}` decision as the authenticated person.",
    )


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def add_error_answers(app: FastAPI) -> None:
    """How the people's errors are answered in JSON: each with its status and reason."""

    @app.exception_handler(NotAuthenticated)
    async def _not_authenticated(request: Request, exc: NotAuthenticated) -> JSONResponse:
        return _error(401, str(exc), {"WWW-Authenticate": CHALLENGE})

    @app.exception_handler(NotAllowed)
    async def _not_allowed(request: Request, exc: NotAllowed) -> JSONResponse:
        return _error(403, str(exc))

    @app.exception_handler(AuthUnavailable)
    async def _auth_unavailable(request: Request, exc: AuthUnavailable) -> JSONResponse:
        return _error(503, str(exc), {"Retry-After": RETRY_AFTER_SECONDS})

    @app.exception_handler(IncidentUnknown)
    async def _unknown(request: Request, exc: IncidentUnknown) -> JSONResponse:
        return _error(404, str(exc))

    @app.exception_handler(DecisionRefused)
    async def _refused(request: Request, exc: DecisionRefused) -> JSONResponse:
        return JSONResponse({"error": f"rejected: {exc}", "reason": str(exc)}, status_code=409)

    @app.exception_handler(TemporalUnavailable)
    async def _unavailable(request: Request, exc: TemporalUnavailable) -> JSONResponse:
        return _error(
            503,
            f"Temporal is unavailable; nothing was decided, send it again: {exc}"[:600],
            {"Retry-After": RETRY_AFTER_SECONDS},
        )
