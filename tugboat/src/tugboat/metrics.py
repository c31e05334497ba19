"""Prometheus metrics: request count and latency by route, method and status; readiness.

Under gunicorn every worker is its own process, so the metrics live in prometheus-client's
multiprocess mode (files in PROMETHEUS_MULTIPROC_DIR, set up by the gunicorn config) and
`/metrics` adds up all workers. Run in one process (tests, `flask run`) they are in memory.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "tugboat_http_requests",
    "HTTP requests answered, by route, method and status.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "tugboat_http_request_duration_seconds",
    "Time to answer an HTTP request, by route, method and status.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
READY = Gauge(
    "tugboat_ready",
    "1 when the last readiness check passed, else 0.",
    multiprocess_mode="livemostrecent",
)
DEPENDENCY_UP = Gauge(
    "tugboat_dependency_up",
    "1 when the dependency answered the last readiness check, else 0.",
    ["dependency"],
    multiprocess_mode="livemostrecent",
)


def observe(route: str, method: str, status: int, seconds: float) -> None:
    labels = {"route": route, "method": method, "status": str(status)}
    REQUESTS.labels(**labels).inc()
    LATENCY.labels(**labels).observe(seconds)


def render() -> tuple[bytes, str]:
    """The exposition text and its content type, summed over every worker process."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
