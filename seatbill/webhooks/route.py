"""POST /webhooks/stripe: verify, record, dispatch.

Verification is separate from handling: a body that fails Stripe's signature check (missing,
forged, or older than the tolerance) gets 400 and writes nothing. A verified event is recorded
by its id before it is handled; a repeated delivery of an event already handled answers 200
and changes nothing. Handling runs in one transaction: an exception rolls it back, the event
is marked FAILED (outside that transaction) and the answer is 500, so Stripe delivers it
again, and that later delivery is handled afresh.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import stripe
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from seatbill.config import Settings
from seatbill.metrics import WEBHOOK_EVENTS, WEBHOOK_LAG
from seatbill.models import EventOutcome, WebhookEvent
from seatbill.services.stripe_gateway import GatewayError
from seatbill.webhooks.handlers import HANDLERS, Delivery, GatewayMissing

log = logging.getLogger("seatbill.webhooks")

SIGNATURE_TOLERANCE_SECONDS = 300
# Stripe's events are far smaller; anything larger is refused before it is verified.
MAX_WEBHOOK_BYTES = 1_000_000
DONE = (EventOutcome.PROCESSED, EventOutcome.IGNORED, EventOutcome.UNLINKED)
# Outcome labels besides EventOutcome's (lower-cased): metrics and the webhook log line.
DUPLICATE = "duplicate"
FAILED = "failed"
UNVERIFIED = "unverified"  # the type label of a delivery refused before verification


class _TooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise _TooLarge
    return bytes(body)


def safe_error(exc: BaseException) -> str:
    """What the event log keeps about a failure: never Stripe's details or a secret."""
    if isinstance(exc, GatewayError | GatewayMissing):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__


def _refused(outcome: str, error: str, status: int) -> Response:
    """A delivery refused before it is verified: counted and logged without its type (an
    unverified body's type is anybody's word)."""
    WEBHOOK_EVENTS.labels(UNVERIFIED, outcome).inc()
    log.warning("webhook refused: %s", outcome, extra={"outcome": outcome})
    return JSONResponse({"error": error}, status_code=status)


async def stripe_webhook(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    secret = settings.stripe_webhook_secret
    if not secret:
        # Not configured yet: let Stripe retry once it is, rather than drop the event.
        return _refused("not_configured", "webhooks are not configured", 503)
    try:
        payload = await _read_body(request, min(MAX_WEBHOOK_BYTES, settings.max_body_bytes))
    except _TooLarge:
        return _refused("too_large", "payload too large", 413)
    try:
        event = stripe.Webhook.construct_event(
            payload,
            request.headers.get("stripe-signature"),
            secret,
            tolerance=SIGNATURE_TOLERANCE_SECONDS,
        )
    except (stripe.SignatureVerificationError, ValueError):
        return _refused("invalid_signature", "invalid signature", 400)
    data = event.to_dict()
    if not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str):
        return _refused("not_an_event", "not an event", 400)
    delivery = Delivery(
        event=data,
        settings=settings,
        catalog=request.app.state.catalog,
        gateway=request.app.state.gateway,
    )
    return await receive(delivery)


async def _record(delivery: Delivery) -> WebhookEvent:
    found = await WebhookEvent.get_or_none(id=delivery.id)
    if found is not None:
        return found
    try:
        async with in_transaction():
            return await WebhookEvent.create(
                id=delivery.id,
                type=str(delivery.event["type"]),
                object_id=delivery.object_id,
                stripe_created=datetime.fromtimestamp(delivery.created, UTC),
            )
    except IntegrityError:  # the same event delivered concurrently
        return await WebhookEvent.get(id=delivery.id)


async def receive(delivery: Delivery) -> Response:
    """Record, then handle once; the answer tells Stripe whether to deliver again."""
    try:
        recorded = await _record(delivery)
    except Exception as exc:
        log.error(
            "webhook %s %s: cannot record the event (%s)",
            delivery.event["type"],
            delivery.id,
            safe_error(exc),
            extra=_fields(delivery, FAILED),
        )
        WEBHOOK_EVENTS.labels(str(delivery.event["type"]), FAILED).inc()
        return JSONResponse({"error": "temporarily unavailable"}, status_code=500)
    if recorded.outcome in DONE:
        return _ok(delivery, recorded.outcome, duplicate=True)
    try:
        async with in_transaction():
            locked = await WebhookEvent.filter(id=delivery.id).select_for_update().first()
            if locked is None or locked.outcome in DONE:  # handled by a concurrent delivery
                return _ok(delivery, locked.outcome if locked else None, duplicate=True)
            handler = HANDLERS.get(str(delivery.event["type"]))
            outcome = EventOutcome.IGNORED if handler is None else await handler(delivery)
            locked.outcome = outcome
            locked.processed_at = applied = datetime.now(UTC)
            locked.attempts += 1
            await locked.save(update_fields=["outcome", "processed_at", "attempts"])
    except Exception as exc:
        error = safe_error(exc)
        WEBHOOK_EVENTS.labels(str(delivery.event["type"]), FAILED).inc()
        fields = _fields(delivery, FAILED)
        if isinstance(exc, GatewayError | GatewayMissing):
            log.warning(
                "webhook %s %s: failed (%s)",
                delivery.event["type"],
                delivery.id,
                error,
                extra=fields,
            )
        else:
            log.error(
                "webhook %s %s: failed",
                delivery.event["type"],
                delivery.id,
                exc_info=exc,
                extra=fields,
            )
        try:
            await WebhookEvent.filter(id=delivery.id).update(
                outcome=EventOutcome.FAILED, error=error, attempts=F("attempts") + 1
            )
        except Exception as mark_exc:
            log.error("webhook %s: cannot mark it failed (%s)", delivery.id, safe_error(mark_exc))
        return JSONResponse({"error": "handling failed; deliver again"}, status_code=500)
    lag = applied - datetime.fromtimestamp(delivery.created, UTC)
    WEBHOOK_LAG.observe(max(0.0, lag.total_seconds()))
    return _ok(delivery, outcome, duplicate=False)


def _fields(delivery: Delivery, outcome: str) -> dict[str, Any]:
    """The webhook line's fields (JSON logs): type, id and outcome, never the payload."""
    return {"event_type": str(delivery.event["type"]), "event_id": delivery.id, "outcome": outcome}


def _ok(delivery: Delivery, outcome: EventOutcome | None, *, duplicate: bool) -> Response:
    label = DUPLICATE if duplicate else (outcome.value.lower() if outcome else DUPLICATE)
    WEBHOOK_EVENTS.labels(str(delivery.event["type"]), label).inc()
    log.info(
        "webhook %s %s: %s",
        delivery.event["type"],
        delivery.id,
        f"duplicate (already {outcome.value.lower()})" if duplicate and outcome else label,
        extra=_fields(delivery, label),
    )
    body: dict[str, Any] = {"received": True, "id": delivery.id, "duplicate": duplicate}
    if outcome is not None:
        body["outcome"] = outcome.value
    return JSONResponse(body)
