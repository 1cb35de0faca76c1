"""POST /webhooks/stripe: verify, record in the inbox, answer 200.

Verification is separate from handling: a body that fails Stripe's signature check (missing,
forged, or older than the tolerance) gets 400 and writes nothing. A verified event is recorded
in the inbox with one INSERT (a repeated delivery changes nothing) and only then answered 200,
so an acknowledged event is never lost; the event processor (seatbill.webhooks.processor)
applies it, woken at once when it runs in this process. Every delivery of an event gets the
same answer. A database that cannot record the event gets 500, so Stripe delivers it again.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
import stripe
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from seatbill.config import Settings
from seatbill.metrics import WEBHOOK_EVENTS
from seatbill.webhooks import inbox, processor
from seatbill.webhooks.processor import log_fields, safe_error

log = logging.getLogger("seatbill.webhooks")

SIGNATURE_TOLERANCE_SECONDS = 300
# Stripe's events are far smaller; anything larger is refused before it is verified.
MAX_WEBHOOK_BYTES = 1_000_000
# Outcome labels of the route (metrics and the webhook log line); the processor adds the
# outcome of applying the event (processed, ignored, unlinked, superseded, failed, dead).
RECEIVED = "received"
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


def _refused(outcome: str, error: str, status: int) -> Response:
    """A delivery refused before it is verified: counted and logged without its type (an
    unverified body's type is anybody's word)."""
    WEBHOOK_EVENTS.labels(UNVERIFIED, outcome).inc()
    log.warning("webhook refused: %s", outcome, extra={"outcome": outcome})
    return JSONResponse({"error": error}, status_code=status)


def _event(payload: bytes) -> dict[str, Any] | None:
    """The verified body as an event (id, type and created as Stripe writes them), or None."""
    try:
        event = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(event, dict):
        return None
    if not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        return None
    created = event.get("created")
    if not isinstance(created, int) or isinstance(created, bool) or created < 0:
        return None
    return event


_ACKNOWLEDGED = b'{"received":true}'


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
        text = payload.decode()  # what Stripe signed (verify_header would decode it again)
        # On the raw body: no Stripe objects are built (the processor reads the event).
        stripe.WebhookSignature.verify_header(
            text,
            request.headers.get("stripe-signature", ""),
            secret,
            SIGNATURE_TOLERANCE_SECONDS,
        )
    except (stripe.SignatureVerificationError, ValueError):  # ValueError: not UTF-8
        return _refused("invalid_signature", "invalid signature", 400)
    event = _event(payload)
    if event is None:
        return _refused("not_an_event", "not an event", 400)
    event_type, event_id = event["type"], event["id"]
    try:
        new = await inbox.record(event, text, dialect=settings.dialect)
    except Exception as exc:
        log.error(
            "webhook %s %s: cannot record the event (%s)",
            event_type,
            event_id,
            safe_error(exc),
            extra=log_fields(event_type, event_id, FAILED),
        )
        WEBHOOK_EVENTS.labels(event_type, FAILED).inc()
        return JSONResponse({"error": "temporarily unavailable"}, status_code=500)
    if new:
        processor.wake()
    label = RECEIVED if new else DUPLICATE
    WEBHOOK_EVENTS.labels(event_type, label).inc()
    log.info(
        "webhook %s %s: %s",
        event_type,
        event_id,
        label,
        extra=log_fields(event_type, event_id, label),
    )
    return Response(_ACKNOWLEDGED, media_type="application/json")
