"""Checkout: a Stripe Checkout session for a workspace's first subscription."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from stripe.params.checkout import SessionCreateParams

from seatbill.catalog import Interval, Plan, SeatMode
from seatbill.models import Subscription, User
from seatbill.services import seats
from seatbill.services.billing.core import (
    Billing,
    audit,
    check_licensed_seats,
    ensure_customer,
    find_plan,
    fits_plan,
    live_subscription,
    not_restricted,
    plan_price_for,
    provider_errors,
    redirect_url,
    require_manager,
    resolve_price_ids,
)
from seatbill.services.errors import DomainError, ErrorCode
from seatbill.services.stripe_gateway import intent_key


@dataclass(frozen=True)
class Checkout:
    url: str
    session_id: str


# Checkout -------------------------------------------------------------------------------


async def start_checkout(
    billing: Billing,
    viewer: User,
    raw_workspace_id: str,
    plan_id: str,
    interval: Interval,
    seat_count: int | None,
    success_url: str,
    cancel_url: str,
) -> Checkout:
    """A Stripe Checkout session for a new subscription: base price (quantity 1) plus seats.

    The same request retried (or sent twice) returns the same session: an open session of the
    customer with the same intent is reused; any other open session is expired first, so two
    checkouts never make two subscriptions. A new one is created with an idempotency key
    of workspace, plan, interval, seats, URLs, how many subscriptions the workspace has had,
    and the current hour (so an expired or completed session is not replayed for long)."""
    workspace = await require_manager(billing, viewer, raw_workspace_id, "startCheckout")
    plan = find_plan(billing.catalog, plan_id)
    plan_price = plan_price_for(plan, interval)
    success = redirect_url(success_url, "successUrl", billing.settings)
    cancel = redirect_url(cancel_url, "cancelUrl", billing.settings)
    billable = await seats.billable_count(workspace.id)
    fits_plan(plan, billable)
    quantity = _checkout_quantity(plan, billable, seat_count)
    await not_restricted(workspace, "subscribing")
    async with provider_errors():
        customer_id = await ensure_customer(billing, workspace)
        if await live_subscription(billing, workspace) is not None:
            raise DomainError(
                ErrorCode.CONFLICT,
                "This workspace already has a subscription: change it with switchPlan or "
                "updateSeats",
                ("input", "workspaceId"),
            )
        refs = [ref for ref in (plan_price.base, plan_price.seat) if ref is not None]
        price_ids = await resolve_price_ids(billing, refs)
        quantities = [1] * (len(refs) - 1) + [quantity]
        intent = hashlib.sha256(
            "|".join(
                [plan.key, interval.value, str(quantity), success, cancel, *price_ids]
            ).encode()
        ).hexdigest()[:24]
        open_sessions = await billing.stripe().list_open_checkout_sessions(customer_id)
        for session in open_sessions:
            metadata = session.metadata.to_dict() if session.metadata else {}
            if metadata.get("seatbill_intent") == intent and session.url:
                return Checkout(url=str(session.url), session_id=session.id)
        # Stripe lets every open session complete into a subscription of its own: only the
        # newest checkout may stay payable.
        for session in open_sessions:
            await billing.stripe().expire_checkout_session(session.id)
        workspace_id = str(workspace.id)
        params: SessionCreateParams = {
            "mode": "subscription",
            "customer": customer_id,
            "client_reference_id": workspace_id,
            "line_items": [
                {"price": price, "quantity": count}
                for price, count in zip(price_ids, quantities, strict=True)
            ],
            "metadata": {
                "workspace_id": workspace_id,
                "plan": plan.key,
                "interval": interval.value,
                "seats": str(quantity),
                "seatbill_intent": intent,
            },
            # The plan is read from the prices (one matcher), never from metadata that goes stale.
            "subscription_data": {"metadata": {"workspace_id": workspace_id}},
            "success_url": success,
            "cancel_url": cancel,
        }
        generation = await Subscription.filter(workspace_id=workspace.id).count()
        hour = int(time.time()) // 3600
        key = intent_key("checkout", workspace_id, intent, generation, hour)
        session = await billing.stripe().create_checkout_session(params, idempotency_key=key)
    await audit(
        workspace,
        viewer,
        "billing.checkout_started",
        None,
        {
            "session": session.id,
            "plan": plan.key,
            "interval": interval.value,
            "seats": quantity,
            "amount": plan_price.quote(quantity),
            "currency": plan_price.currency,
        },
    )
    return Checkout(url=str(session.url), session_id=session.id)


def _checkout_quantity(plan: Plan, billable: int, seat_count: int | None) -> int:
    if plan.seat_mode is SeatMode.AUTO:
        return max(1, billable)  # auto plans bill the members; a chosen count is ignored
    if seat_count is None:
        raise DomainError(
            ErrorCode.VALIDATION,
            f"The {plan.name} plan is sold by the seat: choose how many",
            ("input", "seats"),
        )
    check_licensed_seats(plan, billable, seat_count)
    return seat_count
