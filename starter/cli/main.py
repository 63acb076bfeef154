"""`warroom`: run the stack locally and steer incidents from the terminal.

The exit codes are in starter/cli/base.py.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from incident.containment import ActionKind
from incident.models import (
    Acknowledge,
    AddActionItem,
    AddNote,
    ApproveContainment,
    AssignRole,
    ChangeSeverity,
    Close,
    Decision,
    DeclareMitigated,
    DenyContainment,
    EnterDegradedMode,
    IdentifyCause,
    LiftDegradedMode,
    PostmortemStatus,
    PostStatusUpdate,
    ProposeContainment,
    RaiseFlag,
    Reopen,
    Resolve,
    Role,
    Status,
    SubmitPostmortem,
)
from starter.api import decide
from starter.cli import incidents, records, render, stack
from starter.cli.base import (
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    Context,
    database_errors,
    fail,
    pass_context,
    run_async,
    severity_named,
)
from starter.records import NoRecord, postmortem_draft


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
cli.add_command(records.report)
cli.add_command(records.db)


# --- decisions ------------------------------------------------------------------


async def _decide(ctx: Context, incident: str, make: Callable[[str], Decision]) -> None:
    handle = await ctx.incident(incident)
    receipt = await decide(handle, make(ctx.actor))
    ctx.out(
        receipt.model_dump(mode="json"),
        f"{receipt.human_id} {render.phase(receipt.phase.value)}/{receipt.status.value}: "
        f"{receipt.event.text}",
    )


COMMANDS: dict[type[Decision], str] = {}
"""The command that sends each kind of decision (a test checks none is missing)."""


def _decision(
    name: str,
    sends: type[Decision],
    help_text: str,
    *options: Callable[[Any], Any],
    build: Callable[..., Callable[[str], Decision]],
) -> None:
    """Register a decision command: INCIDENT plus its options, and --reason."""
    COMMANDS[sends] = name

    @pass_context
    @run_async
    async def command(ctx: Context, incident: str, reason: str | None, **values: Any) -> None:
        await _decide(ctx, incident, build(reason=reason, **values))

    # Click lists parameters in the reverse order of decoration: INCIDENT goes on last.
    for option in reversed(options):
        command = option(command)
    command = click.option("--reason", help="Why; lands on the timeline.")(command)
    command = click.argument("incident")(command)
    cli.command(name, help=help_text)(command)


_decision(
    "ack",
    Acknowledge,
    "Acknowledge: stop paging the on-call rotation.",
    build=lambda reason: lambda actor: Acknowledge(actor=actor, reason=reason),
)
_decision(
    "assign",
    AssignRole,
    "Give an incident role to a person.",
    click.argument(
        "role", type=click.Choice([r.value for r in Role] + ["commander", "tech", "comms"])
    ),
    click.argument("person"),
    build=lambda reason, role, person: (
        lambda actor: AssignRole(actor=actor, reason=reason, role=_role(role), person=person)
    ),
)
_decision(
    "severity",
    ChangeSeverity,
    "Re-grade the incident; every timer is re-planned. Needs --reason.",
    click.argument("level"),
    build=lambda reason, level: (
        lambda actor: ChangeSeverity(actor=actor, reason=reason, severity=severity_named(level))
    ),
)
_decision(
    "update",
    PostStatusUpdate,
    "Post a status update (resets the communication cadence).",
    click.argument("message"),
    click.option("--status", "new_status", type=click.Choice(["investigating", "identified"])),
    build=lambda reason, message, new_status: (
        lambda actor: PostStatusUpdate(
            actor=actor,
            reason=reason,
            message=message,
            status=Status(new_status) if new_status else None,
        )
    ),
)
_decision(
    "note",
    AddNote,
    "Add a note to the timeline.",
    click.argument("text"),
    build=lambda reason, text: lambda actor: AddNote(actor=actor, reason=reason, text=text),
)
_decision(
    "flag",
    RaiseFlag,
    "Raise an immediate-escalation flag (data_loss, security_breach, ...).",
    click.argument("flag"),
    build=lambda reason, flag: lambda actor: RaiseFlag(actor=actor, reason=reason, flag=flag),
)
_decision(
    "mitigate",
    DeclareMitigated,
    "Impact contained: start watching recovery. Needs --reason.",
    build=lambda reason: lambda actor: DeclareMitigated(actor=actor, reason=reason),
)
_decision(
    "resolve",
    Resolve,
    "Declare resolution; resolves once the recovery criteria hold.",
    click.option("--root-cause", required=True, help="What caused it."),
    build=lambda reason, root_cause: (
        lambda actor: Resolve(actor=actor, reason=reason, root_cause=root_cause)
    ),
)
_decision(
    "reopen",
    Reopen,
    "Send the incident back to responding. Needs --reason.",
    build=lambda reason: lambda actor: Reopen(actor=actor, reason=reason),
)
_decision(
    "action-item",
    AddActionItem,
    "Add a follow-up task; due date from the priority's SLA.",
    click.argument("description"),
    click.option("--owner", required=True),
    click.option(
        "--priority", type=click.Choice(["P1", "P2", "P3", "P4"]), default="P2", show_default=True
    ),
    build=lambda reason, description, owner, priority: (
        lambda actor: AddActionItem(
            actor=actor, reason=reason, description=description, owner=owner, priority=priority
        )
    ),
)
_decision(
    "contain",
    ProposeContainment,
    "Propose a containment action; the policy's autonomy decides whether it runs.",
    click.argument("kind", metavar="KIND", type=click.Choice([k.value for k in ActionKind])),
    click.argument("target"),
    click.option("--version", "to_version", help="Rollback: the version to go back to."),
    build=lambda reason, kind, target, to_version: (
        lambda actor: ProposeContainment(
            actor=actor,
            reason=reason,
            kind=ActionKind(kind),
            target=target,
            params={"version": to_version} if to_version else {},
        )
    ),
)
_decision(
    "approve",
    ApproveContainment,
    "Approve a containment action (incident commander or technical lead).",
    click.argument("action_id", type=int),
    build=lambda reason, action_id: (
        lambda actor: ApproveContainment(actor=actor, reason=reason, action_id=action_id)
    ),
)
_decision(
    "deny",
    DenyContainment,
    "Deny a containment action. Needs --reason.",
    click.argument("action_id", type=int),
    build=lambda reason, action_id: (
        lambda actor: DenyContainment(actor=actor, reason=reason, action_id=action_id)
    ),
)
_decision(
    "degrade",
    EnterDegradedMode,
    "Degraded mode for an org: L1, emergency denylist, paused triggers, as one.",
    click.argument("org"),
    build=lambda reason, org: lambda actor: EnterDegradedMode(actor=actor, reason=reason, org=org),
)
_decision(
    "lift",
    LiftDegradedMode,
    "Lift degraded mode for an org, as one.",
    click.argument("org"),
    build=lambda reason, org: lambda actor: LiftDegradedMode(actor=actor, reason=reason, org=org),
)
_decision(
    "cause",
    IdentifyCause,
    "Record the cause (recent_deployment, infrastructure, code_bug, external_dependency).",
    click.argument("cause"),
    build=lambda reason, cause: (
        lambda actor: IdentifyCause(actor=actor, reason=reason, cause=cause)
    ),
)
_decision(
    "close",
    Close,
    "Close the incident (P0-P2 need a final postmortem).",
    build=lambda reason: lambda actor: Close(actor=actor, reason=reason),
)


def _role(value: str) -> Role:
    return {
        "commander": Role.INCIDENT_COMMANDER,
        "tech": Role.TECHNICAL_LEAD,
        "comms": Role.COMMUNICATIONS_LEAD,
    }.get(value) or Role(value)


@cli.group()
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


@postmortem.command("submit")
@click.argument("incident")
@click.option(
    "--status", "pm_status", required=True, type=click.Choice([s.value for s in PostmortemStatus])
)
@click.option("--scheduled-for", type=click.DateTime(), help="Meeting time (local).")
@click.option("--document-url")
@click.option("--summary", default="")
@click.option("--reason")
@pass_context
@run_async
async def postmortem_submit(
    ctx: Context,
    incident: str,
    pm_status: str,
    scheduled_for: Any,
    document_url: str | None,
    summary: str,
    reason: str | None,
) -> None:
    """Record the postmortem; a final one closes the incident."""
    when = scheduled_for.astimezone() if scheduled_for else None
    await _decide(
        ctx,
        incident,
        lambda actor: SubmitPostmortem(
            actor=actor,
            reason=reason,
            status=PostmortemStatus(pm_status),
            scheduled_for=when,
            document_url=document_url,
            summary=summary,
        ),
    )


COMMANDS[SubmitPostmortem] = "postmortem submit"


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
