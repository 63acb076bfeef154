"""Every command that sends a decision: one `_decision(...)` each, and `postmortem submit`.

A decision is a person's input to an incident, sent as a validated Temporal
update; the command prints the receipt (or exits 1 with the incident's reason).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import click
from temporalio.client import WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.service import RPCError

from incident.containment import ActionKind
from incident.impact import ComponentImpact
from incident.models import (
    Acknowledge,
    AddActionItem,
    AddNote,
    ApproveContainment,
    AssignRole,
    ChangeSeverity,
    CheckOff,
    Close,
    CompleteActionItem,
    Decision,
    DecisionReceipt,
    DeclareMitigated,
    DenyContainment,
    EnterDegradedMode,
    Escalate,
    IdentifyCause,
    IncidentState,
    LiftDegradedMode,
    Phase,
    PostCustomerUpdate,
    PostmortemStatus,
    PostStatusUpdate,
    ProposeContainment,
    RaiseFlag,
    ReassignActionItem,
    Reopen,
    ReopenActionItem,
    Resolve,
    Role,
    SetImpact,
    Status,
    SubmitPostmortem,
    TimerKind,
)
from starter.api import IncidentHandle
from starter.api_client import (
    ApiError,
    Forbidden,
    Invalid,
    NotFound,
    Rejected,
    Unauthorized,
    Unavailable,
    send_decision,
)
from starter.cli import render
from starter.cli.base import (
    EXIT_DENIED,
    EXIT_NOT_FOUND,
    EXIT_REJECTED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    Context,
    fail,
    pass_context,
    run_async,
    severity_named,
)
from starter.cli.incidents import QUERY_TIMEOUT, state_and_timers
from starter.follow_up import NoMoreDecisions, decide_on
from workflows.incident import IncidentWorkflow


async def _decide(ctx: Context, incident: str, make: Callable[[str], Decision]) -> None:
    api_url, token = ctx.settings.api_url, ctx.settings.api_token
    handle: IncidentHandle | None = None
    if api_url is not None and token is not None:
        receipt = await _through_api(api_url, token.get_secret_value(), incident, make)
    else:
        decision = make(ctx.actor)  # no one to record: a usage error before anything is sent
        handle = await ctx.incident(incident)
        if isinstance(decision, Close):
            # A closed incident's workflow has completed and takes no update: say it is done.
            state, _ = await state_and_timers(handle)
            if state.phase is Phase.CLOSED:
                _already_closed(ctx, state)
                return
        try:
            receipt = await decide_on(await ctx.client(), handle, decision)
        except NoMoreDecisions as ended:
            fail(EXIT_REJECTED, str(ended))
    data = receipt.model_dump(mode="json")
    text = (
        f"{receipt.human_id} {render.phase(receipt.phase.value)}/{receipt.status.value}: "
        f"{receipt.event.text}"
    )
    if receipt.event.kind == "resolution_declared" and receipt.status is Status.MONITORING:
        # Declared, not resolved yet: say what it waits for and until when.
        due = await _recovery_check_due(handle) if handle is not None else None
        data["resolves_at"] = due.isoformat() if due else None
        until = f"at {render.when(due)}" if due else "once the quiet window passes"
        text += (
            f"\n{receipt.human_id} monitoring recovery: resolves {until} "
            "if no alert fires and the SLO probes hold"
        )
    ctx.out(data, text)


def _already_closed(ctx: Context, state: IncidentState) -> None:
    closing = next((e for e in reversed(state.timeline) if e.kind == "closed"), None)
    how = f" by {render.actor(closing)}" if closing else ""
    why = f": {closing.reason}" if closing and closing.reason else ""
    ctx.out(
        {
            "human_id": state.human_id,
            "phase": state.phase.value,
            "closed_at": state.closed_at,
            "already_closed": True,
        },
        f"{state.human_id} is already closed (closed {render.when(state.closed_at)}{how}{why}); "
        "nothing to do",
    )


async def _recovery_check_due(handle: IncidentHandle) -> datetime | None:
    """When the incident next checks recovery; None if it does not say (the decision stands)."""
    try:
        timers = await handle.query(IncidentWorkflow.timers, rpc_timeout=QUERY_TIMEOUT)
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError, RPCError):
        return None
    return next((t.due for t in timers if t.kind is TimerKind.RECOVERY_CHECK), None)


API_EXIT_CODES: dict[type[ApiError], int] = {
    Rejected: EXIT_REJECTED,
    Unauthorized: EXIT_DENIED,
    Forbidden: EXIT_DENIED,
    NotFound: EXIT_NOT_FOUND,
    Invalid: EXIT_USAGE,
    Unavailable: EXIT_UNREACHABLE,
}


async def _through_api(
    api_url: str, token: str, incident: str, make: Callable[[str], Decision]
) -> DecisionReceipt:
    """Send the decision through Warroom's HTTP service: the token says who acts."""
    try:
        return await send_decision(api_url, token, incident, make("(the token's person)"))
    except ApiError as err:
        fail(API_EXIT_CODES.get(type(err), EXIT_REJECTED), str(err))


COMMANDS: dict[type[Decision], str] = {}
"""The command that sends each kind of decision (a test checks none is missing)."""
DECISION_COMMANDS: list[click.Command] = []
"""The decision commands main.py adds to `warroom` itself (`postmortem submit` is in its group)."""


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
    DECISION_COMMANDS.append(click.command(name, help=help_text)(command))


_decision(
    "ack",
    Acknowledge,
    "Acknowledge: stop paging the on-call rotation.",
    build=lambda reason: lambda actor: Acknowledge(actor=actor, reason=reason),
)
_decision(
    "escalate",
    Escalate,
    "Bring in the next level of the escalation policy now.",
    click.option("--ask", help="What you need from them (the notice's requested action)."),
    build=lambda reason, ask: lambda actor: Escalate(actor=actor, reason=reason, ask=ask),
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
    click.option(
        "--action",
        "actions",
        multiple=True,
        help="A current action with its owner ('roll back v42 - dana'); repeat for more.",
    ),
    click.option("--next", "next_steps", multiple=True, help="A next step; repeat for more."),
    click.option("--eta", help="When you expect it fixed, in your words."),
    build=lambda reason, message, new_status, actions, next_steps, eta: (
        lambda actor: PostStatusUpdate(
            actor=actor,
            reason=reason,
            message=message,
            status=Status(new_status) if new_status else None,
            actions=list(actions),
            next_steps=list(next_steps),
            eta=eta,
        )
    ),
)
_decision(
    "customer",
    PostCustomerUpdate,
    "Post a customer update to the status page and customer channels; without MESSAGE, "
    "the policy's template for where the incident stands (initial, progress, resolution).",
    click.argument("message", required=False),
    click.option(
        "--impact",
        type=click.Choice([i.value for i in ComponentImpact]),
        help="How the service looks to customers from now on (default: the severity's).",
    ),
    build=lambda reason, message, impact: (
        lambda actor: PostCustomerUpdate(
            actor=actor,
            reason=reason,
            message=message,
            impact=ComponentImpact(impact) if impact else None,
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
    "Raise an immediate-escalation flag (data_loss, security_breach, policy_bypass, ...).",
    click.argument("flag"),
    click.option(
        "--amount",
        type=click.FloatRange(min=0),
        help="How much, for a flag with a threshold (revenue_impact).",
    ),
    build=lambda reason, flag, amount: (
        lambda actor: RaiseFlag(actor=actor, reason=reason, flag=flag, amount=amount)
    ),
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
    click.option(
        "--verified",
        multiple=True,
        help="A checklist item you vouch for as you resolve (fix, verified, ...); repeat.",
    ),
    build=lambda reason, root_cause, verified: (
        lambda actor: Resolve(
            actor=actor, reason=reason, root_cause=root_cause, verified=list(verified)
        )
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
    "action-item-done",
    CompleteActionItem,
    "An action item is done; its reminders stop.",
    click.argument("item_id", type=int),
    click.option("--note", help="What was done (a link to the change)."),
    build=lambda reason, item_id, note: (
        lambda actor: CompleteActionItem(actor=actor, reason=reason, item_id=item_id, note=note)
    ),
)
_decision(
    "action-item-reassign",
    ReassignActionItem,
    "Give an action item to someone else; they are told and reminded from now on.",
    click.argument("item_id", type=int),
    click.argument("owner"),
    build=lambda reason, item_id, owner: (
        lambda actor: ReassignActionItem(actor=actor, reason=reason, item_id=item_id, owner=owner)
    ),
)
_decision(
    "action-item-reopen",
    ReopenActionItem,
    "Reopen a done action item. Needs --reason.",
    click.argument("item_id", type=int),
    build=lambda reason, item_id: (
        lambda actor: ReopenActionItem(actor=actor, reason=reason, item_id=item_id)
    ),
)
_decision(
    "check",
    CheckOff,
    "Tick a checklist item by hand (by key, e.g. fix, verified, runbooks); --undo unticks it.",
    click.argument("item"),
    click.option("--note", help="What shows it is done."),
    click.option("--undo", is_flag=True, help="Untick it."),
    build=lambda reason, item, note, undo: (
        lambda actor: CheckOff(actor=actor, reason=reason, item=item, note=note, done=not undo)
    ),
)
_decision(
    "impact",
    SetImpact,
    "Say what the incident costs; options left out keep their value.",
    click.option("--users", "users_affected", help="Users (or agents, orgs) affected."),
    click.option("--traffic", "traffic_percent", type=float, help="Share of traffic hit, in %."),
    click.option("--revenue", "revenue_impact", help="Revenue impact ('about $4k an hour')."),
    click.option("--data", "data_impact", help="What happened to data."),
    click.option(
        "--data-loss/--no-data-loss",
        default=None,
        help="Data was (not) lost; confirmed loss raises the data_loss flag.",
    ),
    click.option("--summary", help="The impact in one sentence."),
    build=lambda reason, users_affected, traffic_percent, revenue_impact, data_impact, data_loss, summary: (  # noqa: E501
        lambda actor: SetImpact(
            actor=actor,
            reason=reason,
            users_affected=users_affected,
            traffic_percent=traffic_percent,
            revenue_impact=revenue_impact,
            data_impact=data_impact,
            data_loss=data_loss,
            summary=summary,
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


@click.command("submit")
@click.argument("incident")
@click.option(
    "--status", "pm_status", required=True, type=click.Choice([s.value for s in PostmortemStatus])
)
@click.option("--scheduled-for", type=click.DateTime(), help="Meeting time (local).")
@click.option("--document-url")
@click.option("--summary", default="")
@click.option("--factor", "factors", multiple=True, help="A contributing factor; repeat.")
@click.option("--lesson", "lessons", multiple=True, help="A lesson learned; repeat.")
@click.option("--why", "whys", multiple=True, help="One of the 5 Whys, in order; repeat.")
@click.option("--went-well", multiple=True, help="What went well; repeat.")
@click.option("--to-improve", multiple=True, help="What could be improved; repeat.")
@click.option("--revenue-impact")
@click.option("--reputation-impact")
@click.option("--owner", help="Who sees the postmortem through to final.")
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
    factors: tuple[str, ...],
    lessons: tuple[str, ...],
    whys: tuple[str, ...],
    went_well: tuple[str, ...],
    to_improve: tuple[str, ...],
    revenue_impact: str | None,
    reputation_impact: str | None,
    owner: str | None,
    reason: str | None,
) -> None:
    """Record the postmortem; a final one closes the incident. Lists (factors, lessons, whys,
    went-well, to-improve) replace what was submitted before when given."""
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
            contributing_factors=list(factors),
            lessons=list(lessons),
            whys=list(whys),
            went_well=list(went_well),
            to_improve=list(to_improve),
            revenue_impact=revenue_impact,
            reputation_impact=reputation_impact,
            owner=owner,
        ),
    )


# starter/cli/postmortem.py places it in the `postmortem` group.
COMMANDS[SubmitPostmortem] = "postmortem submit"
