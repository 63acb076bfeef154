"""Who may deliver alerts: bearer tokens, basic auth, and HMAC signatures over the raw body."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time

from starter.hooks.settings import HookSettings

SIGNATURE_HEADER = "x-warroom-signature"
TIMESTAMP_HEADER = "x-warroom-timestamp"
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature a sender puts in ``X-Warroom-Signature``: ``sha256=<hex>``.

    It covers ``<timestamp>.<raw body>``, with the same timestamp sent in
    ``X-Warroom-Timestamp`` (Unix seconds), so a captured request cannot be
    replayed later.
    """
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def routing_key_known(settings: HookSettings, routing_key: str) -> bool:
    """Whether ``routing_key`` is one of the configured PagerDuty routing keys.

    Compared as UTF-8 bytes in constant time (``hmac.compare_digest`` refuses
    non-ASCII text), checking every key so timing does not reveal which matched.
    """
    given = routing_key.encode("utf-8", "surrogatepass")
    matches = [hmac.compare_digest(given, k.encode()) for k in settings.pagerduty_routing_keys]
    return any(matches)


def check(settings: HookSettings, headers: dict[str, str], body: bytes) -> str | None:
    """None when the request may pass; otherwise why it may not (for the 401)."""
    if settings.tokens or settings.basic:
        problem = _check_authorization(settings, headers.get("authorization", ""))
        if problem:
            return problem
    if settings.hmac_secret:
        return _check_signature(settings, headers, body)
    return None


def _check_authorization(settings: HookSettings, value: str) -> str | None:
    scheme, _, credential = value.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and settings.tokens:
        if any(hmac.compare_digest(credential.encode(), t.encode()) for t in settings.tokens):
            return None
        return "bearer token not recognised"
    if scheme == "basic" and settings.basic:
        try:
            user, _, password = base64.b64decode(credential, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return "basic credentials are not valid base64 user:password"
        for known_user, known_password in settings.basic:
            # Compare both parts every time so timing does not reveal which was wrong.
            user_ok = hmac.compare_digest(user.encode(), known_user.encode())
            password_ok = hmac.compare_digest(password.encode(), known_password.encode())
            if user_ok and password_ok:
                return None
        return "basic credentials not recognised"
    if not value:
        return "credentials required (Authorization header)"
    return f"unsupported Authorization scheme {scheme!r}"


def _check_signature(settings: HookSettings, headers: dict[str, str], body: bytes) -> str | None:
    stamp = headers.get(TIMESTAMP_HEADER, "")
    given = headers.get(SIGNATURE_HEADER, "")
    if not stamp or not given:
        return f"signature required ({SIGNATURE_HEADER} and {TIMESTAMP_HEADER} headers)"
    # ASCII digits of a plausible length only: str.isdigit() takes "²", and 400 digits
    # overflow the float a clock compares against.
    if not _UNIX_SECONDS.fullmatch(stamp):
        return f"{TIMESTAMP_HEADER} must be Unix seconds"
    if abs(time.time() - int(stamp)) > settings.hmac_tolerance_seconds:
        return f"{TIMESTAMP_HEADER} is more than {settings.hmac_tolerance_seconds}s from now"
    expected = sign(settings.hmac_secret or "", int(stamp), body)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return "signature does not match the body"
    return None
