"""The webhook inbox (the ``webhook_event`` table): the route records each verified event here
with one INSERT before Stripe gets its 200; the event processor applies it later; operators
list and retry events (``seatbill events``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise import connections

from seatbill.models import EventOutcome, WebhookEvent
from seatbill.services import mirror

# Waiting to be applied: never claimed yet, or failed and due again.
PENDING = (EventOutcome.RECEIVED, EventOutcome.FAILED)

_COLUMNS = (
    "id",
    "type",
    "object_id",
    "stripe_created",
    "received_at",
    "outcome",
    "attempts",
    "payload",
    "next_attempt_at",
)
# One statement. A repeated delivery changes nothing (DO NOTHING in effect), except for an event
# recorded before the inbox kept bodies and not applied then: it gets the body it lacked.
_INSERT = (
    f"INSERT INTO webhook_event ({', '.join(_COLUMNS)}) VALUES ({{values}}) "
    "ON CONFLICT (id) DO UPDATE SET payload = excluded.payload, "
    "next_attempt_at = excluded.next_attempt_at "
    "WHERE webhook_event.payload IS NULL AND webhook_event.outcome IN ('RECEIVED', 'FAILED') "
    "RETURNING id"
)
_INSERT_BY_DIALECT = {
    "postgres": _INSERT.format(values=", ".join(f"${n}" for n in range(1, len(_COLUMNS) + 1))),
    "sqlite": _INSERT.format(values=", ".join("?" for _ in _COLUMNS)),
}


async def record(event: Mapping[str, Any], payload: str, *, dialect: str) -> bool:
    """Record a verified event (``payload`` is its body as Stripe sent it); True when it is
    new, False for a repeated delivery."""
    now = datetime.now(UTC)
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    values = [
        str(event["id"]),
        str(event["type"]),
        mirror.object_id(obj.get("id")) if isinstance(obj, Mapping) else None,
        datetime.fromtimestamp(int(event["created"]), UTC),
        now,
        EventOutcome.RECEIVED.value,
        0,
        payload,
        now,
    ]
    # execute_query_dict fetches the RETURNING row on every backend (execute_query does not
    # for an INSERT on asyncpg).
    rows = await connections.get("default").execute_query_dict(_INSERT_BY_DIALECT[dialect], values)
    return bool(rows)


@dataclass(frozen=True)
class InboxCounts:
    pending: int
    dead: int


async def counts() -> InboxCounts:
    """Events waiting to be applied, and DEAD ones (the /metrics gauges)."""
    pending = await WebhookEvent.filter(outcome__in=PENDING).count()
    dead = await WebhookEvent.filter(outcome=EventOutcome.DEAD).count()
    return InboxCounts(pending=pending, dead=dead)


async def recent(*, dead: bool = False, limit: int = 50) -> list[WebhookEvent]:
    """The newest events (received first), or only the DEAD ones."""
    query = WebhookEvent.all()
    if dead:
        query = query.filter(outcome=EventOutcome.DEAD)
    rows: list[WebhookEvent] = await query.order_by("-received_at", "-id").limit(limit)
    return rows


class NotRetryable(Exception):
    """The event cannot be retried (the message says why)."""


async def retry(event_id: str) -> WebhookEvent:
    """Put an event back in the inbox to be applied again now, its attempts counted afresh.
    Raises LookupError for an unknown id and NotRetryable for one without a body."""
    row = await WebhookEvent.get_or_none(id=event_id)
    if row is None:
        raise LookupError(event_id)
    if row.payload is None:
        raise NotRetryable(
            "it was recorded before the inbox kept event bodies; resend it from the Stripe "
            "Dashboard instead"
        )
    await WebhookEvent.filter(id=event_id).update(
        outcome=EventOutcome.RECEIVED,
        attempts=0,
        error=None,
        processed_at=None,
        next_attempt_at=datetime.now(UTC),
    )
    await row.refresh_from_db()
    return row
