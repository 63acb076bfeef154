"""Build and run the Warroom worker: the incident workflow and its activities."""

from __future__ import annotations

import logging
import py_compile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

import workflows
from activities.channels import Channel
from activities.contact import Senders
from activities.contain import ContainmentActivities
from activities.lineage import LineageActivities
from activities.notify import AckLinks, NotifyActivities, no_ack_links
from activities.policy import PolicyActivities
from activities.probe import ProbeActivities
from activities.reach import DirectorySource, ReachActivities, no_directory
from activities.room import RoomActivities
from activities.statuspage import StatuspageConnector
from activities.store import StoreActivities
from activities.tickets import TicketActivities
from incident import search_attributes
from incident.policy import Policy
from worker.settings import DEFAULT_CACHED_INCIDENTS
from workflows.follow_up import FollowUpWorkflow
from workflows.incident import IncidentWorkflow

log = logging.getLogger("warroom.worker")

GRACEFUL_SHUTDOWN = timedelta(seconds=10)
"""How long running activities get to finish when the worker is asked to stop."""


def compile_workflow_modules(package: Path = Path(workflows.__file__).parent) -> None:
    """Leave bytecode beside the workflow modules, which the sandbox re-imports per incident.

    The workflow sandbox imports ``workflows/`` afresh for every incident it
    loads (a new one, or one evicted from the cache). With no bytecode on disk
    (``PYTHONDONTWRITEBYTECODE``, an editable install) each of those imports
    compiles the source again, about 8 ms of CPU each. Best effort: a
    read-only install just goes without.
    """
    for source in package.glob("*.py"):
        try:
            py_compile.compile(str(source), doraise=True)
        except (OSError, py_compile.PyCompileError) as err:
            log.debug("no bytecode for %s: %s", source, err)
            return


async def ensure_search_attributes(client: Client) -> list[str]:
    """Register any of the incident's search attributes the namespace lacks; returns those added.

    Where the server does not allow it (Temporal Cloud registers them in its
    console), a warning names the attributes to add by hand.
    """
    namespace = client.namespace
    wanted = {key.name for key in search_attributes.ALL}
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        missing = sorted(wanted - set(listed.custom_attributes))
        if missing:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(
                    namespace=namespace,
                    search_attributes={
                        name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for name in missing
                    },
                )
            )
            log.info("registered search attributes in %s: %s", namespace, ", ".join(missing))
        return missing
    except RPCError as err:
        log.warning(
            "could not register search attributes %s in namespace %s (%s); add them as "
            "Keyword attributes by hand",
            ", ".join(sorted(wanted)),
            namespace,
            err.message,
        )
        return []


@dataclass(frozen=True)
class People:
    """How notices reach people: the directory, the contact methods' senders, the links."""

    directory: DirectorySource = no_directory
    """The directory in force (re-read when its file changes); none: pages go to channels."""
    senders: Senders | None = None
    ack_links: AckLinks = no_ack_links
    compression: int = 1
    """Directory delays divided by it, for a demonstration's compressed policy."""
    statuspage: StatuspageConnector | None = None
    """The Atlassian Statuspage customer updates are published to, when configured."""


def build_worker(
    client: Client,
    *,
    task_queue: str,
    policy: Policy,
    channels: Sequence[Channel],
    http: httpx.AsyncClient,
    prometheus_url: str | None,
    ui_url: str | None,
    store: StoreActivities,
    control_plane_url: str | None = None,
    control_plane_token: str | None = None,
    cached_incidents: int = DEFAULT_CACHED_INCIDENTS,
    people: People | None = None,
    tickets: TicketActivities | None = None,
) -> Worker:
    """A worker for the incident workflow with its activities wired to their dependencies.

    ``store`` is opened (connected, schema checked) before the worker runs, or, if
    Postgres could not be reached then, by its first write that finds it reachable.
    """
    compile_workflow_modules()
    people = people or People()
    notify = NotifyActivities(
        channels=channels,
        http=http,
        ui_url=ui_url,
        directory=people.directory,
        senders=people.senders,
        ack_links=people.ack_links,
        compression=people.compression,
        statuspage=people.statuspage,
    )
    probe = ProbeActivities(http=http, prometheus_url=prometheus_url)
    policy_activities = PolicyActivities(policy)
    reach = ReachActivities(people.directory, people.compression)
    lineage = LineageActivities(client)
    room = RoomActivities(
        people.senders.slack if people.senders is not None else None, people.directory
    )
    contain = ContainmentActivities(
        http=http, base_url=control_plane_url, token=control_plane_token
    )
    tickets = tickets or TicketActivities(http=http, url=None)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[IncidentWorkflow, FollowUpWorkflow],
        activities=[
            notify.deliver,
            probe.check_slos,
            policy_activities.current,
            reach.paging_plan,
            lineage.last_closed,
            room.open_room,
            store.record,
            contain.execute,
            tickets.send,
        ],
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        max_cached_workflows=cached_incidents,
    )
