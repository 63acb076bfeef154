"""URLs as they may be shown: no credentials in a log line, an error, a timeline or history.

Channel and control-plane URLs carry secrets in more places than userinfo: a
Slack webhook's path *is* its credential (``/services/T…/B…/<secret>``), many
webhooks take ``?token=``, and a database URL may hold ``?password=``. Every
URL an activity or the worker formats goes through ``safe_url`` first, and any
text that may echo a URL (an exception's message, a server's error page) goes
through ``scrub``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx

HIDDEN = "***"
"""What stands where a secret was."""

_NAME = re.compile(r"^(?:[a-z][a-z_-]{0,19}|v\d{1,2})$")
"""A path segment kept as it is: a short lowercase word (``api``, ``hooks``, ``v1``).
Anything else — digits, capitals, long runs — may be a token or an id and is hidden."""
_MIN_SECRET = 3
"""Shorter pieces are not searched for in text: they would blank out ordinary words."""


def _host(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port is not None else host


def safe_url(url: str) -> str:
    """``scheme://host[:port]/path``, without userinfo, query or fragment, and with every
    path segment that does not look like a plain name replaced by ``***``.

    ``http://u:p@hooks.slack.com/services/T0/B0/xyz?token=t`` → ``http://hooks.slack.com/services/***/***/***``.
    A value that is not an absolute URL is shown only up to anything secret-looking.
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return HIDDEN
    if not parts.scheme or not parts.netloc:
        # Not a URL we can take apart (a setting with a typo): keep what cannot be a secret.
        shown = re.split(r"[?#]", url, maxsplit=1)[0]
        return f"{HIDDEN}@{shown.rsplit('@', 1)[1]}" if "@" in shown else shown
    segments = [s if (not s or _NAME.match(s)) else HIDDEN for s in parts.path.split("/")]
    return f"{parts.scheme}://{_host(url)}{'/'.join(segments)}"


def secrets_of(url: str) -> list[str]:
    """The pieces of ``url`` that must not be shown: userinfo, query, fragment, hidden path."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return [url]
    found: list[str] = []
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        found += [userinfo, *userinfo.split(":", 1)]
    if parts.query:
        found.append(parts.query)
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            found += [f"{name}={value}", value]
    if parts.fragment:
        found.append(parts.fragment)
    found += [s for s in parts.path.split("/") if s and not _NAME.match(s)]
    # Both as written in the URL and decoded, longest first so a part never leaves a tail.
    pieces = {p for raw in found for p in (raw, unquote(raw)) if len(p) >= _MIN_SECRET}
    return sorted(pieces, key=len, reverse=True)


def scrub(text: str, urls: Iterable[str | None] = (), extra: Iterable[str | None] = ()) -> str:
    """``text`` with each URL in ``urls`` shown safely and each secret piece of it (and each
    string in ``extra``, e.g. a bearer token) replaced by ``***``."""
    known = [u for u in urls if u]
    for url in sorted(known, key=len, reverse=True):
        # As configured, and as httpx spells it in its own messages.
        for spelling in {url, _normalised(url)}:
            text = text.replace(spelling, safe_url(url))
    pieces = {p for u in known for p in secrets_of(u)}
    pieces |= {e for e in extra if e and len(e) >= _MIN_SECRET}
    for piece in sorted(pieces, key=len, reverse=True):
        text = text.replace(piece, HIDDEN)
    return text


def _normalised(url: str) -> str:
    try:
        return str(httpx.URL(url))
    except (httpx.InvalidURL, ValueError, TypeError):
        return url


def describe(
    err: BaseException, urls: Iterable[str | None] = (), extra: Iterable[str | None] = ()
) -> str:
    """Why a request failed, in an operator's words and with no URL in it.

    The OS error's own words (``connection refused``) where there is one; a
    timeout as ``timed out``; otherwise the exception's class and its message,
    scrubbed of ``urls``' secrets and of ``extra``.
    """
    if isinstance(err, httpx.TimeoutException | TimeoutError):
        return "timed out"
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, OSError):
            if cause.errno is not None and cause.errno > 0:
                return os.strerror(cause.errno).lower()
            if cause.strerror:
                return cause.strerror.lower()
        cause = cause.__cause__ or cause.__context__
    message = " ".join(str(err).split())
    named = f"{type(err).__name__}: {message}" if message else type(err).__name__
    return scrub(named, urls, extra)
