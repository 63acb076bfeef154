"""Deliver notices: render the runbook's message templates and post them to every channel."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
import jinja2
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.channels import Channel
from activities.redact import describe, scrub
from incident.durations import format_duration
from incident.notices import (
    DELIVERY_HEARTBEAT_TIMEOUT,
    DeliveryOutcome,
    DeliveryReport,
    Notice,
)

log = logging.getLogger("warroom.notify")

TRANSIENT_4XX = {408, 425, 429}
"""Client errors that mean 'try again later', not 'this request is wrong'."""
TIMEOUT = httpx.Timeout(10.0)
HEARTBEAT_EVERY = DELIVERY_HEARTBEAT_TIMEOUT.total_seconds() / 5
"""Seconds between heartbeats while a delivery runs, so a dead worker is noticed soon."""


def _utc(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "not yet known"


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
    return env


class NotifyActivities:
    """Renders notices and posts them to the configured channels."""

    def __init__(
        self, *, channels: Sequence[Channel], http: httpx.AsyncClient, ui_url: str | None = None
    ) -> None:
        self._channels = list(channels)
        self._http = http
        self._ui_url = ui_url.rstrip("/") if ui_url else None
        self._templates = template_environment()

    def render(self, notice: Notice, link: str | None = None) -> str:
        """The notice as a person reads it, in the runbook's layout."""
        template = self._templates.get_template(f"{notice.kind.value}.txt.j2")
        return template.render(notice=notice, incident=notice.incident, link=link).strip() + "\n"

    @activity.defn(name="notify.deliver")
    async def deliver(self, notice: Notice) -> DeliveryReport:
        """Post ``notice`` to every channel that wants it.

        A channel that took it (2xx) or refused it for good (4xx) is settled and
        remembered in the heartbeat, so a retry never sends it twice. Any
        transient failure (5xx, timeout, connection error) raises, and Temporal
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

        transient: list[str] = []
        alive = asyncio.create_task(keep_alive())
        try:
            for channel in self._channels:
                if not channel.wants(notice.incident.severity) or channel.name in settled:
                    continue
                posted = await self._post(channel, notice, text, link, idempotency_key)
                if posted is None:
                    transient.append(channel.name)
                    continue
                settled[channel.name] = posted
                beat()
        finally:
            alive.cancel()
        if transient:
            raise ApplicationError(
                f"channels not reachable yet: {', '.join(transient)}", type="ChannelUnavailable"
            )
        return DeliveryReport(key=notice.key, outcomes=list(settled.values()))

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
        if channel.kind == "slack":
            suffix = f"\n<{link}|Open in Temporal>" if link else ""
            return {"text": f"*{notice.headline}*\n```{text}```{suffix}"}
        document = notice.model_dump(mode="json")
        document["text"] = text
        document["link"] = link
        return document
