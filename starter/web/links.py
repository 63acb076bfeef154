"""Acknowledge links: signed, expiring, single-use. Pure: no I/O (the nonce store is elsewhere).

A link's token is a JWT signed with HMAC-SHA256 (PyJWT) over the incident, the
person, a nonce and the expiry; the nonce makes each link single-use once the
service has recorded it (``used_ack_links``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import jwt

LINK_AUDIENCE = "warroom:ack"
"""Only tokens made for acknowledge links pass, whatever else the secret signs."""
ALGORITHM = "HS256"
ACK_PATH = "/ack/"


class LinkForged(ValueError):
    """Not a link Warroom made with this secret, or altered since."""


class LinkExpired(ValueError):
    """A genuine link, past its expiry."""

    def __init__(self, expires_at: datetime) -> None:
        super().__init__(f"this link expired at {expires_at:%Y-%m-%d %H:%M:%S} UTC")
        self.expires_at = expires_at


@dataclass(frozen=True)
class AckLink:
    """What a verified link says: acknowledge ``incident`` as ``person``, once, until then."""

    incident: str
    person: str
    nonce: str
    expires_at: datetime


def sign_ack_link(
    secret: str, incident_id: str, person: str, expires_at: datetime, nonce: str
) -> str:
    """The token of a link acknowledging ``incident_id`` as ``person`` until ``expires_at``."""
    claims = {
        "aud": LINK_AUDIENCE,
        "inc": incident_id,
        "sub": person,
        "jti": nonce,
        "exp": int(expires_at.timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify(secret: str, token: str, *, now: datetime | None = None) -> AckLink:
    """What ``token`` says, once its signature holds; LinkForged or LinkExpired otherwise.

    Whether its nonce was used already is for the caller to check.
    """
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=LINK_AUDIENCE,
            # Expiry is checked below, after the signature, to say when the link expired.
            options={"verify_exp": False, "require": ["aud", "inc", "sub", "jti", "exp"]},
        )
    except jwt.InvalidTokenError as err:
        raise LinkForged("this link is not one Warroom made, or it was altered") from err
    values = [claims.get(name) for name in ("inc", "sub", "jti")]
    if not all(isinstance(value, str) and value for value in values):
        raise LinkForged("this link is not one Warroom made, or it was altered")
    if not isinstance(claims["exp"], int):
        raise LinkForged("this link is not one Warroom made, or it was altered")
    expires_at = datetime.fromtimestamp(claims["exp"], UTC)
    if expires_at <= (now or datetime.now(UTC)):
        raise LinkExpired(expires_at)
    return AckLink(
        incident=claims["inc"], person=claims["sub"], nonce=claims["jti"], expires_at=expires_at
    )


def new_nonce() -> str:
    """A fresh nonce for one link."""
    return secrets.token_urlsafe(16)


def ack_url(
    base_url: str,
    secret: str,
    incident_id: str,
    person: str,
    ttl: timedelta,
    *,
    now: datetime | None = None,
) -> str:
    """The full acknowledge link for ``person`` and ``incident_id``, valid for ``ttl``.

    ``base_url`` is where people reach the service (``WARROOM_PUBLIC_URL``); the
    notify path puts the result in a page (SMS, email, push).
    """
    expires_at = (now or datetime.now(UTC)) + ttl
    token = sign_ack_link(secret, incident_id, person, expires_at, new_nonce())
    return base_url.rstrip("/") + ACK_PATH + quote(token, safe="")
