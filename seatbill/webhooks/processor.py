"""The event processor: applies the events the webhook route recorded in the inbox.

It runs in the API process by default (started in the app's lifespan, woken by the route the
moment an event is recorded) or in ``seatbill worker`` processes with
``WEBHOOK_PROCESSOR=external`` (they poll, since nothing wakes them). Each pass claims a batch
of due events (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so any number of processors share the
inbox; SQLite is one process) and pushes their ``next_attempt_at`` one lease ahead: an event
claimed by a process that dies is claimed again once the lease passes.

Events about one object coalesce. An event whose handler only mirrors its object's snapshot
(customer.subscription.updated, invoice.updated, ...) is SUPERSEDED, not applied, when a later
snapshot of the same object is in the batch or waiting in the inbox; of several from one
second the last received is applied, and its one re-fetch from Stripe (the mirror re-fetches
when events of that second exist) serves them all. Every other event is applied by its
handler, one transaction each, in Stripe's order. A failure is retried with backoff; after
``WEBHOOK_MAX_ATTEMPTS`` the event is DEAD (logged at error level, ``seatbill events list
--dead``, ``seatbill events retry ID``). docs/webhooks.md describes the whole flow.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from tortoise.expressions import F
from tortoise.functions import Max
from tortoise.transactions import in_transaction

from seatbill.background import BackgroundLoop, earliest_attempt
from seatbill.catalog import Catalog
from seatbill.config import Settings
from seatbill.metrics import WEBHOOK_EVENTS, WEBHOOK_LAG
from seatbill.models import EventOutcome, WebhookEvent
from seatbill.services import mirror
from seatbill.services.seat_sync import Backoff
from seatbill.services.stripe_gateway import GatewayError, StripeGateway
from seatbill.webhooks import handlers
from seatbill.webhooks.handlers import HANDLERS, Delivery, GatewayMissing
from seatbill.webhooks.inbox import PENDING

log = logging.getLogger("seatbill.webhooks")

DONE = (
    EventOutcome.PROCESSED,
    EventOutcome.IGNORED,
    EventOutcome.UNLINKED,
    EventOutcome.SUPERSEDED,
)
# Handlers that do nothing but mirror the event's object: a later snapshot makes them moot.
_SNAPSHOT_ONLY = (handlers.customer_subscription_changed, handlers.invoice_changed)
# Handlers that apply the event's object snapshot (and maybe more): their event supersedes
# earlier snapshot-only events about the same object.
_APPLIES_SNAPSHOT = (
    *_SNAPSHOT_ONLY,
    handlers.customer_subscription_created,
    handlers.customer_subscription_trial_will_end,
    handlers.invoice_payment_settled,
)
SNAPSHOT_ONLY_TYPES = tuple(sorted(t for t, h in HANDLERS.items() if h in _SNAPSHOT_ONLY))
SNAPSHOT_TYPES = tuple(sorted(t for t, h in HANDLERS.items() if h in _APPLIES_SNAPSHOT))


def now() -> datetime:
    return datetime.now(UTC)


def safe_error(exc: BaseException) -> str:
    """What the inbox keeps about a failure: never Stripe's details or a secret."""
    if isinstance(exc, GatewayError | GatewayMissing):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__


@dataclass(frozen=True)
class ProcessorConfig:
    batch_size: int = 100
    # How often the inbox is read when nothing wakes the processor: events recorded by other
    # processes (an external processor is never woken), retries falling due, expired claims.
    poll_seconds: float = 1.0
    # A claim holds a batch this long; an event of a process that died is claimed again after.
    lease_seconds: float = 60.0
    max_attempts: int = 8
    backoff: Backoff = field(default_factory=Backoff)
    # Events of different Stripe customers applied at once (PostgreSQL; SQLite: one at a time).
    concurrency: int = 4
    stop_timeout_seconds: float = 10.0


# SQLite only (one process): claims in this process are made one at a time.
_sqlite_claim = asyncio.Lock()


def wake() -> None:
    """Tell this process's processors that an event was recorded."""
    WebhookProcessor.wake_all()


def running_processors() -> list[WebhookProcessor]:
    return WebhookProcessor.running_loops()


class WebhookProcessor(BackgroundLoop):
    """Claims recorded events in batches and applies them (see the module docstring)."""

    task_name = "webhook-processor"

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        gateway: StripeGateway | None,
        *,
        config: ProcessorConfig | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.gateway = gateway
        self.dialect = settings.dialect
        self.config = config or ProcessorConfig(max_attempts=settings.webhook_max_attempts)
        super().__init__(self.config.stop_timeout_seconds)
        self._passed = asyncio.Event()
        self._passes = 0  # passes begun
        self._last_empty = -1  # the number of the last pass that found nothing due

    # Lifecycle ----------------------------------------------------------------------

    async def drain(self) -> None:
        """Wait until a pass begun after this call found nothing due: every event recorded
        before the call has been applied (or failed and waits for its retry). Bound it with
        ``asyncio.timeout``."""
        if self._task is None:
            raise RuntimeError("the webhook processor is not running")
        after = self._passes
        self.notify()
        while self._last_empty < after:
            self._passed.clear()
            await self._passed.wait()

    async def run(self) -> None:
        """Until stopped: passes back to back while events are due, then wait for a wake-up,
        a retry falling due or the poll interval."""
        while not self._stopping:
            self._wakeup.clear()
            number = self._passes
            self._passes += 1
            claimed, next_due = 0, None
            try:
                claimed = await self.run_pass()
                if not claimed:
                    next_due = await earliest_attempt(WebhookEvent.filter(outcome__in=PENDING))
            except Exception:
                log.exception("webhook processor pass failed; trying again shortly")
                await asyncio.sleep(min(1.0, self.config.poll_seconds))
            if not claimed:
                self._last_empty = number
            self._passed.set()
            if claimed or self._stopping:
                continue
            timeout = self.config.poll_seconds
            if next_due is not None:
                timeout = min(timeout, max(0.01, (next_due - now()).total_seconds()))
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout)
            except TimeoutError:
                pass

    # One pass -----------------------------------------------------------------------

    async def run_pass(self) -> int:
        """Claim a batch of due events and apply it; returns how many were claimed."""
        claimed = await self._claim()
        if not claimed:
            return 0
        # Claimed this often without an outcome: the process stopped each time it applied it.
        worn = [row for row in claimed if row.attempts > self.config.max_attempts]
        if worn:
            await self._fail(worn, "claimed without an outcome every time", give_up=True)
        batch = [row for row in claimed if row.attempts <= self.config.max_attempts]
        superseded = await self._superseded(batch)
        if superseded:
            await self._supersede(superseded)
        lanes: dict[str, list[tuple[WebhookEvent, dict[str, Any] | None]]] = {}
        for row in batch:
            if row.id not in superseded:
                event = _parse(row)
                lanes.setdefault(_lane(row, event), []).append((row, event))
        # Lanes (one per Stripe customer) apply side by side while the database answers;
        # within a lane, in Stripe's order.
        limit = asyncio.Semaphore(self.config.concurrency if self.dialect == "postgres" else 1)

        async def apply_lane(events: list[tuple[WebhookEvent, dict[str, Any] | None]]) -> None:
            async with limit:
                for row, event in events:
                    if self._stopping:
                        return  # the rest is claimed again once the lease passes
                    await self._apply(row, event)

        await asyncio.gather(
            *(
                asyncio.create_task(apply_lane(events), name="webhook-processor-lane")
                for events in lanes.values()
            )
        )
        return len(claimed)

    async def _claim(self) -> list[WebhookEvent]:
        stamp = now()
        if self.dialect == "postgres":
            async with in_transaction():
                return await self._claim_due(stamp, skip_locked=True)
        async with _sqlite_claim:
            return await self._claim_due(stamp, skip_locked=False)

    async def _claim_due(self, stamp: datetime, *, skip_locked: bool) -> list[WebhookEvent]:
        query = (
            WebhookEvent.filter(outcome__in=PENDING, next_attempt_at__lte=stamp)
            .order_by("next_attempt_at", "id")
            .limit(self.config.batch_size)
        )
        if skip_locked:
            query = query.select_for_update(skip_locked=True)
        rows: list[WebhookEvent] = await query
        if rows:
            lease = stamp + timedelta(seconds=self.config.lease_seconds)
            await WebhookEvent.filter(id__in=[row.id for row in rows]).update(
                next_attempt_at=lease, attempts=F("attempts") + 1
            )
            for row in rows:
                row.attempts += 1
        # Stripe's order: by creation, then as received.
        rows.sort(key=lambda row: (row.stripe_created, row.received_at, row.id))
        return rows

    async def _superseded(self, rows: Sequence[WebhookEvent]) -> set[str]:
        """The snapshot-only events of the batch that a later snapshot of the same object
        makes moot: one later in this batch (it is applied after them, and when it is of the
        same second its re-fetch reads Stripe's current object), or one still waiting in the
        inbox from a later second."""
        moot: set[str] = set()
        later_in_batch: dict[str, datetime] = {}
        objects: set[str] = set()
        for row in reversed(rows):  # newest first
            if row.object_id is None or row.type not in SNAPSHOT_TYPES:
                continue
            objects.add(row.object_id)
            if row.type in SNAPSHOT_ONLY_TYPES and row.object_id in later_in_batch:
                moot.add(row.id)
            later_in_batch.setdefault(row.object_id, row.stripe_created)
        if not objects:
            return moot
        waiting = (
            await WebhookEvent.filter(
                object_id__in=sorted(objects), outcome__in=PENDING, type__in=SNAPSHOT_TYPES
            )
            .exclude(id__in=[row.id for row in rows])
            .annotate(latest=Max("stripe_created"))
            .group_by("object_id")
            .values("object_id", "latest")
        )
        newest = {str(w["object_id"]): w["latest"] for w in waiting}
        for row in rows:
            latest = newest.get(row.object_id or "")
            if (
                row.type in SNAPSHOT_ONLY_TYPES
                and isinstance(latest, datetime)
                and latest > row.stripe_created
            ):
                moot.add(row.id)
        return moot

    async def _supersede(self, ids: set[str]) -> None:
        stamp = now()
        rows = await WebhookEvent.filter(id__in=sorted(ids), outcome__in=PENDING).values_list(
            "id", "type"
        )
        await WebhookEvent.filter(id__in=sorted(ids), outcome__in=PENDING).update(
            outcome=EventOutcome.SUPERSEDED, processed_at=stamp, next_attempt_at=None, error=None
        )
        for event_id, event_type in rows:
            WEBHOOK_EVENTS.labels(str(event_type), "superseded").inc()
            log.debug(
                "webhook %s %s: superseded",
                event_type,
                event_id,
                extra=log_fields(str(event_type), str(event_id), "superseded"),
            )

    async def _apply(self, row: WebhookEvent, event: dict[str, Any] | None) -> None:
        """Apply one event in one transaction; a failure rolls it all back and schedules a
        retry (or gives up)."""
        if event is None:
            await self._fail([row], "the recorded body is not an event", give_up=True)
            return
        delivery = Delivery(
            event=event, settings=self.settings, catalog=self.catalog, gateway=self.gateway
        )
        try:
            async with in_transaction():
                locked = (
                    await WebhookEvent.filter(id=row.id)
                    .select_for_update()
                    .only("id", "outcome")
                    .first()
                )
                if locked is None or locked.outcome not in PENDING:
                    return  # applied by another processor after this claim's lease passed
                handler = HANDLERS.get(row.type)
                outcome = EventOutcome.IGNORED if handler is None else await handler(delivery)
                applied = now()
                await WebhookEvent.filter(id=row.id).update(
                    outcome=outcome, processed_at=applied, next_attempt_at=None, error=None
                )
        except Exception as exc:
            await self._fail([row], safe_error(exc), exc=exc)
            return
        label = outcome.value.lower()
        WEBHOOK_EVENTS.labels(row.type, label).inc()
        if row.attempts <= 1:
            lag = applied - row.stripe_created
            WEBHOOK_LAG.observe(max(0.0, lag.total_seconds()))
        log.info(
            "webhook %s %s: %s", row.type, row.id, label, extra=log_fields(row.type, row.id, label)
        )

    async def _fail(
        self,
        rows: Sequence[WebhookEvent],
        error: str,
        *,
        exc: BaseException | None = None,
        give_up: bool = False,
    ) -> None:
        stamp = now()
        for row in rows:
            dead = give_up or row.attempts >= self.config.max_attempts
            retry_at = stamp + timedelta(seconds=self.config.backoff.delay(row.attempts))
            try:
                await WebhookEvent.filter(id=row.id, outcome__in=PENDING).update(
                    outcome=EventOutcome.DEAD if dead else EventOutcome.FAILED,
                    error=error,
                    next_attempt_at=None if dead else retry_at,
                )
            except Exception as mark_exc:
                log.error("webhook %s: cannot mark it failed (%s)", row.id, safe_error(mark_exc))
            label = "dead" if dead else "failed"
            WEBHOOK_EVENTS.labels(row.type, label).inc()
            fields = log_fields(row.type, row.id, label)
            if dead:
                log.error(
                    "webhook %s %s: DEAD after %d attempt(s) (%s); "
                    "`seatbill events retry %s` applies it again",
                    row.type,
                    row.id,
                    row.attempts,
                    error,
                    row.id,
                    extra=fields,
                )
            elif exc is not None and not isinstance(exc, GatewayError | GatewayMissing):
                log.error(
                    "webhook %s %s: failed (attempt %d), retrying",
                    row.type,
                    row.id,
                    row.attempts,
                    exc_info=exc,
                    extra=fields,
                )
            else:
                log.warning(
                    "webhook %s %s: failed (attempt %d: %s), retrying",
                    row.type,
                    row.id,
                    row.attempts,
                    error,
                    extra=fields,
                )


def _lane(row: WebhookEvent, event: dict[str, Any] | None) -> str:
    """Events of one Stripe customer (one workspace) are applied one after the other."""
    data = (event or {}).get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    customer = mirror.object_id(obj.get("customer")) if isinstance(obj, dict) else None
    return customer or row.object_id or row.id


def _parse(row: WebhookEvent) -> dict[str, Any] | None:
    if row.payload is None:
        return None
    try:
        event = orjson.loads(row.payload)
    except orjson.JSONDecodeError:
        return None
    return event if isinstance(event, dict) else None


def log_fields(event_type: str, event_id: str, outcome: str) -> dict[str, Any]:
    """The webhook line's fields (JSON logs): type, id and outcome, never the payload."""
    return {"event_type": event_type, "event_id": event_id, "outcome": outcome}
