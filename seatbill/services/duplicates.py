"""One live subscription per workspace, whatever Stripe let through.

Stripe does not stop a customer from completing two Checkout sessions: each makes its own
subscription. Seatbill expires older sessions before opening a new one, but a session can
still complete in between. When a workspace ends up with two live subscriptions, the one that
came first (a paying one before one awaiting payment) stays; every other is canceled at once
and its payments refunded in full, with an audit row and an operator log line.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import stripe

from seatbill.models import AuditLog, Subscription
from seatbill.services.stripe_gateway import StripeGateway

log = logging.getLogger("seatbill.billing")

ENDED = ("canceled", "incomplete_expired")
PAYING = ("active", "trialing", "past_due")


async def _keeper(live: list[stripe.Subscription]) -> stripe.Subscription:
    """The same choice from every process: paying first, then the earliest Stripe created,
    then the one the mirror recorded first (Stripe's ``created`` is whole seconds), then id."""
    first_seen = {
        row.stripe_id: row.created_at
        for row in await Subscription.filter(stripe_id__in=[s.id for s in live])
    }
    never = datetime.max.replace(tzinfo=UTC)
    return min(
        live,
        key=lambda s: (s.status not in PAYING, int(s.created), first_seen.get(s.id, never), s.id),
    )


async def cancel_duplicates(
    gateway: StripeGateway, workspace_id: object, customer_id: str, event_id: str
) -> list[stripe.Subscription]:
    """Cancel and refund every live subscription of the customer but the keeper; returns the
    canceled ones (none when there is only one)."""
    live = [s for s in await gateway.list_subscriptions(customer_id) if s.status not in ENDED]
    if len(live) < 2:
        return []
    keeper = await _keeper(live)
    canceled: list[stripe.Subscription] = []
    for sub in live:
        if sub.id == keeper.id:
            continue
        ended = await gateway.cancel_subscription_now(sub.id)
        refunds = await gateway.refund_subscription_payments(
            sub.id, reason="duplicate_subscription"
        )
        refunded = sum(int(r.amount) for r in refunds)
        currency = str(sub.currency)
        log.warning(
            "workspace %s had a second live subscription %s beside %s: canceled it and "
            "refunded %d %s",
            workspace_id,
            sub.id,
            keeper.id,
            refunded,
            currency,
        )
        await AuditLog.create(
            id=uuid.uuid4(),
            workspace_id=workspace_id,
            actor_id=None,
            event_id=event_id,
            action="billing.duplicate_subscription_canceled",
            before={"subscription": sub.id, "status": sub.status, "kept": keeper.id},
            after={
                "subscription": ended.id,
                "status": ended.status,
                "refunded": refunded,
                "currency": currency,
                "refunds": [r.id for r in refunds],
            },
        )
        canceled.append(ended)
    return canceled
