"""The people's routers, mounted into the one HTTP service beside the alert hooks."""

from __future__ import annotations

from fastapi import FastAPI

from starter.web.ack import ack_router
from starter.web.api import add_error_answers, decision_router
from starter.web.board import mount_board
from starter.web.services import WebServices
from starter.web.slack import slack_router
from starter.web.status import status_router


def mount_people_routes(app: FastAPI, services: WebServices) -> None:
    """Add the decision API, acknowledge links, Slack interactions, the board and the public
    status page to ``app``.

    Each authenticates people its own way (tokens or OIDC, signed links, Slack
    signing, the board's session after a token); none takes the hooks' machine
    credentials. The status page takes none at all: it only reads what customers
    were told, from Postgres.
    """
    add_error_answers(app)
    app.include_router(decision_router(services))
    app.include_router(ack_router(services))
    app.include_router(slack_router(services))
    mount_board(app, services)
    app.include_router(
        status_router(
            services.status_cache, name=services.status_name, public_url=services.public_url
        )
    )
