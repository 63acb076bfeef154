"""The board's browser sessions: a signed, expiring cookie naming a person, and CSRF tokens.

A person signs in once with their personal API token or OIDC token; the board
then keeps only who they are, in a JWT (HS256) signed with a key derived from
``WARROOM_LINK_SECRET`` — never the token itself. Every form that changes
something carries a CSRF token tied to the session, checked on the way in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

SESSION_COOKIE = "warroom_board"
LOGIN_COOKIE = "warroom_board_login"
"""Ties the sign-in form to the browser that asked for it (no signing in someone else)."""
FLASH_COOKIE = "warroom_board_flash"
"""What the last form did, shown once by the page it redirects to."""
COOKIE_PATH = "/board"
SESSION_TTL = timedelta(hours=12)
LOGIN_TTL = timedelta(minutes=30)
FLASH_TTL = timedelta(minutes=1)
AUDIENCE = "warroom-board"
ALGORITHM = "HS256"
FLASH_CHARS = 1000
"""A flash message is cut here: a cookie holds about 4 KB."""


@dataclass(frozen=True)
class BoardSession:
    """A signed-in person, as the session cookie says."""

    person: str
    signed_in_with: str
    """How they proved who they are when signing in (``token`` or ``oidc``)."""
    sid: str
    expires_at: datetime


@dataclass(frozen=True)
class Flash:
    """One message for the next page: what a form did, or why it did nothing."""

    message: str
    ok: bool


class Sessions:
    """Issues and reads the board's cookies, all signed with one key of their own."""

    def __init__(self, link_secret: str, *, ttl: timedelta = SESSION_TTL) -> None:
        # A key for this purpose only: a board cookie can never pass for an acknowledge link.
        self._key = hmac.new(link_secret.encode(), b"warroom board sessions", "sha256").digest()
        self.ttl = ttl

    def issue(self, person: str, signed_in_with: str, now: datetime) -> str:
        """A session cookie's value for ``person``, good for ``ttl``."""
        return self._sign(
            {
                "sub": person,
                "via": signed_in_with,
                "sid": secrets.token_urlsafe(16),
                "kind": "session",
            },
            now,
            self.ttl,
        )

    def read(self, value: str | None, now: datetime) -> BoardSession | None:
        """The session ``value`` carries; None when missing, forged, expired or not a session."""
        claims = self._verify(value, "session", now)
        if claims is None:
            return None
        person, via, sid = claims.get("sub"), claims.get("via"), claims.get("sid")
        if not (isinstance(person, str) and isinstance(via, str) and isinstance(sid, str)):
            return None
        return BoardSession(
            person=person,
            signed_in_with=via,
            sid=sid,
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )

    def csrf(self, sid: str) -> str:
        """The CSRF token of the forms of session (or sign-in form) ``sid``."""
        mac = hmac.new(self._key, b"csrf:" + sid.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def csrf_ok(self, sid: str, given: str | None) -> bool:
        """Whether ``given`` is session ``sid``'s CSRF token."""
        return given is not None and hmac.compare_digest(self.csrf(sid), given)

    def login_nonce(self, now: datetime) -> tuple[str, str]:
        """A fresh sign-in form: its cookie's value and its nonce (the CSRF token's ``sid``)."""
        nonce = secrets.token_urlsafe(16)
        return self._sign({"sid": nonce, "kind": "login"}, now, LOGIN_TTL), nonce

    def read_login(self, value: str | None, now: datetime) -> str | None:
        """The nonce of a sign-in cookie, or None."""
        claims = self._verify(value, "login", now)
        sid = claims.get("sid") if claims else None
        return sid if isinstance(sid, str) else None

    def flash(self, flash: Flash, now: datetime) -> str:
        """A flash cookie's value."""
        return self._sign(
            {"msg": flash.message[:FLASH_CHARS], "ok": flash.ok, "kind": "flash"}, now, FLASH_TTL
        )

    def read_flash(self, value: str | None, now: datetime) -> Flash | None:
        """The message a flash cookie carries, or None."""
        claims = self._verify(value, "flash", now)
        if claims is None or not isinstance(claims.get("msg"), str):
            return None
        return Flash(message=claims["msg"], ok=bool(claims.get("ok")))

    def _sign(self, claims: dict[str, Any], now: datetime, ttl: timedelta) -> str:
        issued = int(now.timestamp())
        payload = {
            **claims,
            "aud": AUDIENCE,
            "iat": issued,
            "exp": issued + int(ttl.total_seconds()),
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM)

    def _verify(self, value: str | None, kind: str, now: datetime) -> dict[str, Any] | None:
        if not value:
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                value,
                self._key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                options={"require": ["exp", "iat", "aud"], "verify_exp": False},
            )
        except jwt.PyJWTError:
            return None
        # Expiry checked against ``now`` here, so tests can move the clock.
        if claims.get("kind") != kind or int(claims["exp"]) <= int(now.timestamp()):
            return None
        return claims
