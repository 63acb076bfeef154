"""Deliver notices: render the runbook's message templates, reach the people a notice is for
through their contact methods, and post it to the channels that serve its audience."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jinja2
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.channels import Channel, channels_for
from activities.contact import PageMessage, Senders
from activities.reach import DirectorySource, Recipient, no_directory, recipients
from activities.redact import describe, scrub
from activities.statuspage import CHANNEL as STATUSPAGE
from activities.statuspage import StatuspageConnector
from directory.models import ContactMethod, Directory
from directory.oncall import NoSuchService, service_named
from incident.durations import format_duration
from incident.escalation import Audience, Reached
from incident.models import EVERY_FIELD
from incident.notices import (
    DELIVERY_HEARTBEAT_TIMEOUT,
    DeliveryOutcome,
    DeliveryReport,
    Notice,
    audience_of,
)

log = logging.getLogger("warroom.notify")

TRANSIENT_4XX = {408, 425, 429}
"""Client errors that mean 'try again later', not 'this request is wrong'."""
TIMEOUT = httpx.Timeout(10.0)
HEARTBEAT_EVERY = DELIVERY_HEARTBEAT_TIMEOUT.total_seconds() / 5
"""Seconds between heartbeats while a delivery runs, so a dead worker is noticed soon."""


def _utc(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "not yet known"


def _stamp(moment: datetime | None) -> str:
    """An exact UTC timestamp, to the second, as the postmortem's timeline writes it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "not yet"


def _duration(delta: timedelta | None) -> str:
    return format_duration(delta) if delta is not None else "unknown"


def template_environment() -> jinja2.Environment:
    """The templates beside this module, strict about missing names."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("activities", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain-text messages, never HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["utc"] = _utc
    env.filters["duration"] = _duration
    env.filters["stamp"] = _stamp
    return env


AckLinks = Callable[[str, str], str | None]
"""The one-click acknowledge link for (incident ID, person handle), or None when the
HTTP service that serves them is not configured."""


def no_ack_links(_incident: str, _person: str) -> str | None:
    """No public URL or link secret configured: pages carry no acknowledge link."""
    return None


class NotifyActivities:
    """Renders notices, reaches people and posts to the channels that serve each audience."""

    def __init__(
        self,
        *,
        channels: Sequence[Channel],
        http: httpx.AsyncClient,
        ui_url: str | None = None,
        directory: DirectorySource = no_directory,
        senders: Senders | None = None,
        ack_links: AckLinks = no_ack_links,
        compression: int = 1,
        statuspage: StatuspageConnector | None = None,
    ) -> None:
        self._channels = list(channels)
        self._http = http
        self._ui_url = ui_url.rstrip("/") if ui_url else None
        self._templates = template_environment()
        self._directory = directory
        self._senders = senders
        self._ack_links = ack_links
        self._compression = compression
        """Notification rules' delays are divided by it, like a demonstration's policy."""
        self._statuspage = statuspage
        """An Atlassian Statuspage customer updates are published to, when configured."""

    def render(self, notice: Notice, link: str | None = None, *, person: str | None = None) -> str:
        """The notice as a person reads it, in the runbook's layout (addressed to ``person``
        when it goes to one)."""
        template = self._templates.get_template(f"{notice.kind.value}.txt.j2")
        text = template.render(notice=notice, incident=notice.incident, link=link, person=person)
        return text.strip() + "\n"

    @activity.defn(name="notify.deliver")
    async def deliver(self, notice: Notice) -> DeliveryReport:
        """Reach the people ``notice`` is for and post it to the channels serving its audience.

        Who is on call is looked up in the directory as of the notice's time, so a
        retry reaches the same people. A channel or a person's method that took it
        (2xx) or refused it for good (4xx) is settled and remembered in the
        heartbeat, so a retry never sends it twice. Any transient failure (5xx,
        timeout, connection error) raises, and Temporal
        retries with backoff. It heartbeats all along, however slow a channel is,
        so if its worker dies Temporal retries within the heartbeat timeout.
        """
        info = activity.info()
        link = (
            f"{self._ui_url}/namespaces/{info.namespace}/workflows/{info.workflow_id}"
            if (self._ui_url and info.workflow_id)
            else None
        )
        idempotency_key = notice.idempotency_key(info.workflow_id or "")
        settled: dict[str, DeliveryOutcome] = {}
        for details in info.heartbeat_details[:1]:
            for item in details:
                outcome = DeliveryOutcome.model_validate(item)
                settled[outcome.channel] = outcome
        text = self.render(notice, link)

        def beat() -> None:
            activity.heartbeat([o.model_dump(mode="json") for o in settled.values()])

        async def keep_alive() -> None:
            while True:
                await asyncio.sleep(HEARTBEAT_EVERY)
                beat()

        directory = await self._directory()
        people = recipients(directory, notice, notice.at) if directory is not None else []
        reachable = [r for r in people if r.methods]
        nobody = None
        if directory is not None and not reachable and notice.to in PEOPLE_AUDIENCES:
            nobody = (
                f"directory {directory.version} names nobody with a contact method for it"
                if not people
                else f"{', '.join(r.person.name for r in people)} ha"
                + ("s" if len(people) == 1 else "ve")
                + " no contact method"
            )
        channels = channels_for(self._channels, notice, reached=bool(reachable))
        room = self._incident_channel(directory, notice)
        transient: list[str] = []
        alive = asyncio.create_task(keep_alive())
        try:
            for channel in channels:
                if channel.name in settled:
                    continue
                posted = await self._post(channel, notice, text, link, idempotency_key)
                if posted is None:
                    transient.append(channel.name)
                    continue
                settled[channel.name] = posted
                beat()
            statuspage = self._statuspage
            if statuspage is not None and statuspage.serves(notice) and STATUSPAGE not in settled:
                published = await statuspage.publish(notice)
                if published is None:
                    transient.append(STATUSPAGE)
                else:
                    settled[STATUSPAGE] = published
                    beat()
            if room is not None and f"slack:{room}" not in settled:
                posted_to_room = await self._post_to_room(room, notice, link, idempotency_key)
                if posted_to_room is None:
                    transient.append(room)
                else:
                    settled[f"slack:{room}"] = posted_to_room
                    beat()
            for recipient in reachable:
                for method in recipient.methods:
                    name = f"{recipient.handle}/{method.name}"
                    if name in settled:
                        continue
                    reached = await self._reach(recipient, method, notice, link, idempotency_key)
                    if reached is None:
                        transient.append(name)
                        continue
                    settled[name] = reached
                    beat()
        finally:
            alive.cancel()
        if transient:
            raise ApplicationError(
                f"channels not reachable yet: {', '.join(transient)}", type="ChannelUnavailable"
            )
        return DeliveryReport(
            key=notice.key,
            outcomes=list(settled.values()),
            reached=[_reached(r, settled, self._compression) for r in people],
            nobody=nobody,
        )

    def _incident_channel(self, directory: Directory | None, notice: Notice) -> str | None:
        """The incident's own room, else the service's incident channel when the directory
        names one, for what the incident channel hears, when a Slack bot is configured to
        post there."""
        to = notice.to or audience_of(notice.kind)
        if to is not Audience.INCIDENT or self._senders is None:
            return None
        if notice.incident.room_channel is not None and self._senders.posts_to_channels:
            return notice.incident.room_channel
        if directory is None:
            return None
        try:
            _, service = service_named(directory, notice.incident.service)
        except NoSuchService:
            return None
        if service.channel is None or not self._senders.posts_to_channels:
            return None
        return service.channel

    async def _post_to_room(
        self, room: str, notice: Notice, link: str | None, key: str
    ) -> DeliveryOutcome | None:
        """Post to the service's incident channel; None means try again later."""
        assert self._senders is not None
        message = PageMessage(
            key=f"{key}:{room}",
            incident_id=notice.incident.human_id,
            severity=notice.incident.severity,
            subject=notice.headline,
            text=self.render(notice),
            incident_url=link,
            service=notice.incident.service,
        )
        outcome = await self._senders.post_to_channel(room, message)
        if outcome.transient:
            return None
        return DeliveryOutcome(
            channel=f"slack:{room}", delivered=outcome.delivered, detail=outcome.detail[:200]
        )

    async def _reach(
        self,
        recipient: Recipient,
        method: ContactMethod,
        notice: Notice,
        link: str | None,
        key: str,
    ) -> DeliveryOutcome | None:
        """Send to one person's method; None means a transient failure worth retrying."""
        name = f"{recipient.handle}/{method.name}"
        if self._senders is None:
            return DeliveryOutcome(
                channel=name,
                delivered=False,
                detail="no contact senders are configured",
                person=recipient.handle,
            )
        # Those paged acknowledge; those told (management, executives) have nothing to stop.
        ack_link = (
            self._ack_links(notice.incident.human_id, recipient.handle)
            if notice.to is Audience.ON_CALL
            else None
        )
        # The links travel beside the text: each kind of contact method places them its way.
        text = self.render(notice, person=recipient.person.name)
        message = PageMessage(
            key=f"{key}:{recipient.handle}",
            incident_id=notice.incident.human_id,
            severity=notice.incident.severity,
            subject=notice.headline,
            text=text,
            ack_url=ack_link,
            incident_url=link,
            recipient=recipient.person.name,
            service=notice.incident.service,
        )
        outcome = await self._senders.send(method, message)
        if outcome.transient:
            log.warning("%s not reachable yet: %s", name, outcome.detail)
            return None
        return DeliveryOutcome(
            channel=name,
            delivered=outcome.delivered,
            detail=outcome.detail[:200],
            person=recipient.handle,
        )

    async def _post(
        self, channel: Channel, notice: Notice, text: str, link: str | None, key: str
    ) -> DeliveryOutcome | None:
        """Post to one channel; None means a transient failure worth retrying."""
        body = self._body(channel, notice, text, link)
        headers = {"Idempotency-Key": key, **channel.headers}
        url = str(channel.url)
        try:
            response = await self._http.post(url, json=body, headers=headers, timeout=TIMEOUT)
        except httpx.HTTPError as err:
            log.warning("channel %s unreachable: %s", channel.name, describe(err, [url]))
            return None
        status = response.status_code
        if 200 <= status < 300:
            return DeliveryOutcome(channel=channel.name, delivered=True, status_code=status)
        if 400 <= status < 500 and status not in TRANSIENT_4XX:
            # The answer lands on the timeline; a server echoing the request URL (or a
            # header) must not put the channel's credentials there.
            tokens = [v for v in channel.headers.values() if len(v) >= 8]
            detail = scrub(response.text or response.reason_phrase, [url], tokens)
            detail = detail[:200]
            log.warning("channel %s refused %s: %s %s", channel.name, notice.key, status, detail)
            return DeliveryOutcome(
                channel=channel.name, delivered=False, status_code=status, detail=detail
            )
        log.warning("channel %s answered %s; will retry", channel.name, status)
        return None

    def _body(self, channel: Channel, notice: Notice, text: str, link: str | None) -> Any:
        if notice.to is Audience.CUSTOMERS:
            return _for_customers(channel, notice, text)
        if channel.kind == "slack":
            suffix = f"\n<{link}|Open in Temporal>" if link else ""
            return {"text": f"*{notice.headline}*\n```{text}```{suffix}"}
        document = notice.model_dump(mode="json", context=EVERY_FIELD)
        document["text"] = text
        document["link"] = link
        return document


def _for_customers(channel: Channel, notice: Notice, text: str) -> dict[str, Any]:
    """What a channel serving customers gets: the customer update's words and the public
    state, never the incident's internal brief, its Web UI link or its people."""
    if channel.kind == "slack":
        return {"text": text}
    brief = notice.incident
    return {
        "kind": notice.kind.value,
        "key": notice.key,
        "at": notice.at.isoformat(),
        "headline": notice.headline,
        "text": text,
        "message": notice.message,
        "service": brief.service,
        "impact": brief.customer_impact.value if brief.customer_impact else None,
        "status_page_url": brief.status_page_url,
    }


PEOPLE_AUDIENCES = (Audience.ON_CALL, Audience.PEOPLE, Audience.EXECUTIVES)
"""Audiences made of people: a notice for them that reaches nobody says so."""


def _reached(
    recipient: Recipient, settled: dict[str, DeliveryOutcome], compression: int
) -> Reached:
    """What the timeline says of one person a notice was for."""
    methods = []
    for method in recipient.methods:
        outcome = settled.get(f"{recipient.handle}/{method.name}")
        if outcome is None:
            continue
        verdict = "delivered" if outcome.delivered else "failed"
        if outcome.detail:
            verdict += f" ({outcome.detail})"
        methods.append(f"{method.name} {verdict}")
    return Reached(
        person=recipient.handle,
        name=recipient.person.name,
        why=recipient.why,
        methods=methods,
        delivered=any(settled[m].delivered for m in _names(recipient) if m in settled),
        next_rules=[
            (index, after / compression, ", ".join(m.name for m in methods_))
            for index, after, methods_ in recipient.later
        ],
    )


def _names(recipient: Recipient) -> list[str]:
    return [f"{recipient.handle}/{m.name}" for m in recipient.methods]
