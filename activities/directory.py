"""The directory as paging reads it: the file, its iCal feeds and the stored overrides, merged.

``LiveDirectory.current()`` reads the directory file (``WARROOM_DIRECTORY``)
each time it is asked, so an edit applies without a restart; the file is parsed
again only when its modification time or size changed. On top of each
schedule's own overrides come its iCal feeds' events (a file read, or an
``http(s)`` URL fetched and kept ``FEED_TTL``), then the overrides people set
with ``warroom override`` (Postgres), which win.

A page must not wait on a calendar: a feed or Postgres that cannot be read
leaves its overrides out (the last ones read, if any, stand in) and says so in
``problems``. A directory file that becomes invalid keeps the last valid one in
force; with none yet, ``current`` raises ``DirectoryError``.

The paging path's directory source (``activities.reach.DirectorySource``, called
without awaiting) can be the object itself: calling it gives ``merged()``, which
reads local files only; ``refresh()`` (or ``current()``) fetches what lives
elsewhere, URL feeds when due and the stored overrides.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from activities.overrides import StoredOverride, list_overrides
from activities.pool import LazyPool
from activities.redact import describe, safe_url
from directory.ical import IcalError, overrides_from_ical
from directory.load import DirectoryError, parse_directory
from directory.models import Directory, Override
from directory.oncall import merge_overrides

log = logging.getLogger("warroom.directory")

FEED_TTL = timedelta(minutes=5)
"""How long an iCal feed fetched over HTTP is used before it is fetched again."""
FEED_TIMEOUT = 10.0
"""Seconds to wait for an iCal feed to answer."""
WINDOW_BEFORE = timedelta(days=1)
WINDOW_AFTER = timedelta(days=30)
"""Feed events and stored overrides are read from ``WINDOW_BEFORE`` before the instant
asked about to ``WINDOW_AFTER`` after it: enough for who is on call and the next handoffs."""


def _now() -> datetime:
    return datetime.now(UTC)


class LiveDirectory:
    """The directory with every override merged, for the paths that page people.

    Built by the worker from ``WARROOM_DIRECTORY`` and ``DATABASE_URL``; ``http``
    is the worker's shared client (one is made when not given).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        database_url: str | None = None,
        http: httpx.AsyncClient | None = None,
        feed_ttl: timedelta = FEED_TTL,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._path = Path(path)
        self._database_url = database_url
        self._http = http
        self._own_http = http is None
        self._feed_ttl = feed_ttl
        self._clock = clock
        self._file: tuple[tuple[int, int], Directory] | None = None
        self._feed_files: dict[str, tuple[tuple[int, int], str]] = {}
        """Feed files as last read, by name, with their modification time and size."""
        self._fetched_feeds: dict[str, tuple[datetime, str]] = {}
        """Feed URLs as last fetched, with when."""
        self._attempted: set[str] = set()
        """Feed URLs a refresh tried to fetch."""
        self._stored: list[StoredOverride] | None = None
        self._remote_problems: list[str] = []
        """What the last ``refresh`` could not fetch or read."""
        self._pool = (
            LazyPool(database_url, max_size=2, connect_timeout=FEED_TIMEOUT)
            if database_url
            else None
        )
        self._reported: set[str] = set()
        self.problems: list[str] = []
        """What the last ``merged`` (or ``current``) left out, and why, one line each."""

    @property
    def path(self) -> Path:
        """The directory file."""
        return self._path

    async def close(self) -> None:
        """Close the connections this object opened."""
        if self._pool is not None:
            await self._pool.close()
        if self._own_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def current(self, at: datetime | None = None) -> Directory:
        """The directory with its feeds' and the stored overrides merged, around ``at`` (now).

        ``refresh`` then ``merged``: what lives elsewhere is fetched when due first.
        """
        at = self._instant(at)
        await self.refresh(at)
        return await asyncio.to_thread(self.merged, at)

    async def __call__(self) -> Directory:
        """The directory now, for the paging path (a ``DirectorySource``): ``current``."""
        return await self.current()

    async def refresh(self, at: datetime | None = None) -> None:
        """Fetch the URL feeds last fetched ``feed_ttl`` ago or more, and read the stored
        overrides around ``at`` (now). What cannot be read is kept for ``problems``."""
        at = self._instant(at)
        problems: list[str] = []
        directory = await asyncio.to_thread(self._directory_file, [])  # merged() reports it
        for schedule in directory.schedules.values():
            for feed in schedule.ical:
                if self._is_url(feed):
                    await self._fetched(feed, problems)
        start, end = at - WINDOW_BEFORE, at + WINDOW_AFTER
        self._stored = await self._stored_overrides(start, end, problems)
        self._remote_problems = problems

    def merged(self, at: datetime | None = None) -> Directory:
        """The directory file as it is (read again only when it changed) with its overrides.

        Its feed files read as they are, its URL feeds and the stored overrides as
        last refreshed; events are taken from ``WINDOW_BEFORE`` before ``at``
        (now) to ``WINDOW_AFTER`` after. Raises DirectoryError only when no valid
        directory file was ever read.
        """
        at = self._instant(at)
        problems = list(self._remote_problems)
        directory = self._directory_file(problems)
        start, end = at - WINDOW_BEFORE, at + WINDOW_AFTER
        extra: dict[str, list[Override]] = {}
        for name, schedule in directory.schedules.items():
            for feed in schedule.ical:
                if self._is_url(feed):
                    text = self._last_fetched(feed, problems)
                else:
                    text = self._feed_file(feed, problems)
                if text is None:
                    continue
                source = f"schedule {name}: {self._shown(feed)}"
                try:
                    found = overrides_from_ical(
                        text,
                        directory,
                        time_zone=schedule.time_zone,
                        start=start,
                        end=end,
                        source=source,
                    )
                except IcalError as err:
                    problems.append(str(err))
                    continue
                except Exception as err:  # a feed the parser chokes on must not stop a page
                    problems.append(f"{source}: cannot read: {describe(err, [feed])}")
                    continue
                extra.setdefault(name, []).extend(found.overrides)
                problems += found.problems
        for stored in self._stored or []:
            extra.setdefault(stored.schedule, []).append(stored.override())
        merged, merge_problems = merge_overrides(directory, extra)
        self.problems = problems + merge_problems
        for problem in self.problems:
            if problem not in self._reported:
                self._reported.add(problem)
                log.warning("directory: %s", problem)
        return merged

    def _instant(self, at: datetime | None) -> datetime:
        return (at or self._clock()).astimezone(UTC)

    # --- the file ----------------------------------------------------------------

    def _directory_file(self, problems: list[str]) -> Directory:
        try:
            stat = self._path.stat()
            key = (stat.st_mtime_ns, stat.st_size)
            if self._file is not None and self._file[0] == key:
                return self._file[1]
            directory = parse_directory(self._path.read_text(), str(self._path))
        except OSError as err:
            error = DirectoryError(f"{self._path}: cannot read directory file: {err.strerror}")
            return self._last_good(error, problems)
        except DirectoryError as err:
            return self._last_good(err, problems)
        self._file = (key, directory)
        return directory

    def _last_good(self, error: DirectoryError, problems: list[str]) -> Directory:
        if self._file is None:
            raise error
        problems.append(f"{error}\n(the last valid directory file stays in force)")
        return self._file[1]

    # --- iCal feeds ----------------------------------------------------------------

    @staticmethod
    def _is_url(feed: str) -> bool:
        return feed.startswith(("http://", "https://"))

    def _shown(self, feed: str) -> str:
        return safe_url(feed) if self._is_url(feed) else feed

    def _last_fetched(self, url: str, problems: list[str]) -> str | None:
        cached = self._fetched_feeds.get(url)
        if cached is None and url not in self._attempted:
            problems.append(f"iCal feed {safe_url(url)}: not fetched yet (refresh)")
        return cached[1] if cached is not None else None

    def _feed_file(self, feed: str, problems: list[str]) -> str | None:
        path = Path(feed).expanduser()
        if not path.is_absolute():
            path = self._path.parent / path  # beside the directory file that names it
        try:
            stat = path.stat()
            key = (stat.st_mtime_ns, stat.st_size)
            cached = self._feed_files.get(feed)
            if cached is not None and cached[0] == key:
                return cached[1]
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as err:
            reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
            problems.append(f"iCal feed {path}: cannot read: {reason}")
            return None
        self._feed_files[feed] = (key, text)
        return text

    async def _fetched(self, url: str, problems: list[str]) -> None:
        """Fetch ``url`` unless its copy is younger than ``feed_ttl``; a failure keeps the copy."""
        self._attempted.add(url)
        now = self._clock()
        cached = self._fetched_feeds.get(url)
        if cached is not None and now - cached[0] < self._feed_ttl:
            return
        if self._http is None:
            self._http = httpx.AsyncClient()
        try:
            response = await self._http.get(url, timeout=FEED_TIMEOUT, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPStatusError as err:
            reason = f"answered {err.response.status_code}"
        except (httpx.HTTPError, httpx.InvalidURL) as err:
            reason = describe(err, [url])
        else:
            self._fetched_feeds[url] = (now, response.text)
            return
        stale = " (its last copy stands in)" if cached is not None else ""
        problems.append(f"iCal feed {safe_url(url)}: {reason}{stale}")

    # --- stored overrides ------------------------------------------------------------

    async def _stored_overrides(
        self, start: datetime, end: datetime, problems: list[str]
    ) -> list[StoredOverride]:
        if self._pool is None or self._database_url is None:
            return []
        try:
            pool = await self._pool.get()
            stored = await list_overrides(pool, ending_after=start, starting_before=end)
        except (OSError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError) as err:
            stale = " (the last ones read stand in)" if self._stored is not None else ""
            problems.append(
                f"stored overrides: Postgres at {safe_url(self._database_url)}: "
                f"{describe(err, [self._database_url])}{stale}"
            )
            return self._stored or []
        self._stored = stored
        return stored


__all__ = ["FEED_TTL", "WINDOW_AFTER", "WINDOW_BEFORE", "LiveDirectory"]
