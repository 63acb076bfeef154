"""What the people's routers stand on, built once per process from ``WebSettings``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from directory.load import DirectoryError, load_directory
from settings import DEFAULT_TASK_QUEUE, SettingsError
from starter.web.auth import Authenticator
from starter.web.incidents import ClientSource
from starter.web.oidc import OidcVerifier
from starter.web.people import People
from starter.web.settings import DEFAULT_STATUS_NAME, WebSettings
from starter.web.status_record import StatusCache, StatusRecord
from starter.web.store import CredentialStore


@dataclass
class WebServices:
    """The directory, the credential checks, the secrets and Temporal, for the routers."""

    people: People
    authenticator: Authenticator
    store: CredentialStore | None
    """Tokens and used links; None without DATABASE_URL (links and tokens then refuse)."""
    client: ClientSource
    rpc_timeout: timedelta
    link_secret: str | None = None
    slack_signing_secret: str | None = None
    public_url: str | None = None
    """Where people reach this service; the board's cookies are Secure when it is https."""
    task_queue: str = DEFAULT_TASK_QUEUE
    """Where incidents declared on the board are started."""
    status: StatusRecord | None = None
    """The public status page's reader of the record; None without DATABASE_URL (503)."""
    status_name: str = DEFAULT_STATUS_NAME
    status_cache: StatusCache | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.status is not None:
            self.status_cache = StatusCache(self.status.read)

    async def close(self) -> None:
        """Release the database pools."""
        if self.store is not None:
            await self.store.close()
        if self.status is not None:
            await self.status.close()


def build_services(
    settings: WebSettings,
    client: ClientSource,
    *,
    rpc_timeout: timedelta,
    task_queue: str = DEFAULT_TASK_QUEUE,
) -> WebServices:
    """The services ``settings`` describe; SettingsError for a directory that cannot be read."""
    directory = None
    if settings.directory_path is not None:
        try:
            directory = load_directory(settings.directory_path)
        except DirectoryError as err:  # it names the file, each field and why
            raise SettingsError(f"WARROOM_DIRECTORY: {err}") from err
    people = People(directory)
    store = CredentialStore(settings.database_url) if settings.database_url else None
    oidc = None
    if settings.oidc:
        assert settings.oidc_issuer and settings.oidc_audience and settings.oidc_jwks_url
        oidc = OidcVerifier(
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience,
            jwks_url=settings.oidc_jwks_url,
            claim=settings.oidc_claim,
        )
    return WebServices(
        people=people,
        authenticator=Authenticator(people, store, oidc),
        store=store,
        client=client,
        rpc_timeout=rpc_timeout,
        link_secret=settings.link_secret.get_secret_value() if settings.link_secret else None,
        slack_signing_secret=(
            settings.slack_signing_secret.get_secret_value()
            if settings.slack_signing_secret
            else None
        ),
        public_url=settings.public_url,
        task_queue=task_queue,
        status=(
            StatusRecord(
                settings.database_url,
                services=sorted(directory.services) if directory is not None else (),
            )
            if settings.database_url
            else None
        ),
        status_name=settings.status_name,
    )


def unconfigured_services(client: ClientSource, *, rpc_timeout: timedelta) -> WebServices:
    """Services that authenticate nobody: every people's route refuses (fails closed)."""
    people = People(None)
    return WebServices(
        people=people,
        authenticator=Authenticator(people, None, None),
        store=None,
        client=client,
        rpc_timeout=rpc_timeout,
    )
