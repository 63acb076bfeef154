"""Customer updates to an Atlassian Statuspage, for teams that already have one.

Statuspage's REST API (``Authorization: OAuth <api key>``): the first customer
update of an incident creates a Statuspage incident (``POST
/v1/pages/{page_id}/incidents``) whose name carries the INC ID; every later one
updates it (``PATCH /v1/pages/{page_id}/incidents/{id}``) with the update's
status (investigating, identified, monitoring, resolved), its text, and the
service's component set to how the service looks to customers.

Idempotent without keeping anything: before creating, the page's unresolved
incidents (then a search for the INC ID, for one already resolved) are looked
up by the INC ID in their names; each create or update leaves the notice's key
in the incident's ``metadata`` (``{"warroom": {"update": key}}``), and an
update whose key is already there is not posted again (where a page keeps no
metadata, one whose text and status are the latest update's). So a retry after
an answer that never came back neither opens a second incident nor posts an
update twice, while the same words posted again later are posted again.

A 401 or 403 (the API key), a 404 (the page) and any other 4xx are settled as
not delivered, saying why; 420 and 429 (Statuspage's rate limits), 408 and 5xx
and no answer at all are retried. The API key never reaches a detail or a log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from activities.redact import describe, scrub
from incident.impact import ComponentImpact
from incident.models import Status
from incident.notices import DeliveryOutcome, Notice, NoticeKind

log = logging.getLogger("warroom.statuspage")

CHANNEL = "statuspage"
"""The outcome's channel name, on the timeline and in the record."""
DEFAULT_URL = "https://api.statuspage.io"
TIMEOUT = httpx.Timeout(10.0)
TRANSIENT = frozenset({408, 420, 425, 429})
"""Statuspage answers 420 (and 429) when rate limited: try again later."""
DETAIL_LIMIT = 200


class _Transient(Exception):
    """Not taken yet; the delivery is retried."""


class _Refused(Exception):
    """Refused for good; the message says why."""


def incident_name(notice: Notice) -> str:
    """``Partial outage of checkout (INC-7K3QX-D2MPA)``: made from what customers may know,
    never the internal title, and carrying the INC ID it is found by again."""
    brief = notice.incident
    service = brief.service or "our service"
    impact = brief.customer_impact
    if impact is None or impact is ComponentImpact.OPERATIONAL:
        words = f"Problem affecting {service}"
    else:
        words = f"{impact.words.capitalize()} of {service}"
    return f"{words} ({brief.human_id})"


def update_status(notice: Notice) -> str:
    """The Statuspage incident status of this update: the incident's own words, ``resolved``
    once it is resolved."""
    brief = notice.incident
    return Status.RESOLVED.value if not brief.phase.is_open else brief.status.value


@dataclass(frozen=True)
class StatuspageConnector:
    """Publishes customer updates to one Statuspage page."""

    http: httpx.AsyncClient
    page_id: str
    api_key: str = field(repr=False)
    components: dict[str, str] = field(default_factory=dict)
    """Service name → Statuspage component ID."""
    base_url: str = DEFAULT_URL

    def serves(self, notice: Notice) -> bool:
        """Whether ``notice`` is for the status page: a customer update with words in it."""
        return notice.kind is NoticeKind.CUSTOMER_UPDATE and bool(notice.message)

    async def publish(self, notice: Notice) -> DeliveryOutcome | None:
        """Create or update the incident's Statuspage incident; None means try again later."""
        try:
            detail = await self._publish(notice)
        except _Transient as err:
            log.warning("Statuspage not reachable yet for %s: %s", notice.key, err)
            return None
        except _Refused as err:
            log.warning("Statuspage refused %s: %s", notice.key, err)
            return DeliveryOutcome(channel=CHANNEL, delivered=False, detail=self._clean(str(err)))
        return DeliveryOutcome(channel=CHANNEL, delivered=True, detail=self._clean(detail))

    async def _publish(self, notice: Notice) -> str:
        marker = notice.incident.human_id
        status = update_status(notice)
        body = notice.message or ""
        found = await self._find(marker)
        fields: dict[str, Any] = {
            "status": status,
            "body": body,
            **self._components(notice),
            "metadata": {"warroom": {"incident": marker, "update": notice.key}},
        }
        if found is None:
            fields = {"name": incident_name(notice), **fields, "deliver_notifications": True}
            made = await self._call("POST", self._path("incidents"), {"incident": fields})
            return f"created Statuspage incident {made.get('id', '?')} ({status})"
        incident_id = str(found.get("id", ""))
        if _already_posted(found, notice.key, status, body):
            return f"Statuspage incident {incident_id} already has this update ({status})"
        await self._call(
            "PATCH", self._path(f"incidents/{quote(incident_id, safe='')}"), {"incident": fields}
        )
        return f"updated Statuspage incident {incident_id} ({status})"

    def _components(self, notice: Notice) -> dict[str, Any]:
        service = notice.incident.service
        impact = notice.incident.customer_impact
        component = self.components.get(service) if service else None
        if component is None or impact is None:
            return {}
        return {"component_ids": [component], "components": {component: impact.value}}

    async def _find(self, marker: str) -> dict[str, Any] | None:
        """The page's incident whose name carries ``marker``: an unresolved one, else one
        found by searching (already resolved)."""
        for path, params in (
            (self._path("incidents/unresolved"), None),
            (self._path("incidents"), {"q": marker, "limit": "25"}),
        ):
            listed = await self._call("GET", path, params=params)
            for incident in listed if isinstance(listed, list) else []:
                if isinstance(incident, dict) and marker in str(incident.get("name", "")):
                    return incident
        return None

    def _path(self, rest: str) -> str:
        return f"{self.base_url.rstrip('/')}/v1/pages/{quote(self.page_id, safe='')}/{rest}"

    async def _call(
        self,
        method: str,
        url: str,
        document: dict[str, Any] | None = None,
        *,
        params: dict[str, str] | None = None,
    ) -> Any:
        headers = {"Authorization": f"OAuth {self.api_key}"}
        try:
            response = await self.http.request(
                method, url, json=document, params=params, headers=headers, timeout=TIMEOUT
            )
        except httpx.HTTPError as err:
            raise _Transient(describe(err, [url], [self.api_key])) from None
        status = response.status_code
        if response.is_success:
            try:
                return response.json()
            except ValueError:
                return {}
        if status in TRANSIENT or status >= 500:
            raise _Transient(f"Statuspage answered {status}")
        said = _said(response)
        if status in (401, 403):
            raise _Refused(
                f"Statuspage refused the API key ({status}: {said}); "
                "check WARROOM_STATUSPAGE_API_KEY and its access to the page"
            )
        if status == 404:
            raise _Refused(
                f"Statuspage has no such page or incident (404: {said}); "
                "check WARROOM_STATUSPAGE_PAGE_ID"
            )
        raise _Refused(f"Statuspage answered {status}: {said}")

    def _clean(self, text: str) -> str:
        text = scrub(" ".join(text.split()), [self.base_url], [self.api_key])
        return text if len(text) <= DETAIL_LIMIT else text[: DETAIL_LIMIT - 1] + "…"


def _said(response: httpx.Response) -> str:
    try:
        answer = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(answer, dict):
        for key in ("error", "message"):
            value = answer.get(key)
            if isinstance(value, list):
                value = "; ".join(str(v) for v in value)
            if value:
                return str(value)
    return response.text[:300]


def _already_posted(incident: dict[str, Any], key: str, status: str, body: str) -> bool:
    """Whether the update of notice ``key`` is already the incident's latest."""
    metadata = incident.get("metadata")
    warroom = metadata.get("warroom") if isinstance(metadata, dict) else None
    if isinstance(warroom, dict) and warroom.get("update"):
        return bool(warroom.get("update") == key)
    updates = incident.get("incident_updates")
    if not isinstance(updates, list) or not updates or not isinstance(updates[0], dict):
        return False
    return bool(updates[0].get("body") == body and updates[0].get("status") == status)
