"""The directory as paging reads it: the file as edited, its feeds, the stored overrides."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from activities import directory as directory_module
from activities.directory import LiveDirectory
from activities.overrides import add_override, list_overrides, remove_override
from activities.reach import DirectorySource
from dev.ports import free_port
from directory.load import DirectoryError, parse_directory
from directory.models import Directory
from directory.oncall import on_call

DIRECTORY = """
version: v1
people:
  ann: {name: Ann Arbor, contact: [{kind: email, address: ann@example.com}]}
  ben: {name: Ben Bay}
  cat: {name: Cat Cole}
schedules:
  primary:
    time_zone: Europe/London
    layers: [{name: w, rotation: weekly, start: 2026-01-05, members: [ben]}]
    ical: [cover.ics]
"""

COVER = """BEGIN:VCALENDAR
BEGIN:VEVENT
UID:c1
DTSTART:20260304T000000Z
DTEND:20260305T000000Z
SUMMARY:{who}
END:VEVENT
END:VCALENDAR
"""

NOW = datetime(2026, 3, 4, 12, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def write(path: Path, text: str, *, tick: int) -> Path:
    """Write ``text`` with a modification time of its own (``tick`` seconds after NOW)."""
    path.write_text(text)
    stamp = NOW.timestamp() + tick
    os.utime(path, (stamp, stamp))
    return path


@pytest.fixture
def files(tmp_path: Path) -> Path:
    write(tmp_path / "cover.ics", COVER.format(who="Ann Arbor"), tick=0)
    return write(tmp_path / "directory.yaml", DIRECTORY, tick=0)


async def test_feed_events_and_edits_to_the_file_apply_without_a_restart(
    files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []

    def parse(text: str, source: str) -> Directory:
        parsed.append(source)
        return parse_directory(text, source)

    monkeypatch.setattr(directory_module, "parse_directory", parse)
    directories = LiveDirectory(files, clock=Clock())
    try:
        first = await directories.current()
        assert on_call(first.schedules["primary"], NOW) == "ann"  # the feed's event
        assert directories.problems == []
        await directories.current()
        assert len(parsed) == 1  # unchanged since: not parsed again
        write(files.parent / "cover.ics", COVER.format(who="cat"), tick=1)
        write(files, DIRECTORY.replace("version: v1", "version: v2"), tick=1)
        second = await directories.current()
        assert second.version == "v2" and len(parsed) == 2
        assert on_call(second.schedules["primary"], NOW) == "cat"
        assert on_call(second.schedules["primary"], NOW + timedelta(days=1)) == "ben"
    finally:
        await directories.close()


async def test_a_broken_edit_keeps_the_last_valid_file_in_force(files: Path) -> None:
    directories = LiveDirectory(files, clock=Clock())
    await directories.current()
    write(files, DIRECTORY.replace("members: [ben]", "members: [zed]"), tick=2)
    kept = await directories.current()
    assert kept.version == "v1"
    assert directories.problems[0].startswith(f"{files}: invalid directory\n")
    assert "schedules.primary.layers.0.members: 'zed' is not a person" in directories.problems[0]
    await directories.close()


async def test_with_no_valid_file_yet_current_raises(tmp_path: Path) -> None:
    directories = LiveDirectory(tmp_path / "missing.yaml")
    with pytest.raises(DirectoryError, match="cannot read directory file: No such file"):
        await directories.current()


async def test_a_feed_url_is_fetched_once_per_five_minutes_and_its_last_copy_outlives_it(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path / "directory.yaml",
        DIRECTORY.replace("[cover.ics]", "['https://user:pw@cal.example/oncall/Secret123.ics']"),
        tick=0,
    )
    requests: list[httpx.Request] = []
    status = {"code": 200}

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(status["code"], text=COVER.format(who="ann"))

    clock = Clock()
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        directories = LiveDirectory(path, http=http, clock=clock)
        assert on_call((await directories.current()).schedules["primary"], NOW) == "ann"
        clock.now += timedelta(minutes=4)
        await directories.current()
        assert len(requests) == 1
        clock.now += timedelta(minutes=2)
        status["code"] = 503
        still = await directories.current()
        assert len(requests) == 2
        assert on_call(still.schedules["primary"], NOW) == "ann"
        assert directories.problems == [
            "iCal feed https://cal.example/oncall/***: answered 503 (its last copy stands in)"
        ]
        await directories.close()


async def test_postgres_unreachable_leaves_stored_overrides_out_and_says_so(files: Path) -> None:
    url = f"postgresql://warroom:secret@127.0.0.1:{free_port()}/warroom"
    directories = LiveDirectory(files, database_url=url, clock=Clock())
    found = await directories.current()
    assert on_call(found.schedules["primary"], NOW) == "ann"
    [problem] = directories.problems
    assert problem.startswith("stored overrides: Postgres at postgresql://127.0.0.1:")
    assert "secret" not in problem
    await directories.close()


# --- Postgres --------------------------------------------------------------------------


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    await connection.execute("DELETE FROM oncall_overrides")
    yield connection
    await connection.execute("DELETE FROM oncall_overrides")
    await connection.close()


async def test_overrides_are_added_listed_and_removed(conn: asyncpg.Connection) -> None:
    first = await add_override(
        conn,
        schedule="primary",
        person="cat",
        starts_at=NOW,
        ends_at=NOW + timedelta(hours=4),
        created_by="ann",
        note="swap",
    )
    second = await add_override(
        conn,
        schedule="secondary",
        person="ben",
        starts_at=NOW - timedelta(days=3),
        ends_at=NOW - timedelta(days=2),
        created_by="ann",
    )
    assert first.id < second.id and first.created_at.tzinfo is not None
    assert [o.id for o in await list_overrides(conn)] == [first.id, second.id]
    assert [o.id for o in await list_overrides(conn, schedule="primary")] == [first.id]
    assert [o.id for o in await list_overrides(conn, ending_after=NOW)] == [first.id]
    assert await list_overrides(conn, starting_before=NOW - timedelta(days=5)) == []
    assert first.override().note == f"swap (#{first.id}, ann)"
    assert (await remove_override(conn, first.id)) == first
    assert await remove_override(conn, first.id) is None
    with pytest.raises(ValueError, match="ends after it starts"):
        await add_override(
            conn, schedule="primary", person="cat", starts_at=NOW, ends_at=NOW, created_by="ann"
        )


async def test_stored_overrides_win_over_the_feed(
    files: Path, conn: asyncpg.Connection, database_url: str
) -> None:
    await add_override(
        conn,
        schedule="primary",
        person="cat",
        starts_at=NOW - timedelta(hours=1),
        ends_at=NOW + timedelta(hours=1),
        created_by="ben",
    )
    await add_override(  # a schedule the file no longer has
        conn,
        schedule="retired",
        person="cat",
        starts_at=NOW,
        ends_at=NOW + timedelta(hours=1),
        created_by="ben",
    )
    directories = LiveDirectory(files, database_url=database_url, clock=Clock())
    try:
        merged = await directories.current()
        primary = merged.schedules["primary"]
        assert on_call(primary, NOW) == "cat"  # stored, over the feed's ann
        assert on_call(primary, NOW + timedelta(hours=2)) == "ann"  # the feed again
        assert directories.problems == ["override for cat: no schedule 'retired'"]
    finally:
        await directories.close()


async def test_called_as_a_source_it_gives_the_directory_as_it_is_now(
    tmp_path: Path,
) -> None:
    url = "https://cal.example/cover.ics"
    path = write(
        tmp_path / "directory.yaml", DIRECTORY.replace("[cover.ics]", f"['{url}']"), tick=0
    )

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=COVER.format(who="ann"))

    clock = Clock()
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        directories = LiveDirectory(path, http=http, clock=clock)
        source: DirectorySource = directories
        now = await source()  # the feed is fetched: its cover is on call
        assert now is not None and on_call(now.schedules["primary"], NOW) == "ann"
        write(path, DIRECTORY.replace("[cover.ics]", f"['{url}']").replace("v1", "v2"), tick=3)
        changed = await source()  # the file is read again once it changes
        assert changed is not None and changed.version == "v2"
        await directories.close()
