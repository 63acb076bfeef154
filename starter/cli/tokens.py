"""`warroom token`: personal API tokens for the decision API (create, list, revoke).

A token is printed once, when it is made; the database keeps only its SHA-256.
With a directory file (``WARROOM_DIRECTORY``, or the one `warroom up` pages), a
token is made only for a person in it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import click
from pydantic import TypeAdapter, ValidationError

from directory.load import DirectoryError, load_directory
from directory.models import Handle
from incident.durations import parse_duration
from starter.cli.base import (
    EXIT_NOT_FOUND,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    Context,
    fail,
    pass_context,
    run_async,
)
from starter.web.store import CredentialStore, StoreUnavailable, TokenRecord, utcnow

DEFAULT_EXPIRY = "90d"
_HANDLE = TypeAdapter(Handle)


@contextlib.asynccontextmanager
async def credential_store(ctx: Context) -> AsyncIterator[CredentialStore]:
    """The tokens' store in the CLI's database; one that cannot be used is exit 4."""
    store = CredentialStore(ctx.database_url())
    try:
        yield store
    except StoreUnavailable as err:  # it says which database (no password) and why
        fail(EXIT_UNREACHABLE, str(err))
    finally:
        await store.close()


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def _check_person(ctx: Context, person: str) -> str:
    try:
        handle = _HANDLE.validate_python(person)
    except ValidationError:
        fail(EXIT_USAGE, f"{person!r} is not a person's handle (lower case, digits, . _ -)")
    path = ctx.directory_path()
    if path is not None:
        try:
            directory = load_directory(path)
        except DirectoryError as err:  # it names the file, each field and why
            fail(EXIT_USAGE, str(err))
        if directory.person(handle) is None:
            fail(EXIT_NOT_FOUND, f"{handle!r} is not a person in {path}")
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
@pass_context
@run_async
async def create(ctx: Context, person: str, expires: str) -> None:
    """Make a token for PERSON and print it, once."""
    handle = _check_person(ctx, person)
    expires_at: datetime | None = None
    if expires.strip().lower() != "never":
        try:
            lifetime = parse_duration(expires)
        except ValueError as err:
            fail(EXIT_USAGE, f"--expires: {err}")
        if lifetime <= timedelta(0):
            fail(EXIT_USAGE, "--expires: a token works for some time; give more than 0")
        expires_at = utcnow() + lifetime
    async with credential_store(ctx) as store:
        token, token_id = await store.create_token(handle, expires_at)
    ctx.out(
        {"id": token_id, "person": handle, "token": token, "expires_at": expires_at},
        f"token {token_id} for {handle}, expires {_when(expires_at)}:\n\n  {token}\n\n"
        "Keep it now: it is not shown again. Send it as Authorization: Bearer <token>.",
    )


@tokens.command("list")
@click.argument("person", required=False)
@pass_context
@run_async
async def list_tokens(ctx: Context, person: str | None) -> None:
    """The tokens (of PERSON): who, state, created, expires, last used. Never the token."""
    async with credential_store(ctx) as store:
        records: list[TokenRecord] = await store.tokens(person)
    now = utcnow()
    lines = [
        f"{r.id:>5}  {r.person:<20} {r.state(now):<8} created {_when(r.created_at)}  "
        f"expires {_when(r.expires_at)}  last used {_when(r.last_used_at)}"
        for r in records
    ]
    ctx.out([r.as_json(now) for r in records], "\n".join(lines) or "no tokens")


@tokens.command("revoke")
@click.argument("token_id", metavar="ID", type=int)
@pass_context
@run_async
async def revoke(ctx: Context, token_id: int) -> None:
    """Revoke token ID at once: it is refused from the next request on."""
    async with credential_store(ctx) as store:
        record = await store.revoke(token_id)
    if record is None:
        fail(EXIT_NOT_FOUND, f"no token {token_id}")
    ctx.out(record.as_json(utcnow()), f"token {record.id} of {record.person} revoked")


__all__ = ["tokens"]
