"""The hook service's own Prometheus metrics: requests, rejections by reason, latency."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

ROUTES = {
    "/hooks/alertmanager": "alertmanager",
    "/hooks/grafana": "grafana",
    "/v2/enqueue": "pagerduty",
    "/hooks/generic": "generic",
    "/status": "status",
    "/status.json": "status",
    "/status/feed.atom": "status",
}
"""The hook routes and the public status page by path, as their metrics name them."""


def route(path: str) -> str:
    """The name a request's path is counted under: one of ``ROUTES``' names or ``other``.

    Never the path itself: anyone can make up paths, and every label value is
    a time series kept for good.
    """
    return ROUTES.get(path, "other")


@dataclass
class HookMetrics:
    """Metrics in a registry of their own (one per app, so tests can run several)."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "warroom_hook_requests",
            "Hook requests by endpoint and HTTP status",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.rejections = Counter(
            "warroom_hook_rejections",
            "Hook requests refused, by endpoint and reason",
            ["endpoint", "reason"],
            registry=self.registry,
        )
        self.alerts = Counter(
            "warroom_hook_alerts",
            "Alerts received, by sender kind (alertmanager, grafana, pagerduty, generic), status",
            ["source", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "warroom_hook_request_seconds",
            "Hook request latency by endpoint",
            ["endpoint"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )

    def render(self) -> bytes:
        """The exposition text for ``GET /metrics``."""
        return generate_latest(self.registry)
