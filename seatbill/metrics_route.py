"""GET /metrics: Prometheus text. Counters and histograms are kept as things happen
(:mod:`seatbill.metrics`); the seat-sync queue and the webhook inbox are read from the
database at scrape time, with small queries on indexed or small tables."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from starlette.requests import Request
from starlette.responses import Response
from tortoise.functions import Count, Min

from seatbill.config import Settings
from seatbill.metrics import CONTENT_TYPE_LATEST, render
from seatbill.models import (
    ENDED_SUBSCRIPTION_STATUSES,
    SeatOutbox,
    SeatSyncState,
    Subscription,
)
from seatbill.webhooks import inbox

log = logging.getLogger("seatbill.metrics")

SCRAPE_TIMEOUT_SECONDS = 5.0


async def seat_sync_families() -> list[Metric]:
    """The seat-sync queue as gauges: outbox rows not processed yet, the oldest one's age, and
    live subscriptions by seat_sync_state (every state listed, 0 when none)."""
    queue = (
        await SeatOutbox.filter(processed_at__isnull=True)
        .annotate(depth=Count("id"), oldest=Min("created_at"))
        .values("depth", "oldest")
    )
    depth = int(queue[0]["depth"] or 0) if queue else 0
    oldest = queue[0]["oldest"] if queue else None
    states = (
        await Subscription.filter(status__not_in=ENDED_SUBSCRIPTION_STATUSES)
        .annotate(n=Count("id"))
        .group_by("seat_sync_state")
        .values("seat_sync_state", "n")
    )
    by_state = {str(row["seat_sync_state"]): int(row["n"]) for row in states}

    depth_family = GaugeMetricFamily(
        "seatbill_seat_sync_queue_depth",
        "Seat outbox rows (membership changes) not yet synced to Stripe.",
        value=depth,
    )
    age = 0.0
    if isinstance(oldest, datetime):
        stamp = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
        age = max(0.0, (datetime.now(UTC) - stamp).total_seconds())
    age_family = GaugeMetricFamily(
        "seatbill_seat_sync_queue_oldest_seconds",
        "Age of the oldest seat outbox row not yet synced (0 when the queue is empty).",
        value=age,
    )
    state_family = GaugeMetricFamily(
        "seatbill_seat_sync_subscriptions",
        "Live subscriptions by seat-sync state (SYNCED, PENDING, FAILED).",
        labels=["state"],
    )
    for state in SeatSyncState:
        state_family.add_metric([state.value], by_state.get(state.value, 0))
    return [depth_family, age_family, state_family]


async def webhook_inbox_families() -> list[Metric]:
    """The webhook inbox as gauges: events waiting to be applied, and DEAD ones."""
    found = await inbox.counts()
    return [
        GaugeMetricFamily(
            "seatbill_webhook_inbox_pending",
            "Webhook events recorded but not applied yet (RECEIVED, or FAILED awaiting a retry).",
            value=found.pending,
        ),
        GaugeMetricFamily(
            "seatbill_webhook_inbox_dead",
            "Webhook events that failed WEBHOOK_MAX_ATTEMPTS times (seatbill events list --dead).",
            value=found.dead,
        ),
    ]


async def _scraped() -> list[Metric]:
    return [*await seat_sync_families(), *await webhook_inbox_families()]


async def metrics(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    scraped: Iterable[Metric] = ()
    try:
        scraped = await asyncio.wait_for(_scraped(), SCRAPE_TIMEOUT_SECONDS)
    except Exception as exc:  # the counters are still worth serving
        log.warning(
            "metrics: cannot read the seat-sync queue or the webhook inbox (%s)",
            type(exc).__name__,
        )
    body = render(settings.metrics_multiproc_dir, scraped)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
