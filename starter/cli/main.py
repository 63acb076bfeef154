"""`warroom`: run the stack locally and steer incidents from the terminal.

The root group and the console entry point. The commands live in one module
per domain (stack, incidents, decisions, postmortem, records), on the plumbing
and exit codes of base.py, and are added to `cli` below: a new command group
is one module and one `cli.add_command` line.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import click

from starter.cli import decisions, incidents, oncall, postmortem, records, stack, tokens
from starter.cli.base import EXIT_USAGE, Context, SharedOptionsGroup


@click.group(
    cls=SharedOptionsGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option("--address", envvar="TEMPORAL_ADDRESS", help="Temporal frontend host:port.")
@click.option("--namespace", envvar="TEMPORAL_NAMESPACE", help="Temporal namespace.")
@click.option("--as", "actor", help="Who is acting (default: WARROOM_ACTOR, config, $USER).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.version_option(package_name="warroom")
@click.pass_context
def cli(
    ctx: click.Context, address: str | None, namespace: str | None, actor: str | None, as_json: bool
) -> None:
    """Warroom: every production incident as one durable Temporal workflow.

    Incidents are named by their human ID (INC-7K3QXD) or workflow ID.
    """
    ctx.obj = Context(address, namespace, actor, as_json)


cli.add_command(stack.up)
cli.add_command(stack.demo)
cli.add_command(incidents.list_incidents)
cli.add_command(incidents.show)
cli.add_command(incidents.watch)
cli.add_command(incidents.declare)
for command in decisions.DECISION_COMMANDS:
    cli.add_command(command)
cli.add_command(postmortem.postmortem)
cli.add_command(records.report)
cli.add_command(records.db)
cli.add_command(tokens.tokens)
cli.add_command(oncall.oncall)
cli.add_command(oncall.override)
cli.add_command(oncall.directory_group)


def main() -> None:
    """Console entry point."""
    try:
        cli(standalone_mode=False)
    except click.exceptions.Exit as done:
        _exit(done.exit_code)
    except click.UsageError as err:
        err.show()
        _exit(EXIT_USAGE)
    except click.ClickException as err:
        err.show()
        _exit(err.exit_code)
    except click.exceptions.Abort:
        _exit(130)
    except SystemExit as done:
        _exit(done.code if isinstance(done.code, int) else 0)
    _exit(0)


def _exit(code: int) -> NoReturn:
    # The SDK's core threads can abort interpreter shutdown; leave without finalisers.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
