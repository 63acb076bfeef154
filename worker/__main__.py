"""`python -m worker`: run the Warroom worker with settings from the environment."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

import asyncpg
import httpx

from activities.ack_links import link_maker
from activities.contact import Senders
from activities.directory import LiveDirectory
from activities.reach import no_directory
from activities.redact import describe, scrub
from activities.schema import SchemaError
from activities.statuspage import StatuspageConnector
from activities.store import UNAVAILABLE, StoreActivities
from activities.tickets import TicketActivities
from directory.load import DirectoryError
from incident.policy import PolicyError, load_policy
from settings import TemporalConnectError, connect
from worker.run import People, build_worker, ensure_search_attributes
from worker.settings import SettingsError, WorkerSettings

log = logging.getLogger("warroom.worker")


async def main(settings: WorkerSettings) -> None:
    """Connect, register search attributes, and run until SIGINT/SIGTERM."""
    policy = load_policy(settings.policy_path)
    if settings.database_url is None:
        raise SettingsError("DATABASE_URL: not set; the worker records incidents in Postgres")
    store = StoreActivities(settings.database_url)
    try:
        await store.open()
    except ValueError as err:  # not a Postgres URL asyncpg can use (asyncpg's own errors too)
        reason = scrub(" ".join(str(err).split()), [settings.database_url])
        raise SettingsError(f"DATABASE_URL: not a usable Postgres URL: {reason}") from None
    except UNAVAILABLE as err:
        # Pages matter more than the record: run without it, write it once Postgres is back.
        log.warning(
            "Postgres at %s is not reachable (%s): starting anyway; incidents run and page "
            "as usual, and their record is written once Postgres answers",
            store.where,
            describe(err),
        )
    except asyncpg.PostgresError as err:  # reachable, but the password or database is wrong
        raise SettingsError(
            f"DATABASE_URL: cannot use the database at {store.where}: {describe(err)}"
        ) from None
    client = await connect(settings.temporal, metrics_addr=settings.metrics_addr)
    await ensure_search_attributes(client)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with httpx.AsyncClient() as http:
        directory = (
            LiveDirectory(settings.directory_path, database_url=settings.database_url, http=http)
            if settings.directory_path
            else None
        )
        if directory is not None:
            try:  # a directory that cannot be read stops the worker; later, the last good stays
                loaded = await directory.current()
            except DirectoryError as err:
                raise SettingsError(f"WARROOM_DIRECTORY: {err}") from None
            for problem in directory.problems:
                log.warning("directory: %s", problem)
            log.info("directory %s: %d people", loaded.version, len(loaded.people))
        worker = build_worker(
            client,
            task_queue=settings.task_queue,
            policy=policy,
            channels=settings.channels,
            http=http,
            prometheus_url=settings.prometheus_url,
            ui_url=settings.ui_url,
            store=store,
            control_plane_url=settings.control_plane_url,
            control_plane_token=settings.control_plane_token,
            cached_incidents=settings.cached_incidents,
            tickets=TicketActivities(
                http=http,
                url=settings.tickets.webhook_url,
                token=settings.tickets.webhook_token,
            ),
            people=People(
                directory=directory or no_directory,
                senders=Senders(settings.contact, http),
                ack_links=link_maker(
                    settings.links.public_url,
                    secret.get_secret_value() if (secret := settings.links.link_secret) else None,
                    settings.links.link_ttl,
                ),
                statuspage=statuspage_connector(settings, http),
            ),
        )
        async with worker:
            log.info(
                "worker ready: namespace %s, task queue %s, policy %s, %d channel(s), "
                "%d incidents cached%s",
                settings.temporal.namespace,
                settings.task_queue,
                policy.version,
                len(settings.channels),
                settings.cached_incidents,
                f", SDK metrics on http://{settings.metrics_addr}/metrics"
                if settings.metrics_addr
                else "",
            )
            await stop.wait()
            log.info("shutting down: letting running activities finish")
        if directory is not None:
            await directory.close()
    await store.close()


def statuspage_connector(
    settings: WorkerSettings, http: httpx.AsyncClient
) -> StatuspageConnector | None:
    """The Statuspage customer updates are published to, when one is configured."""
    page = settings.statuspage
    if page.api_key is None or page.page_id is None:
        return None
    return StatuspageConnector(
        http=http,
        page_id=page.page_id,
        api_key=page.api_key.get_secret_value(),
        components=dict(page.components),
        base_url=page.url,
    )


def run() -> int:
    """Entry point; returns the process exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # httpx logs every request's full URL at INFO: a channel's or the control plane's
    # credentials (userinfo, a webhook's secret path, ?token=) would land in the log.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = WorkerSettings.from_env()
        asyncio.run(main(settings))
    except (SettingsError, PolicyError, SchemaError) as err:
        print(f"warroom worker: {err}", file=sys.stderr)
        return 2
    except TemporalConnectError as err:
        print(f"warroom worker: {err}", file=sys.stderr)
        return 4
    return 0


def _exit(code: int) -> None:
    # The SDK's core runtime threads can outlive interpreter shutdown and abort
    # it ("PyGILState_Release"); the worker has stopped cleanly by now, so leave
    # without running finalisers.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    _exit(run())
