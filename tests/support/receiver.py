"""A real HTTP endpoint standing in for a notification channel, a Prometheus or a sink.

It records every request and answers what ``respond`` says (200 by default);
a test swaps ``respond`` to take the channel down and bring it back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starter.receiver import HttpReceiver, Received

__all__ = ["Received", "RecordingReceiver", "Responder", "accept"]

Responder = Callable[[Received], tuple[int, bytes]]
"""Decides a request's answer: ``(status, body)``."""


def accept(_request: Received) -> tuple[int, bytes]:
    """Answer 200 with an empty JSON object."""
    return 200, b"{}"


@dataclass
class RecordingReceiver(HttpReceiver):
    """Records requests in arrival order; ``respond`` decides each answer (default 200)."""

    respond: Responder = accept
    received: list[Received] = field(default_factory=list)

    def answer(self, request: Received) -> tuple[int, bytes]:
        answer = self.respond(request)
        self.received.append(request)
        return answer

    def bodies(self) -> list[Any]:
        """Every received JSON body, in arrival order."""
        return [r.json() for r in self.received if r.body]
