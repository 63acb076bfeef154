"""What every `warroom` command stands on: its Context, failing with an exit code, async commands.

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
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import asyncpg
import click
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from activities.redact import describe
from incident.policy import PolicyError, load_policy
from incident.severity import Severity
from settings import SettingsError, TemporalCredentialsRefused, TemporalUnreachable, connect
from starter.api import IncidentHandle, IncidentNotFound, incident_handle
from starter.cli.settings import CliSettings

EXIT_REJECTED, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_UNREACHABLE = 1, 2, 3, 4
EXIT_NO_ANSWER, EXIT_DENIED = 5, 6
DENIED = (RPCStatusCode.UNAUTHENTICATED, RPCStatusCode.PERMISSION_DENIED)
"""Temporal refused the credentials or the permission: waiting or retrying cannot fix it."""
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
        self._actor = actor or self.settings.actor or config.get("actor") or _login()
        self.as_json = as_json

    @property
    def actor(self) -> str:
        """Who is acting; a usage error (exit 2) naming the ways to say it when nothing does."""
        if not self._actor:
            fail(
                EXIT_USAGE,
                "who is acting? nothing says: pass --as NAME, set WARROOM_ACTOR, or put "
                f'actor = "NAME" in {CONFIG_FILE} ($USER is not set either)',
            )
        return str(self._actor)

    @actor.setter
    def actor(self, name: str) -> None:
        self._actor = name

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

    def directory_path(self) -> Path | None:
        """WARROOM_DIRECTORY, or the directory file `warroom up` pages (it writes its path)."""
        if self.settings.directory_path is not None:
            return self.settings.directory_path.expanduser()
        written = self.settings.home / "directory_path"
        if written.exists():
            return Path(written.read_text().strip()).expanduser()
        return None

    def out(self, data: Any, text: str) -> None:
        if self.as_json:
            click.echo(json.dumps(data, indent=2, default=str))
        else:
            click.echo(text)


pass_context = click.make_pass_decorator(Context)


def _remember(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    """An option callback that sets ``name`` on the root's Context when the option is given."""

    def remember(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        found = ctx.find_object(Context)
        if found is not None and value not in (None, False):
            setattr(found, name, value)

    return remember


def _shared_options() -> list[click.Parameter]:
    return [
        click.Option(
            ["--as", "actor"],
            expose_value=False,
            callback=_remember("actor"),
            help="Who is acting (as `warroom --as`).",
        ),
        click.Option(
            ["--json", "as_json"],
            is_flag=True,
            expose_value=False,
            callback=_remember("as_json"),
            help="Print JSON for scripts (as `warroom --json`).",
        ),
    ]


class SharedOptionsGroup(click.Group):
    """The root group: every command under it, however deep, also takes --as and --json.

    So `warroom show INC --json` and `warroom ack INC --as bob` mean what
    `warroom --json show INC` and `warroom --as bob ack INC` do. The root's
    callback makes the Context before a command's options are parsed, and
    these options set its values.
    """

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        _share_options(cmd)
        super().add_command(cmd, name)


def _share_options(cmd: click.Command) -> None:
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            _share_options(sub)
        return
    taken = {opt for param in cmd.params for opt in getattr(param, "opts", ())}
    cmd.params.extend(p for p in _shared_options() if not taken & set(p.opts))


def _config() -> dict[str, Any]:
    try:
        return tomllib.loads(CONFIG_FILE.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as err:
        fail(EXIT_USAGE, f"{CONFIG_FILE}: {err}")


def _login() -> str | None:
    return os.environ.get("USER") or os.environ.get("USERNAME") or None


def first_line(text: str) -> str:
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
    reason = first_line(err.message)
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


def severity_named(value: str) -> Severity:
    """The severity a name means under the policy of WARROOM_POLICY (P0..P4, SEV-1..3)."""
    ctx = click.get_current_context().find_object(Context)
    found = load_policy(ctx.settings.policy_path if ctx else None).severity_named(value)
    if found is None:
        raise click.BadParameter(f"{value!r} is not a severity (P0..P4, SEV-1..3)")
    return found
