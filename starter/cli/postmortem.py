"""`warroom postmortem`: show the draft the record renders, or submit the postmortem.

Submitting is a decision, so `postmortem submit` is defined with the other
decision commands (starter/cli/decisions.py) and only placed in this group here.
"""

from __future__ import annotations

import click

from starter.cli.base import EXIT_NOT_FOUND, Context, database_errors, fail, pass_context, run_async
from starter.cli.decisions import postmortem_submit
from starter.records import NoRecord, postmortem_draft


@click.group()
def postmortem() -> None:
    """Show or submit an incident's postmortem."""


@postmortem.command("show")
@click.argument("incident")
@pass_context
@run_async
async def postmortem_show(ctx: Context, incident: str) -> None:
    """The postmortem draft, rendered from the stored timeline."""
    url = ctx.database_url()
    try:
        with database_errors(url):
            draft = await postmortem_draft(url, incident)
    except NoRecord as err:
        fail(EXIT_NOT_FOUND, str(err))
    ctx.out({"draft": draft}, draft)


postmortem.add_command(postmortem_submit)
