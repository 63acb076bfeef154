"""One page through one contact method: how an answer, or its absence, becomes an outcome.

Every sender words its outcomes through an ``Attempt``, which knows what must
never be shown (the provider's credentials, the acknowledge link, the whole
address) and scrubs each detail of it.

Which failures are worth another try:

* an answer of 408, 425, 429 or 5xx: the provider did not take the page;
* no answer at all: for a provider that de-duplicates (PagerDuty's
  ``dedup_key``, an email's Message-ID, the console's ``Idempotency-Key``),
  always; for one that does not (Twilio, Slack's ``chat.postMessage``), only
  when the request surely never reached it — the connection was refused or
  timed out while connecting. A request that was sent and then went unanswered
  may have been taken: repeating it could ring a phone twice, so it is settled
  as not delivered, saying so, and the escalation policy's next step covers it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from activities.contact.models import DETAIL_LIMIT, ContactOutcome, shown_address
from activities.redact import describe, scrub
from directory.models import ContactMethod

TIMEOUT = httpx.Timeout(10.0)
"""How long one request to a provider may take."""
TRANSIENT_STATUS = frozenset({408, 425, 429})
"""Client errors that mean 'try again later', not 'this request is wrong'."""
SURELY_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Request errors after which the provider surely has not seen the request."""


@dataclass(frozen=True)
class Attempt:
    """Sending one page through ``method`` to ``provider`` (as a detail names it)."""

    method: ContactMethod
    provider: str
    secrets: tuple[str | None, ...] = ()
    """Texts never shown: tokens, passwords, the acknowledge link."""
    urls: tuple[str, ...] = ()
    """URLs requested: shown only without their credentials (``activities.redact``)."""
    shown: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "shown", shown_address(self.method))

    def clean(self, text: str) -> str:
        """``text`` fit for a detail: one line, no secret, the address masked, short."""
        text = " ".join(text.split())
        text = scrub(text, self.urls, self.secrets)
        address = self.method.address.strip()
        if len(address) >= 3 and address != self.shown:
            text = text.replace(address, self.shown)
        return text if len(text) <= DETAIL_LIMIT else text[: DETAIL_LIMIT - 1] + "…"

    def _outcome(self, *, delivered: bool, transient: bool, detail: str) -> ContactOutcome:
        return ContactOutcome(
            method=self.method.name,
            kind=self.method.kind,
            address=self.shown,
            delivered=delivered,
            transient=transient,
            detail=self.clean(detail),
        )

    def delivered(self, provider_id: str | None = None, detail: str = "") -> ContactOutcome:
        """The provider took the page."""
        outcome = self._outcome(delivered=True, transient=False, detail=detail)
        return outcome.model_copy(update={"provider_id": provider_id})

    def refused(self, detail: str) -> ContactOutcome:
        """Not delivered, for good: retrying would not change the answer."""
        return self._outcome(delivered=False, transient=False, detail=detail)

    def retry(self, detail: str) -> ContactOutcome:
        """Not delivered yet: worth another try later."""
        return self._outcome(delivered=False, transient=True, detail=detail)

    def not_configured(self, *variables: str) -> ContactOutcome:
        """Refused: this kind of method needs ``variables`` set."""
        return self.refused(
            f"{self.method.kind.value} pages are not configured: set {' and '.join(variables)}"
        )

    def unanswered(self, err: Exception, *, repeatable: bool) -> ContactOutcome:
        """The request failed without an answer (``err``).

        ``repeatable``: the provider de-duplicates a repeated request, so it is
        retried whatever happened; otherwise only when it surely never left.
        """
        reason = describe(err, self.urls, [s for s in self.secrets if s])
        if repeatable or isinstance(err, SURELY_UNSENT):
            return self.retry(f"{self.provider} not reachable: {reason}")
        return self.refused(
            f"no answer from {self.provider} ({reason}); not repeated, "
            "since the page may have been sent"
        )

    def by_status(self, response: httpx.Response, detail: str | None = None) -> ContactOutcome:
        """The outcome of a non-2xx answer: 408/425/429/5xx retry, anything else is refused.

        ``detail`` is what the provider said, read from its body; by default the body.
        """
        status = response.status_code
        said = detail if detail is not None else (response.text or response.reason_phrase)
        if status in TRANSIENT_STATUS or status >= 500:
            wait = response.headers.get("retry-after")
            after = f" (retry after {wait}s)" if wait and wait.isdecimal() else ""
            return self.retry(f"{self.provider} answered {status}{after}")
        return self.refused(f"{self.provider} answered {status}: {said}")
