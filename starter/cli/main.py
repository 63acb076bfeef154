"""`warroom`: run the stack locally and steer incidents from the terminal.

Exit codes: 0 done, 1 decision rejected (the incident's reason is printed),
2 usage, 3 incident not found, 4 Temporal unreachable, 5 the incident did not
answer (no worker running for it), 6 Temporal refused the credentials or the
permission.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import sys
import tomllib
from collections.abc import Callable, Coroutine, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import asyncpg
import click
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError, RPCStatusCode
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_fixed

from activities.redact import describe
from incident import search_attributes as search
from incident.containment import ActionKind
from incident.durations import parse_duration
from incident.models import (
    Acknowledge,
    AddActionItem,
    AddNote,
    ApproveContainment,
    AssignRole,
    ChangeSeverity,
    Close,
    Decision,
    Declaration,
    DeclareMitigated,
    DenyContainment,
    EnterDegradedMode,
    IncidentState,
    LiftDegradedMode,
    Phase,
    PostmortemStatus,
    PostStatusUpdate,
    ProposeContainment,
    RaiseFlag,
    IdentifyCause,
    Reopen,
    Resolve,
    Role,
    Status,
    SubmitPostmortem,
)
from incident.policy import PolicyError, load_policy
from incident.severity import Severity
from settings import SettingsError, TemporalCredentialsRefused, TemporalUnreachable, connect
from starter.api import IncidentHandle, IncidentNotFound, decide, declare_incident, incident_handle
from starter.cli import render
from starter.cli.settings import CliSettings
from starter.postgres import upgrade as upgrade_database
from starter.records import REPORT_HEADERS, NoRecord, postmortem_draft
from starter.records import report as records_report
from workflows.incident import IncidentWorkflow

EXIT_REJECTED, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_UNREACHABLE = 1, 2, 3, 4
EXIT_NO_ANSWER, EXIT_DENIED = 5, 6
QUERY_TIMEOUT = timedelta(seconds=5)
"""How long a look at an incident waits for its workflow to answer."""
DECLARE_WAIT = timedelta(seconds=10)
"""How long `warroom declare` waits for a worker to declare the new incident."""
_DENIED = (RPCStatusCode.UNAUTHENTICATED, RPCStatusCode.PERMISSION_DENIED)
CONFIG_FILE = (
    Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "warroom" / "config.toml"
)
T = TypeVar("T")


class Context:
    """What every command needs: how to reach Temporal, who is acting, how to print."""

    def __init__(
        self, address: str | None, namespace: str | None, actor: str | None, as_json: bool
    ) -> None:
        config = _config()
        env = dict(os.environ)
        if address or config.get("address"):
            env["TEMPORAL_ADDRESS"] = address or str(config["address"])
        if namespace or config.get("namespace"):
            env["TEMPORAL_NAMESPACE"] = namespace or str(config["namespace"])
        try:
            self.settings = CliSettings.from_env(env)
        except SettingsError as err:
            fail(EXIT_USAGE, str(err))
        self.task_queue = self.settings.task_queue
        self.actor = actor or self.settings.actor or config.get("actor") or _login()
        self.as_json = as_json

    async def client(self) -> Client:
        try:
            return await connect(self.settings.temporal)
        except TemporalCredentialsRefused as err:
            fail(EXIT_DENIED, f"{err}; {_CREDENTIALS_HINT}")
        except TemporalUnreachable as err:
            fail(EXIT_UNREACHABLE, str(err))

    async def incident(self, ref: str) -> IncidentHandle:
        client = await self.client()
        try:
            handle = await incident_handle(client, ref)
            await handle.describe()
        except IncidentNotFound as err:
            fail(EXIT_NOT_FOUND, str(err))
        except RPCError as err:
            if err.status is RPCStatusCode.NOT_FOUND:
                fail(EXIT_NOT_FOUND, f"no incident {ref}")
            raise
        return handle

    def database_url(self) -> str:
        """DATABASE_URL, the config file's ``database_url``, or the one `warroom up` wrote."""
        found = self.settings.database_url or _config().get("database_url")
        if found:
            return str(found)
        written = self.settings.home / "database_url"
        if written.exists():
            return written.read_text().strip()
        fail(EXIT_USAGE, "no database: set DATABASE_URL (or run `warroom up` in this directory)")

    def out(self, data: Any, text: str) -> None:
        if self.as_json:
            click.echo(json.dumps(data, indent=2, default=str))
        else:
            click.echo(text)


def _config() -> dict[str, Any]:
    try:
        return tomllib.loads(CONFIG_FILE.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as err:
        fail(EXIT_USAGE, f"{CONFIG_FILE}: {err}")


def _login() -> str:
    return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else text


def fail(code: int, message: str) -> NoReturn:
    """Print one clear line to stderr and exit with ``code``."""
    click.echo(click.style("warroom: ", fg="red", bold=True) + message, err=True)
    sys.exit(code)


_CREDENTIALS_HINT = (
    "check TEMPORAL_API_KEY or the TLS client certificate, and the namespace "
    "(TEMPORAL_NAMESPACE) they are allowed in"
)


def describe_rpc_failure(err: RPCError) -> tuple[int, str]:
    """The exit code and the one line a person reads for a Temporal call that failed."""
    reason = _first_line(err.message)
    if err.status is RPCStatusCode.UNAUTHENTICATED:
        return EXIT_DENIED, f"Temporal refused the credentials: {reason}; {_CREDENTIALS_HINT}"
    if err.status is RPCStatusCode.PERMISSION_DENIED:
        return EXIT_DENIED, f"Temporal denied permission: {reason}; {_CREDENTIALS_HINT}"
    if err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
        return EXIT_UNREACHABLE, f"Temporal unavailable: {reason}"
    if err.status is RPCStatusCode.NOT_FOUND:
        return EXIT_NOT_FOUND, reason
    return EXIT_REJECTED, reason


def run_async(fn: Callable[..., Coroutine[Any, Any, T]]) -> Callable[..., T]:
    """Run an async command, turning Temporal errors into one line and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return asyncio.run(fn(*args, **kwargs))
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            message = getattr(cause, "message", None) or str(cause or err)
            fail(EXIT_REJECTED, f"rejected: {message}")
        except RPCError as err:
            fail(*describe_rpc_failure(err))
        except (SettingsError, PolicyError) as err:
            fail(EXIT_USAGE, str(err))

    return wrapper


@contextlib.contextmanager
def database_errors(url: str) -> Iterator[None]:
    """A database that cannot be reached or used, as one line (no password) and exit 4."""
    try:
        yield
    except (OSError, asyncpg.PostgresError) as err:
        fail(EXIT_UNREACHABLE, f"cannot use the database: {describe(err, [url])}")


pass_context = click.make_pass_decorator(Context)


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


# --- the stack ----------------------------------------------------------------


@cli.command()
@click.option(
    "--data-dir",
    default=lambda: os.environ.get("WARROOM_HOME", ".warroom"),
    show_default=".warroom",
    help="Where the SQLite file and logs live.",
)
@click.option("--port", default=7233, show_default=True, help="Temporal gRPC port.")
@click.option("--ui-port", default=8233, show_default=True, help="Temporal Web UI port.")
@click.option(
    "--sample/--no-sample", default=False, show_default=True, help="Also play the sample incident."
)
def up(data_dir: str, port: int, ui_port: int, sample: bool) -> None:
    """Run everything locally: Temporal dev server, worker, hooks, console channel.

    Incidents survive a restart (they live in DATA_DIR); Ctrl-C stops it all.
    """
    from starter import local

    args = ["--data-dir", data_dir, "--port", str(port), "--ui-port", str(ui_port)]
    sys.exit(local.main(args if sample else [*args, "--no-sample"]))


@cli.command()
@pass_context
@run_async
async def demo(ctx: Context) -> None:
    """Play a realistic incident through every phase against `warroom up` (about 3 minutes)."""
    from starter.sample import SAMPLE_TASK_QUEUE, SampleStalled, run_sample

    client = await ctx.client()
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=SAMPLE_TASK_QUEUE)
        )
    )
    if not described.pollers:
        fail(
            EXIT_NO_ANSWER,
            f"no worker polls task queue {SAMPLE_TASK_QUEUE} at {ctx.settings.temporal.address}: "
            "the sample runs on the worker `warroom up` starts for it (its policy compressed "
            "60 times); start `warroom up` first, or point --address at it",
        )
    try:
        await run_sample(client, lambda line: click.echo(line))
    except SampleStalled as err:
        fail(EXIT_NO_ANSWER, f"the sample incident stalled: {err}")


# --- views --------------------------------------------------------------------


@cli.command("list")
@click.option("--severity", type=click.Choice([s.value for s in Severity]), multiple=True)
@click.option("--phase", "phases", type=click.Choice([p.value for p in Phase]), multiple=True)
@click.option("--status", "statuses", type=click.Choice([s.value for s in Status]), multiple=True)
@click.option("--service")
@click.option("--commander")
@click.option("--all", "include_closed", is_flag=True, help="Include closed incidents.")
@click.option("--limit", default=50, show_default=True)
@pass_context
@run_async
async def list_incidents(
    ctx: Context,
    severity: tuple[str, ...],
    phases: tuple[str, ...],
    statuses: tuple[str, ...],
    service: str | None,
    commander: str | None,
    include_closed: bool,
    limit: int,
) -> None:
    """List incidents (a visibility query underneath)."""
    clauses = ['WorkflowType = "IncidentWorkflow"']
    if not include_closed:
        clauses.append('ExecutionStatus = "Running"')
    for key, values in (
        (search.INCIDENT_SEVERITY, severity),
        (search.INCIDENT_PHASE, phases),
        (search.INCIDENT_STATUS, statuses),
    ):
        if values:
            clauses.append("(" + " OR ".join(f'{key.name} = "{v}"' for v in values) + ")")
    for key, value in ((search.INCIDENT_SERVICE, service), (search.INCIDENT_COMMANDER, commander)):
        if value:
            clauses.append(f'{key.name} = "{_quote(value)}"')
    query = " AND ".join(clauses)
    client = await ctx.client()
    rows = []
    async for execution in client.list_workflows(query, limit=limit):
        attrs = execution.typed_search_attributes
        if not attrs.get(search.INCIDENT_ID):
            continue  # still being declared
        rows.append(
            {
                "id": attrs.get(search.INCIDENT_ID) or "",
                "workflow_id": execution.id,
                "severity": attrs.get(search.INCIDENT_SEVERITY) or "",
                "phase": attrs.get(search.INCIDENT_PHASE) or "",
                "status": attrs.get(search.INCIDENT_STATUS) or "",
                "service": attrs.get(search.INCIDENT_SERVICE) or "",
                "commander": attrs.get(search.INCIDENT_COMMANDER) or "",
                "started": execution.start_time.isoformat(),
            }
        )
    text = (
        render.table(
            ["ID", "SEV", "PHASE", "STATUS", "SERVICE", "COMMANDER", "AGE"],
            [
                [
                    r["id"],
                    render.severity(r["severity"]),
                    render.phase(r["phase"]),
                    r["status"],
                    r["service"] or "-",
                    r["commander"] or "-",
                    render.age(_parse(r["started"])),
                ]
                for r in rows
            ],
        )
        if rows
        else "no incidents match"
    )
    ctx.out(rows, text)


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


@cli.command()
@click.argument("incident")
@pass_context
@run_async
async def show(ctx: Context, incident: str) -> None:
    """Everything about an incident: state, roles, flags, pending timers, timeline."""
    handle = await ctx.incident(incident)
    state, timers = await _state_and_timers(handle)
    ctx.out(
        {
            "state": state.model_dump(mode="json"),
            "timers": [t.model_dump(mode="json") for t in timers],
        },
        render.incident(state, timers),
    )


async def _state_and_timers(handle: IncidentHandle) -> tuple[IncidentState, Any]:
    """The incident's state and pending timers; a closed one's final state and no timers.

    Never waits on a running incident's result: when its workflow does not
    answer (no worker, or it is still being declared) this fails promptly.
    """
    try:
        state = await handle.query(IncidentWorkflow.state, rpc_timeout=QUERY_TIMEOUT)
        timers = await handle.query(IncidentWorkflow.timers, rpc_timeout=QUERY_TIMEOUT)
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError, RPCError) as err:
        if isinstance(err, RPCError) and err.status in _DENIED:
            raise
        why = _first_line(err.message if isinstance(err, RPCError) else str(err))
    else:
        return state, timers
    described = await handle.describe(rpc_timeout=QUERY_TIMEOUT)
    if described.status is WorkflowExecutionStatus.RUNNING:
        fail(
            EXIT_NO_ANSWER,
            f"{handle.id} is open but no worker answered ({why[:200]}); is a worker "
            f"polling task queue {described.task_queue}?",
        )
    # Closed: its final state is its result, there already (no worker needed).
    result: IncidentState = await handle.result(rpc_timeout=QUERY_TIMEOUT)
    return result, []


@cli.command()
@click.argument("incident")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between looks.")
@pass_context
@run_async
async def watch(ctx: Context, incident: str, interval: float) -> None:
    """Follow an incident's timeline live until it changes phase."""
    handle = await ctx.incident(incident)
    state, _ = await _state_and_timers(handle)
    start_phase, seen = state.phase, state.timeline_seq
    click.echo(
        f"watching {state.human_id} ({state.phase.value}/{state.status.value}); Ctrl-C stops"
    )
    for line in render.timeline(state.timeline[-10:]):
        click.echo(line)
    while True:
        await asyncio.sleep(interval)
        state, _ = await _state_and_timers(handle)
        fresh = [e for e in state.timeline if e.seq > seen]
        for line in render.timeline(fresh):
            click.echo(line)
        seen = state.timeline_seq
        if state.phase is not start_phase:
            click.echo(f"{state.human_id} is now {render.phase(state.phase.value)}")
            return


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
        lambda actor: ChangeSeverity(actor=actor, reason=reason, severity=_severity(level))
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
    build=lambda reason, cause: lambda actor: IdentifyCause(actor=actor, reason=reason, cause=cause),
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


def _severity(value: str) -> Severity:
    """The severity a name means under the policy of WARROOM_POLICY (P0..P4, SEV-1..3)."""
    ctx = click.get_current_context().find_object(Context)
    found = load_policy(ctx.settings.policy_path if ctx else None).severity_named(value)
    if found is None:
        raise click.BadParameter(f"{value!r} is not a severity (P0..P4, SEV-1..3)")
    return found


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


@cli.command()
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


@cli.group()
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


@cli.command()
@click.argument("title")
@click.option("--severity", "level", required=True, help="P0..P4 or SEV-1..3.")
@click.option("--service")
@click.option("--org")
@click.option("--summary", default="")
@click.option("--impact", default="")
@click.option("--commander")
@pass_context
@run_async
async def declare(
    ctx: Context,
    title: str,
    level: str,
    service: str | None,
    org: str | None,
    summary: str,
    impact: str,
    commander: str | None,
) -> None:
    """Declare an incident by hand."""
    client = await ctx.client()
    declaration = Declaration(
        title=title,
        severity=_severity(level),
        service=service,
        org=org,
        summary=summary,
        impact=impact,
        actor=ctx.actor,
        commander=commander,
    )
    handle = await declare_incident(client, declaration, task_queue=ctx.task_queue)
    state = await _wait_declared(handle)
    ctx.out(
        {
            "human_id": state.human_id,
            "workflow_id": handle.id,
            "severity": state.severity.value,
            "phase": state.phase.value,
        },
        f"{state.human_id} declared ({render.severity(state.severity.value)}, "
        f"workflow {handle.id})",
    )


async def _wait_declared(handle: IncidentHandle) -> IncidentState:
    """The new incident's state once a worker has declared it; fails after about 10 s.

    A refused credential or permission is raised at once: waiting cannot fix it.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DECLARE_WAIT.total_seconds()

    async def state() -> IncidentState:
        left = timedelta(seconds=max(deadline - loop.time(), 0.1))
        answer: IncidentState = await handle.query(IncidentWorkflow.state, rpc_timeout=left)
        return answer

    ask = AsyncRetrying(
        retry=retry_if_exception(_still_declaring),
        wait=wait_fixed(0.1),
        stop=stop_after_delay(DECLARE_WAIT.total_seconds()),
        reraise=True,
    )
    try:
        return await ask(state)
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError, RPCError) as err:
        if not _still_declaring(err):
            raise
    fail(
        EXIT_UNREACHABLE, "the incident was started but no worker declared it; is a worker running?"
    )


def _still_declaring(err: BaseException) -> bool:
    """A query that found the incident not declared yet (or no worker answering yet)."""
    if isinstance(err, RPCError):
        return err.status not in _DENIED
    return isinstance(err, WorkflowQueryFailedError | WorkflowQueryRejectedError)


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


# The on-call commands live in their own module, which stands on this one: added last.
from starter.cli.oncall import directory_group, oncall, override  # noqa: E402

cli.add_command(oncall)
cli.add_command(override)
cli.add_command(directory_group)
