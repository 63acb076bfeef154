"""The people's side of the HTTP service: the decision API, acknowledge links, Slack buttons.

Hooks keep machine credentials (``starter.hooks``); these routers authenticate
people — personal API tokens or OIDC bearer tokens, signed single-use links,
Slack's request signing — and send each decision as the person, with
``verified_by`` saying how they were recognised.
"""

from starter.web.app import mount_people_routes
from starter.web.links import ack_url, sign_ack_link, verify
from starter.web.services import WebServices, build_services, unconfigured_services
from starter.web.settings import WebSettings

__all__ = [
    "WebServices",
    "WebSettings",
    "ack_url",
    "build_services",
    "mount_people_routes",
    "sign_ack_link",
    "unconfigured_services",
    "verify",
]
