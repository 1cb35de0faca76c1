"""Prometheus metrics (``seatbill_*``), served at ``/metrics`` by :mod:`seatbill.metrics_route`.

The metric objects live here, below every other seatbill module, so the gateway, the webhook
route, the seat-sync worker and the GraphQL extension can count without importing each other.
Label values are bounded: operation names are capped (:func:`operation_label`), Stripe calls
are named by the gateway's function, never by an id.

Several processes on one host (``uvicorn --workers``, a process manager): set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory shared by them before they start;
prometheus_client then keeps every value in files there, and ``/metrics`` in any process
aggregates them (:func:`render`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ["CONTENT_TYPE_LATEST", "operation_label", "render"]

# No "*_created" series beside every counter and histogram (Prometheus does not need them, and
# multi-process mode has none): the same output in either mode.
disable_created_metrics()  # type: ignore[no-untyped-call]

# Seconds: a GraphQL operation or a Stripe call (network retries included).
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Seconds from an event's creation at Stripe (whole seconds) to its being applied here.
_LAG_BUCKETS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 6 * 3600.0, 86400.0)

GRAPHQL_REQUESTS = Counter(
    "seatbill_graphql_requests",
    "GraphQL operations by operation name and outcome (ok, user_error, error).",
    ["operation", "outcome"],
)
GRAPHQL_LATENCY = Histogram(
    "seatbill_graphql_request_duration_seconds",
    "Time to parse, validate and execute a GraphQL operation.",
    ["operation", "outcome"],
    buckets=_LATENCY_BUCKETS,
)
WEBHOOK_EVENTS = Counter(
    "seatbill_webhook_events",
    "Stripe webhook deliveries by event type and outcome.",
    ["type", "outcome"],
)
WEBHOOK_LAG = Histogram(
    "seatbill_webhook_lag_seconds",
    "From an event's creation at Stripe to its being applied here (first handling only).",
    buckets=_LAG_BUCKETS,
)
STRIPE_REQUESTS = Counter(
    "seatbill_stripe_requests",
    "Calls to Stripe by gateway method and HTTP status (network_error: no answer).",
    ["method", "status"],
)
STRIPE_LATENCY = Histogram(
    "seatbill_stripe_request_duration_seconds",
    "Time of a call to Stripe, the SDK's network retries included.",
    ["method"],
    buckets=_LATENCY_BUCKETS,
)
SEAT_SYNC_PASSES = Counter(
    "seatbill_seat_sync_passes",
    "Seat-sync worker passes over one workspace's outbox rows, by result.",
    ["result"],
)

# Operation names come from clients: the first MAX_OPERATION_NAMES distinct ones a process sees
# get a label of their own, later ones share OTHER.
MAX_OPERATION_NAMES = 100
ANONYMOUS = "anonymous"  # an operation without a name
UNKNOWN = "unknown"  # no operation could be read (bad document, name not in it)
OTHER = "other"  # past the cap
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,99}")
_names: set[str] = set()
_names_lock = threading.Lock()


def operation_label(name: str | None) -> str:
    """The ``operation`` label for a GraphQL operation name; None is an anonymous operation."""
    if name is None:
        return ANONYMOUS
    if not _NAME.fullmatch(name):
        return UNKNOWN
    with _names_lock:
        if name in _names:
            return name
        if len(_names) < MAX_OPERATION_NAMES:
            _names.add(name)
            return name
    return OTHER


def observe_graphql(operation: str, outcome: str, seconds: float) -> None:
    GRAPHQL_REQUESTS.labels(operation, outcome).inc()
    GRAPHQL_LATENCY.labels(operation, outcome).observe(seconds)


def observe_stripe_call(method: str, status: str, seconds: float) -> None:
    STRIPE_REQUESTS.labels(method, status).inc()
    STRIPE_LATENCY.labels(method).observe(seconds)


class _Snapshot:
    """Families computed at scrape time (database reads), served once per scrape."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self.families


def render(multiprocess_dir: Path | None, scraped: Iterable[Metric] = ()) -> bytes:
    """The exposition text: this process's metrics, or with ``multiprocess_dir`` every
    process's (MultiProcessCollector), followed by ``scraped`` families."""
    if multiprocess_dir is not None:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(multiprocess_dir))  # type: ignore[no-untyped-call]
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    extra = CollectorRegistry(auto_describe=False)
    extra.register(_Snapshot(scraped))
    return text + generate_latest(extra)
