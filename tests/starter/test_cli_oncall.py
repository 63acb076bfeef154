"""`warroom oncall`, `override` and `directory`: readable at 3 a.m., refusing what names nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from click.testing import CliRunner, Result

from starter.cli.base import EXIT_NOT_FOUND, EXIT_USAGE
from starter.cli.main import cli
from starter.cli.oncall import parse_time, relative
from starter.sample import sample_directory_file
from tests.support.processes import cli_env, warroom

FRIDAY = "2026-03-27T08:00:00Z"
"""A Friday before the spring change in London: carol is primary, dave secondary."""


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    return {
        "WARROOM_DIRECTORY": str(sample_directory_file()),
        "WARROOM_HOME": str(tmp_path / "home"),
        "DATABASE_URL": "",
        "WARROOM_POLICY": "",
        "WARROOM_ACTOR": "tester",
        "NO_COLOR": "1",
    }


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_oncall_for_a_service_shows_each_schedule_each_level_and_the_next_handoffs(
    environment: dict[str, str],
) -> None:
    done = invoke(environment, "oncall", "checkout", "--at", FRIDAY)
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert lines[0] == "checkout  team platform, escalation platform-default, channel #inc-platform"
    assert lines[3:8] == [
        "primary  (weekly, Europe/London)",
        "  on call   Carol Nguyen (carol)  until Mon 30 Mar 09:00 BST (in 3 d)",
        "  Mon 30 Mar 09:00 BST   in 3 d         carol → alice",
        "  Mon 06 Apr 09:00 BST   in 10 d        alice → bob",
        "  Mon 13 Apr 09:00 BST   in 17 d        bob → carol",
    ]
    assert "  on call   Dave Patel (dave)  until Fri 27 Mar 09:00 GMT (in 1 h)" in lines
    assert "  Sun 29 Mar 09:00 BST   in 2 d         carol → alice" in lines  # across the change
    assert lines[-6:] == [
        "  level 1  schedule primary             → Carol Nguyen (carol)",
        "           unacknowledged after 5m: then level 2",
        "  level 2  schedule secondary           → Dave Patel (dave)",
        "           unacknowledged after 10m: then level 3",
        "  level 3  person dave                  → Dave Patel (dave)",
        "           unacknowledged after 10m: then from level 1 again",
    ]
    assert "no database set up" in done.stderr  # stored overrides could not be read: said


def test_oncall_json_for_scripts(environment: dict[str, str]) -> None:
    done = invoke(environment, "--json", "oncall", "checkout", "--at", FRIDAY)
    assert done.exit_code == 0, done.output
    shown = json.loads(done.stdout)
    assert shown["at"] == "2026-03-27T08:00:00+00:00"
    primary, secondary = shown["schedules"]
    assert (primary["on_call"], secondary["on_call"]) == ("carol", "dave")
    assert primary["handoffs"][0] == {
        "at": "2026-03-30T08:00:00+00:00",
        "local": "2026-03-30T09:00:00+01:00",
        "from": "carol",
        "to": "alice",
        "in_seconds": 3 * 86400,
    }
    assert [lvl["targets"][0]["reaches"] for lvl in shown["escalation"]["levels"]] == [
        ["carol"],
        ["dave"],
        ["dave"],
    ]


def test_oncall_without_a_service_shows_every_schedule(environment: dict[str, str]) -> None:
    done = invoke(environment, "--json", "oncall", "--at", FRIDAY)
    shown = json.loads(done.stdout)
    assert [s["schedule"] for s in shown["schedules"]] == ["primary", "secondary"]
    assert shown["escalation"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("oncall", "search"), "no service 'search' in the directory; services: api, checkout"),
        (("oncall", "--at", "yesterday"), "'yesterday' is not a time"),
        (("override", "primary", "zed", "--to", "+1h"), "'zed' is not a person"),
        (("override", "nightly", "alice", "--to", "+1h"), "no schedule 'nightly'"),
        (("override", "primary", "alice", "--from", "+2h", "--to", "+1h"), "--to must be after"),
        (("override", "primary", "alice"), "Missing option '--to'"),
    ],
)
def test_what_names_nothing_is_a_usage_error(
    environment: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    done = invoke(environment, *args)
    assert done.exit_code == EXIT_USAGE
    assert message in done.stderr


def test_without_a_directory_the_cli_says_where_to_set_one(environment: dict[str, str]) -> None:
    done = invoke({**environment, "WARROOM_DIRECTORY": ""}, "oncall")
    assert done.exit_code == EXIT_USAGE
    assert "no directory: set WARROOM_DIRECTORY" in done.stderr
    assert "or run `warroom up` in this directory" in done.stderr


def test_without_warroom_directory_the_file_warroom_up_pages_is_read(
    environment: dict[str, str], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "directory_path").write_text(f"{sample_directory_file()}\n")  # as `warroom up` left it
    env = {**environment, "WARROOM_DIRECTORY": ""}
    shown = json.loads(invoke(env, "--json", "oncall", "checkout", "--at", FRIDAY).stdout)
    assert [s["on_call"] for s in shown["schedules"]] == ["carol", "dave"]
    alice = invoke(env, "directory", "show", "alice")
    assert alice.exit_code == 0, alice.output
    assert alice.stdout.splitlines()[0] == "Alice Okafor (alice)  Europe/London"
    checked = invoke(env, "directory", "check")
    assert checked.stdout.startswith(f"ok: {sample_directory_file()} ")
    elsewhere = tmp_path / "yours.yaml"  # WARROOM_DIRECTORY, when set, wins
    named = invoke({**env, "WARROOM_DIRECTORY": str(elsewhere)}, "directory", "show", "alice")
    assert named.exit_code == EXIT_USAGE and f"{elsewhere}: cannot read" in named.stderr


def test_directory_check_summarises_a_good_file(environment: dict[str, str]) -> None:
    done = invoke(environment, "directory", "check")
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines()[:4] == [
        f"ok: {sample_directory_file()} (version sample-1)",
        "  people      7: alice, bob, carol, dave, erin, frank, grace",
        "  teams       1: platform (5 members, schedules primary, secondary)",
        "  services    2: checkout, api (default)",
    ]
    assert "note:" not in done.stdout  # every position the policy names is filled


def test_directory_check_names_file_field_and_reason(
    environment: dict[str, str], tmp_path: Path
) -> None:
    broken = tmp_path / "directory.yaml"
    text = sample_directory_file().read_text()
    broken.write_text(text.replace("members: [alice, bob, carol]", "members: [alice, zed]"))
    done = invoke(environment, "directory", "check", str(broken))
    assert done.exit_code == EXIT_USAGE
    assert f"{broken}: invalid directory" in done.stderr
    assert "schedules.primary.layers.0.members: 'zed' is not a person" in done.stderr
    unfilled = tmp_path / "unfilled.yaml"
    unfilled.write_text(text.replace("  CEO: [grace]\n", ""))
    shown = json.loads(invoke(environment, "--json", "directory", "check", str(unfilled)).stdout)
    assert shown["unfilled_positions"] == ["CEO"]


def test_directory_show_a_person_a_service_a_position(environment: dict[str, str]) -> None:
    alice = invoke(environment, "directory", "show", "alice").stdout.splitlines()
    assert alice[0] == "Alice Okafor (alice)  Europe/London"
    assert alice[1:3] == [
        "  contact    console alice; email alice@example.com",
        "  notify     at once: console; after 2m: email",
    ]
    assert "  schedules  primary, secondary" in alice
    checkout = invoke(environment, "directory", "show", "checkout").stdout
    assert "escalation  platform-default, repeat 1" in checkout
    assert "level 1  schedule primary, next after 5m" in checkout
    vp = invoke(environment, "directory", "show", "VP Engineering").stdout
    assert vp.strip() == "VP Engineering  Frank Moreau (frank)"
    nobody = invoke(environment, "directory", "show", "zed")
    assert nobody.exit_code == EXIT_NOT_FOUND
    assert "no person, service or position 'zed'" in nobody.stderr


def test_times_are_iso_now_or_an_offset() -> None:
    now = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    assert parse_time("now", now) == now
    assert parse_time(" +2h ", now) == now + timedelta(hours=2)
    assert parse_time("-30m", now) == now - timedelta(minutes=30)
    assert parse_time("+1d12h", now) == now + timedelta(hours=36)
    assert parse_time("2026-03-04T09:00Z", now) == datetime(2026, 3, 4, 9, tzinfo=UTC)
    assert parse_time("2026-03-04T10:00+01:00", now) == datetime(2026, 3, 4, 9, tzinfo=UTC)
    naive = parse_time("2026-03-04T09:00", now)
    assert naive.tzinfo is not None and naive == datetime(2026, 3, 4, 9).astimezone()
    for bad in ("soon", "+soon", "2026-13-01"):
        with pytest.raises(ValueError, match="is not"):
            parse_time(bad, now)


def test_relative_times_at_a_glance() -> None:
    assert relative(timedelta(seconds=30)) == "now"
    assert relative(timedelta(minutes=25)) == "in 25 min"
    assert relative(timedelta(hours=3)) == "in 3 h"
    assert relative(timedelta(hours=3, minutes=20)) == "in 3 h 20 min"
    assert relative(timedelta(days=2, hours=4, minutes=59)) == "in 2 d 4 h"
    assert relative(-timedelta(minutes=5)) == "5 min ago"


# --- with Postgres ------------------------------------------------------------------------


@pytest.fixture
async def with_database(environment: dict[str, str], database_url: str) -> dict[str, str]:
    conn = await asyncpg.connect(database_url)
    await conn.execute("DELETE FROM oncall_overrides")
    await conn.close()
    return {**environment, "DATABASE_URL": database_url}


def test_an_override_is_added_shown_listed_and_removed(with_database: dict[str, str]) -> None:
    added = invoke(
        with_database,
        "override",
        "primary",
        "erin",
        "--from",
        "-1m",
        "--to",
        "+2h",
        "--note",
        "carol at the dentist",
    )
    assert added.exit_code == 0, added.output
    assert "Erin Walsh (erin) on call for primary from" in added.stdout
    assert added.stdout.rstrip().endswith("— carol at the dentist")
    stored = json.loads(invoke(with_database, "--json", "override", "list").stdout)
    assert [(o["schedule"], o["person"], o["created_by"]) for o in stored] == [
        ("primary", "erin", "tester")
    ]
    now = json.loads(invoke(with_database, "--json", "oncall", "checkout").stdout)
    assert now["schedules"][0]["on_call"] == "erin"
    assert now["escalation"]["levels"][0]["targets"][0]["reaches"] == ["erin"]
    assert invoke(with_database, "override", "list", "secondary").stdout.strip() == "no overrides"
    table = invoke(with_database, "override", "list", "primary").stdout
    assert "carol at the dentist" in table and "erin" in table

    removed = invoke(with_database, "override", "remove", str(stored[0]["id"]))
    assert removed.exit_code == 0 and "removed override" in removed.stdout
    again = invoke(with_database, "override", "remove", str(stored[0]["id"]))
    assert again.exit_code == EXIT_NOT_FOUND
    assert f"no override #{stored[0]['id']}" in again.stderr


@pytest.mark.slow
async def test_the_installed_command_checks_the_sample() -> None:
    env = {
        **cli_env("127.0.0.1:1"),
        "WARROOM_DIRECTORY": str(sample_directory_file()),
        "WARROOM_POLICY": "",
    }
    done = await warroom("directory", "check", env=env)
    assert done.code == 0, done.err
    assert done.out.startswith(f"ok: {sample_directory_file()} (version sample-1)")
    refused = await warroom("oncall", "search", env=env)
    assert refused.code == EXIT_USAGE
