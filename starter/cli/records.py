"""What the incident record (Postgres) answers and needs: `warroom report`, `warroom db upgrade`."""

from __future__ import annotations

from datetime import datetime

import click

from incident.durations import parse_duration
from starter.cli import render
from starter.cli.base import EXIT_USAGE, Context, database_errors, fail, pass_context, run_async
from starter.postgres import upgrade as upgrade_database
from starter.records import REPORT_HEADERS
from starter.records import report as records_report


@click.command()
@click.option("--since", default="30d", show_default=True, help="How far back (e.g. 7d, 2w).")
@click.option(
    "--by", type=click.Choice(["severity", "service"]), default="severity", show_default=True
)
@pass_context
@run_async
async def report(ctx: Context, since: str, by: str) -> None:
    """MTTA, MTTR, time in each phase, breaches, overdue postmortems and action items."""
    try:
        window = parse_duration(since)
    except ValueError as err:
        fail(EXIT_USAGE, f"--since: {err}")
    now = datetime.now().astimezone()
    url = ctx.database_url()
    with database_errors(url):
        rows = await records_report(url, since=now - window, until=now, by=by)  # type: ignore[arg-type]
    text = (
        render.table(REPORT_HEADERS, [r.cells() for r in rows])
        if rows
        else (f"no incidents declared in the last {since}")
    )
    ctx.out([r.as_json() for r in rows], text)


@click.group()
def db() -> None:
    """The incident record's database."""


@db.command("upgrade")
@pass_context
@run_async
async def db_upgrade(ctx: Context) -> None:
    """Apply the schema migrations this Warroom ships."""
    url = ctx.database_url()
    with database_errors(url):
        applied = await upgrade_database(url)
    ctx.out(applied, "\n".join(f"applied {name}" for name in applied) or "already up to date")
