"""`warroom token`: personal API tokens for the decision API (create, list, revoke).

A token is printed once, when it is made; the database keeps only its SHA-256.
With ``WARROOM_DIRECTORY`` set, a token is made only for a person in it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Protocol, TypeVar

import click
from pydantic import Field, TypeAdapter, ValidationError

from directory.load import DirectoryError, load_directory
from directory.models import Handle
from incident.durations import parse_duration
from settings import EnvSettings, SettingsError
from settings.fields import existing_file
from starter.web.store import CredentialStore, StoreUnavailable, TokenRecord, utcnow

EXIT_USAGE, EXIT_NOT_FOUND, EXIT_UNREACHABLE = 2, 3, 4
DEFAULT_EXPIRY = "90d"
_HANDLE = TypeAdapter(Handle)
T = TypeVar("T")


class _Operator(Protocol):
    """What `warroom` puts in the click context (``starter.cli.main.Context``)."""

    as_json: bool

    def database_url(self) -> str: ...


class Refused(click.ClickException):
    """A token command that could not be done: one line, and the CLI's exit code (usage)."""

    exit_code = EXIT_USAGE


class NotFound(Refused):
    """No such person or token."""

    exit_code = EXIT_NOT_FOUND


class Unreachable(Refused):
    """The database cannot be used."""

    exit_code = EXIT_UNREACHABLE


def _operator() -> _Operator | None:
    found = click.get_current_context().find_root().obj
    return found if hasattr(found, "database_url") else None


class TokenSettings(EnvSettings):
    """What the token commands read: ``DATABASE_URL`` and ``WARROOM_DIRECTORY``."""

    database_url: str | None = Field(None, repr=False, validation_alias="DATABASE_URL")
    directory_path: Annotated[Path | None, existing_file()] = Field(
        None, validation_alias="WARROOM_DIRECTORY"
    )


def _settings() -> TokenSettings:
    try:
        return TokenSettings.from_env()
    except SettingsError as err:
        raise Refused(str(err)) from err


def _database_url() -> str:
    operator = _operator()
    if operator is not None:  # DATABASE_URL, the config file, or what `warroom up` wrote
        return operator.database_url()
    url = _settings().database_url
    if not url:
        raise Refused("no database: set DATABASE_URL")
    return url


def _as_json() -> bool:
    operator = _operator()
    return bool(operator and operator.as_json)


def _out(data: Any, text: str) -> None:
    click.echo(json.dumps(data, indent=2, default=str) if _as_json() else text)


def _run(work: Coroutine[Any, Any, T], store: CredentialStore) -> T:
    async def run() -> T:
        try:
            return await work
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except StoreUnavailable as err:
        raise Unreachable(str(err)) from err


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def _check_person(person: str) -> str:
    try:
        handle = _HANDLE.validate_python(person)
    except ValidationError as err:
        raise Refused(f"{person!r} is not a person's handle (lower case, digits, . _ -)") from err
    path = _settings().directory_path
    if path is not None:
        try:
            directory = load_directory(path)
        except DirectoryError as err:  # it names the file, each field and why
            raise Refused(f"WARROOM_DIRECTORY: {err}") from err
        if directory.person(handle) is None:
            raise NotFound(f"{handle!r} is not a person in {path}")
    return handle


@click.group("token")
def tokens() -> None:
    """Personal API tokens: each acts as one person on the decision API."""


@tokens.command("create")
@click.argument("person")
@click.option(
    "--expires",
    default=DEFAULT_EXPIRY,
    show_default=True,
    help="How long it works (e.g. 30d, 12w), or 'never'.",
)
def create(person: str, expires: str) -> None:
    """Make a token for PERSON and print it, once."""
    handle = _check_person(person)
    expires_at: datetime | None = None
    if expires.strip().lower() != "never":
        try:
            lifetime = parse_duration(expires)
        except ValueError as err:
            raise Refused(f"--expires: {err}") from err
        if lifetime <= timedelta(0):
            raise Refused("--expires: a token works for some time; give more than 0")
        expires_at = utcnow() + lifetime
    store = CredentialStore(_database_url())
    token, token_id = _run(store.create_token(handle, expires_at), store)
    _out(
        {"id": token_id, "person": handle, "token": token, "expires_at": expires_at},
        f"token {token_id} for {handle}, expires {_when(expires_at)}:\n\n  {token}\n\n"
        "Keep it now: it is not shown again. Send it as Authorization: Bearer <token>.",
    )


@tokens.command("list")
@click.argument("person", required=False)
def list_tokens(person: str | None) -> None:
    """The tokens (of PERSON): who, state, created, expires, last used. Never the token."""
    store = CredentialStore(_database_url())
    records: list[TokenRecord] = _run(store.tokens(person), store)
    now = utcnow()
    lines = [
        f"{r.id:>5}  {r.person:<20} {r.state(now):<8} created {_when(r.created_at)}  "
        f"expires {_when(r.expires_at)}  last used {_when(r.last_used_at)}"
        for r in records
    ]
    _out([r.as_json(now) for r in records], "\n".join(lines) or "no tokens")


@tokens.command("revoke")
@click.argument("token_id", metavar="ID", type=int)
def revoke(token_id: int) -> None:
    """Revoke token ID at once: it is refused from the next request on."""
    store = CredentialStore(_database_url())
    record = _run(store.revoke(token_id), store)
    if record is None:
        raise NotFound(f"no token {token_id}")
    _out(record.as_json(utcnow()), f"token {record.id} of {record.person} revoked")


__all__ = ["tokens"]
